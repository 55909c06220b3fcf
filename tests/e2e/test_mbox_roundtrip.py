#!/usr/bin/env python3
# `ternd import mbox` / `ternd export mbox` against a real data dir: a canonical mboxrd file
# (RFC 4155 separators, qmail mbox(5) mboxrd quoting) must come back byte for byte; admin commands
# take effect while `ternd serve` runs. Must never compare anything but exact bytes for the round trip.
import os
import smtplib
import sqlite3
import sys
import threading
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

# Canonical form: "From <sender> <asctime UTC>\n", LF line ends, ^>*From  quoted with one more '>',
# one empty line after each message.
CANONICAL = (
    b"From alice@example.org Sat Nov 21 11:21:27 2026\n"
    b"From: Alice <alice@example.org>\n"
    b"To: user@example.test\n"
    b"Subject: quoting\n"
    b"Message-ID: <q1@example.org>\n"
    b"\n"
    b">From the start of a line\n"
    b">>From deeper\n"
    b">>>From deepest\n"
    b"> From is not quoted (space)\n"
    b"\n"
    b">From after an empty line\n"
    b"Fromage is not a separator\n"
    b"8-bit: caf\xc3\xa9 \xe9\xff\xfe\x80 end\n"
    b"\n"
    b"From MAILER-DAEMON Thu Jan  1 00:00:01 1970\n"
    b"From: Mail Delivery System <MAILER-DAEMON@example.org>\n"
    b"Subject: bounce\n"
    b"\n"
    b"null sender\n"
    b"\n"
    b"From bob@example.net Tue Feb 29 23:59:59 2000\n"
    b"Subject: leap day\n"
    b"Content-Type: text/plain; charset=iso-8859-1\n"
    b"\n"
    b"\xe0 bient\xf4t\n"
    b".leading dot\n"
    b"..two leading dots\n"
    b".\n"
    b"\n"
)


def big_message():
    lines = [b"From carol@example.org Mon Jan  2 03:04:05 2023", b"Subject: big", b""]
    for i in range(6000):
        lines.append(b">From %d quoted" % i if i % 50 == 0 else b"line %d " % i + b"x" * 60)
    return b"\n".join(lines) + b"\n\n"


class MboxRoundTrip(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server()
        cls.srv.add_domain(DOMAIN)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def write(self, data):
        path = os.path.join(self.srv.tmp, f"in-{uuid.uuid4().hex[:8]}.mbox")
        with open(path, "wb") as f:
            f.write(data)
        return path

    def fresh_user(self):
        addr = f"u{uuid.uuid4().hex[:8]}@{DOMAIN}"
        self.srv.add_user(addr)
        return addr

    def roundtrip(self, data, folder=None):
        addr = self.fresh_user()
        self.srv.import_mbox(self.write(data), addr, folder)
        self.assertEqual(self.srv.count(addr, folder or "INBOX"), len(ternlib.parse_mbox(data)))
        out = self.srv.export_mbox(addr, folder)
        if out != data:
            a, b = data.split(b"\n"), out.split(b"\n")
            first = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
            self.fail(f"export differs from import at line {first + 1}:\n"
                      f"  imported: {a[first:first + 3]!r}\n  exported: {b[first:first + 3]!r}\n"
                      f"  sizes {len(data)} vs {len(out)}")
        return addr

    def test_canonical_file_round_trips_exactly(self):
        self.roundtrip(CANONICAL)

    def test_round_trip_into_named_folder(self):
        addr = self.roundtrip(CANONICAL, folder="Archive/2020")
        self.assertEqual(self.srv.count(addr, "INBOX"), 0)
        self.assertIn("Archive/2020", self.srv.mailbox_list(addr))

    def test_big_message_round_trips(self):
        self.roundtrip(big_message() + CANONICAL)

    def test_empty_message_and_trailing_empty_lines(self):
        data = (b"From a@example.org Sat Nov 21 11:21:27 2026\n"
                b"\n"
                b"From b@example.org Sat Nov 21 11:21:28 2026\n"
                b"Subject: ends in empty lines\n"
                b"\n"
                b"x\n"
                b"\n"
                b"\n"
                b"\n")
        self.roundtrip(data)

    def test_export_then_import_again(self):
        addr = self.roundtrip(CANONICAL)
        again = self.fresh_user()
        self.srv.import_mbox(self.write(self.srv.export_mbox(addr)), again)
        self.assertEqual(self.srv.export_mbox(again), CANONICAL)

    def test_import_rejects_non_mbox(self):
        addr = self.fresh_user()
        p = self.srv.admin("import", "mbox", self.write(b"Subject: not an mbox\n\nbody\n"), "--to", addr, check=False)
        self.assertNotEqual(p.returncode, 0, p)
        self.assertEqual(self.srv.count(addr), 0)

    # ---------------------------------------------------------------- admin while serving

    def send(self, rcpt, subject):
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), local_hostname="client.test", timeout=20) as s:
            return s.sendmail("admin-test@client.test", [rcpt], f"Subject: {subject}\r\n\r\nhi\r\n")

    def test_user_added_while_serving_receives_mail(self):
        addr = f"late{uuid.uuid4().hex[:6]}@{DOMAIN}"
        with self.assertRaises(smtplib.SMTPRecipientsRefused):
            self.send(addr, "before")
        self.srv.add_user(addr)
        subj = "after-" + uuid.uuid4().hex[:8]
        self.assertEqual(self.send(addr, subj), {})
        self.srv.wait_message_with(addr, subj)

    def test_domain_added_while_serving(self):
        dom = f"d{uuid.uuid4().hex[:6]}.test"
        self.srv.add_domain(dom)
        self.srv.add_user(f"someone@{dom}")
        subj = "newdomain-" + uuid.uuid4().hex[:8]
        self.assertEqual(self.send(f"someone@{dom}", subj), {})
        self.srv.wait_message_with(f"someone@{dom}", subj)

    def test_user_removed_while_serving_is_refused(self):
        addr = self.fresh_user()
        self.srv.admin("user", "remove", addr)
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            self.send(addr, "gone")
        self.assertEqual(cm.exception.recipients[addr][0], 550)

    # ---------------------------------------------------------------- admin while the server writes

    def hold_store_write_lock(self):
        """Another writer in the middle of a transaction, as the server is during a large batch."""
        db = sqlite3.connect(os.path.join(self.srv.data, "store.db"), isolation_level=None,
                             check_same_thread=False, timeout=10)
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE meta SET value = value WHERE key = 'last_uidvalidity'")
        return db

    def test_export_while_a_writer_holds_the_lock(self):
        # Issue 7: "BEGIN IMMEDIATE: database is locked" -- opening the store took the write lock.
        addr = self.roundtrip(CANONICAL)
        db = self.hold_store_write_lock()
        try:
            p = self.srv.admin("export", "mbox", addr, check=False, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, CANONICAL)
            self.assertIn("Archive", self.srv.mailbox_list(addr))
        finally:
            db.close()  # rolls the held transaction back

    def test_admin_write_waits_for_the_writer(self):
        addr = self.fresh_user()
        db = self.hold_store_write_lock()
        release = threading.Timer(2.0, lambda: db.execute("COMMIT"))
        release.start()
        try:
            p = self.srv.admin("import", "mbox", self.write(CANONICAL), "--to", addr, check=False, timeout=60)
        finally:
            release.join()
            db.close()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"waiting for the server's delivery to finish", p.stderr)
        self.assertEqual(self.srv.export_mbox(addr), CANONICAL)


if __name__ == "__main__":
    ternlib.main()
