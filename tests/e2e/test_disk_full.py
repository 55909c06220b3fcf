#!/usr/bin/env python3
# Fault injection: the data directory on a 20 MiB tmpfs that the test mounts, filled by 60 kB
# messages sent one at a time until the server refuses them. Every message answered 250 must be
# delivered intact once space returns, with and without a restart (RFC 5321 §6.1: the 250 takes
# responsibility); refusals meanwhile must be temporary (4xx, 452 4.3.1 for a full disk), and the
# server must take mail again by itself when space returns. Needs root (mount); bounded in time.
import hashlib
import os
import smtplib
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, header  # noqa: E402

MESSAGE_BYTES = 60_000
MAX_SENT = 600          # far more than fits in 20 MiB: the loop stops at the first refusals
REFUSALS_TO_STOP = 4


def make_message(token):
    # A body that is all different lines, so a shifted, truncated or zeroed region cannot match.
    lines = []
    n = 0
    while sum(len(x) + 2 for x in lines) < MESSAGE_BYTES:
        lines.append(f"{token} line {n:05d} " + hashlib.sha256(f"{token}/{n}".encode()).hexdigest())
        n += 1
    body = "\r\n".join(lines) + "\r\n"
    return (f"From: filler@client.test\r\nTo: full@{DOMAIN}\r\nSubject: {token}\r\n"
            f"Message-ID: <{token}@client.test>\r\n\r\n" + body), body


def send_one(port, token):
    """(code, text) of the final reply: 250 on acceptance, else the refusal, whatever command drew it."""
    msg, _ = make_message(token)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.ehlo("client.test")
            s.sendmail("filler@client.test", [f"full@{DOMAIN}"], msg.encode())
            return 250, ""
    except smtplib.SMTPRecipientsRefused as e:
        code, text = next(iter(e.recipients.values()))
        return code, text.decode(errors="replace")
    except (smtplib.SMTPResponseException) as e:
        return e.smtp_code, e.smtp_error.decode(errors="replace")


@unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root (CI runs the tests as root)")
class DiskFull(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="tern-full-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m,mode=0755", "tmpfs", self.mnt], check=True)
        self.addCleanup(self.unmount)
        self.srv = ternlib.Server(protos=("smtp",), trace=False, data_dir=os.path.join(self.mnt, "data"))
        self.addCleanup(self.srv.cleanup)
        self.srv.add_domain(DOMAIN)
        self.srv.add_user(f"full@{DOMAIN}")
        self.srv.start()

    def unmount(self):
        subprocess.run(["umount", "-l", self.mnt], check=False)
        os.rmdir(self.mnt)

    def grow(self):
        subprocess.run(["mount", "-o", "remount,size=400m", self.mnt], check=True)

    def fill(self, prefix):
        """Sends until the disk is full; returns the tokens answered 250 and the refusals seen."""
        acked, refusals, in_a_row = [], [], 0
        for n in range(MAX_SENT):
            token = f"{prefix}-{n:04d}"
            code, text = send_one(self.srv.port("smtp"), token)
            if code == 250:
                acked.append(token)
                in_a_row = 0
                continue
            refusals.append((code, text))
            in_a_row += 1
            if in_a_row >= REFUSALS_TO_STOP:
                break
        self.assertGreaterEqual(len(refusals), REFUSALS_TO_STOP, "the disk never filled")
        self.assertGreater(len(acked), 20, f"too few accepted before the disk filled: {refusals[:3]}")
        for code, text in refusals:
            self.assertTrue(400 <= code < 500, f"a full disk must refuse temporarily, got {code} {text}")
        self.assertIn(452, [c for c, _ in refusals], f"no 452 4.3.1 among the refusals: {refusals[:5]}")
        return acked

    def check_all_delivered(self, acked, timeout):
        """Every acknowledged token is in the mailbox exactly as sent (duplicates are allowed)."""
        want = set(acked)

        def delivered():
            msgs = ternlib.parse_mbox(self.srv.export_mbox(f"full@{DOMAIN}"))
            found = {}
            for _, m in msgs:
                tok = header(m, "Subject")
                if tok in want:
                    found.setdefault(tok, []).append(m)
            return found if len(found) == len(want) else None

        try:
            found = ternlib.wait_for(delivered, timeout=timeout, interval=1.0, what="every acknowledged message")
        except AssertionError:
            msgs = ternlib.parse_mbox(self.srv.export_mbox(f"full@{DOMAIN}"))
            got = {header(m, "Subject") for _, m in msgs}
            missing = sorted(want - got)
            self.fail(f"{len(missing)} of {len(want)} acknowledged messages never delivered: {missing[:10]}\n"
                      + self.srv.log_tail(60))
        for tok, copies in found.items():
            _, body = make_message(tok)
            for m in copies:
                got = ternlib.body(m).decode("utf-8", "replace").rstrip("\n")
                self.assertEqual(got, body.replace("\r\n", "\n").rstrip("\n"), f"{tok} was delivered damaged")

    def test_full_disk_then_space_returns_without_restart(self):
        acked = self.fill("norestart")
        self.grow()
        # The server takes mail again by itself, without a restart.
        ternlib.wait_for(lambda: send_one(self.srv.port("smtp"), "after-space")[0] == 250, timeout=30,
                         interval=0.5, what="a 250 once space returned")
        self.check_all_delivered(acked + ["after-space"], timeout=150)
        self.assertTrue(self.srv.running())

    def test_full_disk_then_restart_with_space(self):
        acked = self.fill("restart")
        self.srv.kill9()
        self.grow()
        self.srv.start()
        self.check_all_delivered(acked, timeout=60)
        log = self.srv.log_text()
        self.assertNotIn(".corrupt", log)


if __name__ == "__main__":
    ternlib.main()
