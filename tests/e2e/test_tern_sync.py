#!/usr/bin/env python3
# `tern sync` (issue 10) against ternd and against a private Dovecot: 1,000 messages down byte for
# byte; flag changes, deletions and moves on both sides, then both sides equal; a no-change sync
# changes nothing; messages written here (the Sent copy of `tern send`) go up; an interrupted sync
# (kill -9 mid-download) resumes with every message exactly once; the offline outbox is sent by
# the next sync.
import os
import signal
import ssl
import subprocess
import sys
import time
import unittest
import imaplib
import email
import email.policy
import random

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecotlib  # noqa: E402
import ternlib  # noqa: E402
from ternclient import Client, fingerprint, tern_binary  # noqa: E402

PASSWORD = "sync-client-pw"


def message(i, size=0):
    body = b"".join(b"line %d of message %d\r\n" % (k, i) for k in range(max(1, size // 30)))
    return (b"From: Sender %d <s%d@remote.example>\r\nTo: user@example.org\r\nSubject: sync test %d\r\n"
            b"Message-ID: <sync-%d@test>\r\nDate: Mon, 07 Dec 2026 10:%02d:00 +0000\r\n\r\n" % (i, i, i, i, i % 60)) + body


def no_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class SyncCases:
    """The cases, run against each server (the subclasses say how to reach it)."""

    def imap(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=no_ctx())
        m.login(self.user, PASSWORD)
        return m

    def append(self, messages, folder="INBOX", flags="()"):
        m = self.imap()
        for msg in messages:
            typ, _ = m.append(folder, flags, None, msg)
            self.assertEqual(typ, "OK")
        m.logout()

    def server_state(self, folder="INBOX"):
        """{message-id: frozenset(flags)} as the server has it."""
        m = self.imap()
        typ, _ = m.select(f'"{folder}"')
        self.assertEqual(typ, "OK")
        typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        m.logout()
        out = {}
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta, hdr = item
            flags = meta.decode().split("FLAGS (")[1].split(")")[0].split()
            mid = hdr.decode().split(":", 1)[1].strip()
            out[mid] = frozenset(f for f in flags if f != "\\Recent")
        return out

    def local_state(self, folder="INBOX"):
        return {m["message_id"]: frozenset(m["flags"]) for m in self.client.json("list", "--folder", folder)}

    def local_ids(self, folder="INBOX"):
        return {m["message_id"]: m["id"] for m in self.client.json("list", "--folder", folder)}

    def setUp(self):
        self.client = Client()
        self.addCleanup(self.client.cleanup)
        self.reset_mailbox()
        self.client.run("account", "add", "acct", "--address", self.user, "--imap", f"127.0.0.1:{self.imaps_port}",
                        "--fingerprint", self.fp, input=PASSWORD + "\n")

    def reset_mailbox(self):
        m = self.imap()
        for folder in ["INBOX", "Archive", "Sent"]:
            typ, count = m.select(folder)
            if typ == "OK" and int(count[0]) > 0:
                m.store("1:*", "+FLAGS", "(\\Deleted)")
                m.expunge()
        m.logout()

    def sync(self):
        return self.client.run("sync").stdout.decode()

    def test_two_way_1000(self):
        self.append([message(i, 600 if i % 50 else 40000) for i in range(1000)])
        out = self.sync()
        self.assertIn("INBOX: 1000 new", out)
        files = self.client.maildir_files("acct")
        self.assertEqual(len(files), 1000)
        # Byte for byte: a sample against what the server serves.
        m = self.imap()
        m.select("INBOX")
        typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
        m.logout()
        served = sorted(item[1] for item in data if isinstance(item, tuple))
        local = sorted(open(f, "rb").read() for f in files)
        self.assertEqual(local, served)
        self.assertEqual(self.local_state(), self.server_state())

        ids = self.local_ids()
        # Here: flag 10, delete 10, move 5 to Archive.
        self.client.run("flag", *[ids[f"<sync-{i}@test>"] for i in range(0, 10)], "+\\Flagged", "+\\Seen")
        self.client.run("delete", *[ids[f"<sync-{i}@test>"] for i in range(10, 20)])
        self.client.run("move", *[ids[f"<sync-{i}@test>"] for i in range(20, 25)], "Archive")
        # There: flag 10 others, delete 10 others, 5 new, and a flag on one changed here too.
        m = self.imap()
        m.select("INBOX")
        uids = {}
        typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        for item in data:
            if isinstance(item, tuple):
                uids[item[1].decode().split(":", 1)[1].strip()] = item[0].decode().split("UID ")[1].split()[0]
        for i in range(30, 40):
            m.uid("STORE", uids[f"<sync-{i}@test>"], "+FLAGS", "(\\Answered)")
        m.uid("STORE", uids["<sync-0@test>"], "+FLAGS", "(\\Draft)")  # both sides changed message 0
        for i in range(40, 50):
            m.uid("STORE", uids[f"<sync-{i}@test>"], "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.logout()
        self.append([message(i) for i in range(1000, 1005)])

        out = self.sync()
        self.assertIn("INBOX: 5 new", out)
        server, local = self.server_state(), self.local_state()
        self.assertEqual(len(server), 1000 - 10 - 10 - 5 + 5)
        self.assertEqual(local, server)
        self.assertEqual(server["<sync-0@test>"], frozenset({"\\Flagged", "\\Seen", "\\Draft"}))
        self.assertEqual(server["<sync-31@test>"], frozenset({"\\Answered"}))
        self.assertEqual(server["<sync-5@test>"], frozenset({"\\Flagged", "\\Seen"}))
        self.assertNotIn("<sync-12@test>", server)
        self.assertNotIn("<sync-42@test>", local)
        self.assertEqual(self.server_state("Archive"), self.local_state("Archive"))
        self.assertEqual(set(self.local_state("Archive")), {f"<sync-{i}@test>" for i in range(20, 25)})
        self.assertEqual(len(self.client.maildir_files("acct")), len(server))

        # Nothing changed: nothing to report, nothing changes.
        out = self.sync()
        self.assertEqual(out.strip().splitlines()[-1], "synced 6 folders (QRESYNC, TLS)")
        self.assertEqual(len(out.strip().splitlines()), 1, out)
        self.assertEqual(self.local_state(), server)

    def test_interrupted_sync_resumes(self):
        self.append([message(i, 20000) for i in range(300)])
        proc = subprocess.Popen([tern_binary(), "sync"], env=self.client.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(self.client.maildir_files("acct")) < 40 and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first = len(self.client.maildir_files("acct"))
        self.assertLess(first, 300, "the sync finished before it could be interrupted")
        self.sync()
        local = self.client.json("list")
        self.assertEqual(len(local), 300)
        self.assertEqual(len({m["message_id"] for m in local}), 300)
        # Files written but not indexed when it was killed were removed: the Maildir (which mutt
        # or notmuch may read) holds each message once.
        files = self.client.maildir_files("acct")
        self.assertEqual(len(files), 300)
        ids = set()
        for f in files:
            head = open(f, "rb").read(400)
            ids.add(head.split(b"Message-ID: ")[1].split(b"\r\n")[0])
        self.assertEqual(len(ids), 300)
        self.assertEqual(self.local_state(), self.server_state())

    def test_sent_copy_uploaded(self):
        if not self.smtp_port:
            self.skipTest("no submission server in this setup")
        self.client.run("account", "remove", "acct")
        self.client.run("account", "add", "acct", "--address", self.user, "--imap", f"127.0.0.1:{self.imaps_port}",
                        "--smtp", f"127.0.0.1:{self.smtp_port}", "--tls", "implicit", "--fingerprint", self.fp,
                        input=PASSWORD + "\n")
        self.sync()  # learns the server's Sent folder
        p = self.client.run("send", "--to", self.user, "--subject", "copy to sent", "--body-file", "-", input="hello\n")
        self.assertIn("copy", p.stdout.decode())
        self.sync()
        sent = self.server_state("Sent")
        self.assertEqual(len(sent), 1)
        self.assertIn("\\Seen", next(iter(sent.values())))


    def test_send_two_attachments_received_byte_for_byte(self):
        if not self.smtp_port:
            self.skipTest("no submission server in this setup")
        self.client.run("account", "remove", "acct")
        self.client.run("account", "add", "acct", "--address", self.user, "--imap", f"127.0.0.1:{self.imaps_port}",
                        "--smtp", f"127.0.0.1:{self.smtp_port}", "--tls", "implicit", "--fingerprint", self.fp,
                        input=PASSWORD + "\n")
        work = self.client.home
        binary = bytes(random.Random(5).getrandbits(8) for _ in range(150_000))
        names = [os.path.join(work, "data.bin"), os.path.join(work, "Überweisung – März.pdf")]
        with open(names[0], "wb") as f:
            f.write(binary)
        with open(names[1], "wb") as f:
            f.write(b"%PDF-1.4\n" + binary[:5000])
        p = self.client.run("send", "--to", self.user, "--subject", "Anhänge", "--attach", names[0], "--attach", names[1],
                            "--body-file", "-", input="Zwei Dateien anbei.\n")
        self.assertIn("sent", p.stdout.decode())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.sync()
            if any(m["subject"] == "Anhänge" for m in self.client.json("list")):
                break
            time.sleep(0.3)
        listed = [m for m in self.client.json("list") if m["subject"] == "Anhänge"]
        self.assertEqual(len(listed), 1, self.client.json("list"))
        msg = listed[0]
        self.assertTrue(msg["attachments"])
        parsed = None
        for f in self.client.maildir_files("acct"):
            candidate = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
            if candidate["Subject"] == "Anhänge":
                parsed = candidate
        self.assertIsNotNone(parsed)
        got = {part.get_filename(): part.get_payload(decode=True) for part in parsed.iter_attachments()}
        self.assertEqual(got, {"data.bin": binary, "Überweisung – März.pdf": b"%PDF-1.4\n" + binary[:5000]})
        self.assertFalse(parsed.defects)
        # The copy in the server's Sent folder (after the next sync) is the same message.
        self.sync()
        self.assertIn(msg["message_id"], self.server_state("Sent"))


class TernSyncTernd(SyncCases, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = ternlib.Server(protos=("smtp", "imaps", "submissions"))
        cls.server.start()
        cls.server.add_domain()
        cls.user = "alice@" + ternlib.DOMAIN
        cls.server.add_user(cls.user, PASSWORD)
        cls.fp = fingerprint(cls.server)
        cls.imaps_port = cls.server.port("imaps")
        cls.smtp_port = cls.server.port("submissions")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_outbox_sent_by_next_sync(self):
        # The submission server is unreachable at first: the message waits in the outbox.
        self.client.run("account", "remove", "acct")
        dead = ternlib.free_ports(1)[0]
        self.client.run("account", "add", "acct", "--address", self.user, "--imap", f"127.0.0.1:{self.imaps_port}",
                        "--smtp", f"127.0.0.1:{dead}", "--tls", "implicit", "--fingerprint", self.fp,
                        input=PASSWORD + "\n")
        p = self.client.run("send", "--to", self.user, "--subject", "offline outbox", "--body-file", "-", input="later\n")
        self.assertIn("waits in the outbox", p.stdout.decode())
        self.assertEqual(len(self.client.json("list", "--folder", "Outbox")), 1)
        before = self.server.count(self.user)
        # Now it is reachable: the next sync sends it (and the message arrives in INBOX).
        self.client.run("account", "remove", "acct")
        self.client.run("account", "add", "acct", "--address", self.user, "--imap", f"127.0.0.1:{self.imaps_port}",
                        "--smtp", f"127.0.0.1:{self.smtp_port}", "--tls", "implicit", "--fingerprint", self.fp,
                        input=PASSWORD + "\n")
        out = self.sync()
        self.assertIn("outbox: 1 sent", out)
        self.server.wait_count(self.user, before + 1)
        self.assertEqual(self.client.json("list", "--folder", "Outbox"), [])
        self.assertTrue(any("offline outbox" in m for m in
                            [x.decode(errors="replace") for x in [self.server.export_mbox(self.user)]]))


class TernSyncDovecot(SyncCases, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        why = dovecotlib.unavailable()
        if why:
            raise unittest.SkipTest(why)
        cls.dovecot = dovecotlib.Dovecot()
        cls.user = cls.dovecot.add_user("alice", PASSWORD)
        cls.dovecot.start()
        cls.fp = cls.dovecot.fingerprint()
        cls.imaps_port = cls.dovecot.port("imaps")
        # Postfix takes the submissions (smtps, SASL through Dovecot, same certificate) and
        # delivers into Dovecot over LMTP.
        cls.postfix = cls.dovecot.postfix_submission()
        cls.postfix.start()
        cls.smtp_port = cls.postfix.smtps_port

    @classmethod
    def tearDownClass(cls):
        cls.postfix.stop()
        cls.dovecot.cleanup()


if __name__ == "__main__":
    ternlib.main()
