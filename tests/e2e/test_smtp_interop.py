#!/usr/bin/env python3
# End-to-end SMTP interoperability with clients that bend the rules: HELO/EHLO names that are no
# RFC 5321 Domain ("my_host" from Windows machines, "host.example." with its root dot) still
# deliver (RFC 5321 §4.1.4), and a pipelined flood of identical RCPTs is cut at limits.recipients
# (RFC 5321 §4.5.3.1.8). Must never depend on timing other than deadline-bounded reads, nor leave
# ternd running.
import os
import shutil
import smtplib
import subprocess
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, RawSMTP, body, header  # noqa: E402

RCPT_LIMIT = 50


def token(kind):
    return f"{kind}-{uuid.uuid4().hex[:12]}"


class SmtpInterop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(config=f"[limits]\nrecipients = {RCPT_LIMIT}\n")
        cls.srv.add_domain(DOMAIN)
        cls.srv.add_user(f"alice@{DOMAIN}")
        cls.srv.add_user(f"bob@{DOMAIN}")
        cls.srv.start()
        cls.port = cls.srv.port("smtp")

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        if rc != 0:
            raise AssertionError(f"ternd exited with {rc} after SIGTERM (expected 0)")

    # ------------------------------------------------------------ HELO/EHLO names

    def send_with_helo(self, name, esmtp=True):
        subj = token("helo")
        s = smtplib.SMTP("127.0.0.1", self.port, local_hostname=name, timeout=20)
        self.addCleanup(s.close)
        code, text = s.ehlo() if esmtp else s.helo()
        self.assertEqual(code, 250, text)
        refused = s.sendmail("sender@client.test", [f"alice@{DOMAIN}"],
                             f"From: sender@client.test\r\nSubject: {subj}\r\n\r\nhello from {name}\r\n")
        self.assertEqual(refused, {})
        s.quit()
        msg = self.srv.wait_message_with(f"alice@{DOMAIN}", subj)
        received = header(msg, "Received")
        self.assertIsNotNone(received, msg[:600])
        self.assertIn(f"from {name} (", received)
        self.assertIn(f"hello from {name}".encode(), body(msg))

    def test_ehlo_underscore_delivers(self):
        self.send_with_helo("my_host")

    def test_helo_underscore_delivers(self):
        self.send_with_helo("my_host", esmtp=False)

    def test_ehlo_trailing_dot_delivers(self):
        self.send_with_helo("host.example.")

    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed (scripts/deps.sh installs it)")
    def test_swaks_underscore_helo(self):
        subj = token("swakshelo")
        p = subprocess.run(["swaks", "--server", f"127.0.0.1:{self.port}", "--helo", "WIN-PC_01",
                            "--timeout", "20", "--to", f"bob@{DOMAIN}", "--from", "sw@client.test",
                            "--header", f"Subject: {subj}", "--body", "from an appliance"],
                           capture_output=True, timeout=60)
        out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out)
        msg = self.srv.wait_message_with(f"bob@{DOMAIN}", subj)
        self.assertIn("from WIN-PC_01 (", header(msg, "Received"))

    def test_helo_junk_refused(self):
        with RawSMTP(self.port) as c:
            c.expect(220)
            c.expect(501, "EHLO")
            c.expect(501, b"EHLO my\x01host")
            c.expect(501, "EHLO two words")
            c.expect(501, "EHLO [300.1.1.1]")
            c.expect(250, "EHLO [127.0.0.1]")
            c.expect(250, "EHLO [IPv6:::1]")
            c.expect(221, "QUIT")

    # ------------------------------------------------------------ duplicate RCPTs

    def test_duplicate_rcpt_flood_is_bounded(self):
        n = 2000
        subj = token("dups")
        with RawSMTP(self.port, timeout=30) as c:
            c.expect(220)
            c.expect(250, "EHLO flood.test")
            # RFC 2920: the whole batch pipelined in one write, then read every reply.
            c.send(b"MAIL FROM:<flood@client.test>\r\n" + f"RCPT TO:<alice@{DOMAIN}>\r\n".encode() * n)
            c.expect(250)
            codes = [c.reply(timeout=30)[0] for _ in range(n)]
            self.assertLessEqual(codes.count(250), RCPT_LIMIT)
            self.assertEqual(codes.count(250), RCPT_LIMIT, codes[:5])
            self.assertEqual(codes.count(452), n - RCPT_LIMIT, sorted(set(codes)))
            self.assertTrue(all(code == 250 for code in codes[:RCPT_LIMIT]))
            # The transaction still works, and the duplicates collapse into one delivery.
            c.expect(354, "DATA")
            c.send(f"Subject: {subj}\r\n\r\nonce\r\n.\r\n")
            c.expect(250)
            c.expect(221, "QUIT")
        self.srv.wait_message_with(f"alice@{DOMAIN}", subj)
        self.assertEqual(len(self.srv.messages_with(f"alice@{DOMAIN}", subj)), 1)


if __name__ == "__main__":
    ternlib.main()
