#!/usr/bin/env python3
# Issue 7 part 3: memory must not grow with message size. A ~30 MB message to an alias of 20
# members must take ternd's peak memory up by far less than the message: the session streams it
# into the spool, the scheduler opens it from there (read in ranges), and the store fills one body
# row in chunks. Must never assert on speed: only on ternd's peak memory (VmHWM, reset after
# start-up through /proc/<pid>/clear_refs, and the largest RssAnon sampled meanwhile) and content.
import hashlib
import os
import poplib
import smtplib
import sqlite3
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

MEMBERS = 20
SIZE = 30 * 1024 * 1024
LIMIT = 30 * 1024 * 1024   # peak growth allowed: less than the message itself
PASSWORD = "large-msg-pw"
RETURN_PATH = b"Return-Path: <sender@remote.example>\r\n"


def big_message(token):
    head = (f"From: Sender <sender@remote.example>\r\nTo: all@{DOMAIN}\r\n"
            f"Subject: large {token}\r\nMessage-ID: <{token}@remote.example>\r\n\r\n").encode()
    out = [head]
    n, size = 0, len(head)
    while size < SIZE:
        line = f"{n:08d} {token} the quick brown fox jumps over the lazy dog\r\n".encode()
        out.append(line)
        size += len(line)
        n += 1
    out.append(f"end {token}\r\n".encode())
    return b"".join(out)


class LargeMessageMemory(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ternlib.without_asan_quarantine()
        cls.srv = ternlib.Server(protos=("smtp", "pop3"))
        cls.srv.add_domain()
        cls.members = [f"big{i}@{DOMAIN}" for i in range(MEMBERS)]
        for m in cls.members:
            cls.srv.add_user(m, PASSWORD)
        cls.srv.add_alias(f"all@{DOMAIN}", *cls.members)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def db(self):
        return sqlite3.connect(f"file:{os.path.join(self.srv.data, 'store.db')}?mode=ro", uri=True, timeout=30)

    def stored(self, min_size):
        with self.db() as c:
            return c.execute("SELECT COUNT(*) FROM messages WHERE size >= ?", (min_size,)).fetchone()[0]

    def send(self, msg):
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), timeout=120) as s:
            self.assertEqual(s.sendmail("sender@remote.example", [f"all@{DOMAIN}"], msg), {})

    def test_peak_memory_does_not_follow_message_size(self):
        pid = self.srv.proc.pid
        # Warm up every path once with a small message (sessions, spool, store connections,
        # caches), so that the baseline holds what any delivery needs.
        self.send(b"Subject: warm-up\r\n\r\n" + b"x" * 300_000 + b"\r\n")
        ternlib.wait_for(lambda: self.stored(300_000) == MEMBERS, timeout=60, what="warm-up delivery")
        token = uuid.uuid4().hex
        msg = big_message(token)
        if not ternlib.reset_peak_rss(pid):  # the peak so far is forgotten: VmHWM restarts from the RSS
            print("\ncannot reset VmHWM; the baseline is the peak since start-up", file=sys.stderr)
        hwm_before = ternlib.status_kib(pid, "VmHWM")
        anon_before = ternlib.status_kib(pid, "RssAnon")
        sampler = ternlib.PeakSampler(pid, interval=0.005)
        sampler.start()
        try:
            self.send(msg)
            ternlib.wait_for(lambda: self.stored(len(msg)) == MEMBERS, timeout=120, what="delivery to the alias")
        finally:
            anon_peak = sampler.stop()
        hwm_growth = (ternlib.status_kib(pid, "VmHWM") - hwm_before) * 1024
        anon_growth = (anon_peak - anon_before) * 1024
        print(f"\nmessage {len(msg)} bytes to {MEMBERS} members: ternd VmHWM grew {hwm_growth} bytes "
              f"({hwm_growth / len(msg):.2f}x), peak RssAnon grew {anon_growth} bytes "
              f"({anon_growth / len(msg):.2f}x)", file=sys.stderr)
        self.assertLess(hwm_growth, LIMIT, "ternd's peak RSS grew by about the message size or more")
        self.assertLess(anon_growth, LIMIT, "ternd's peak anonymous memory grew by about the message size or more")

        # Every member has it, as one stored body, byte for byte (after the Received: line ternd
        # puts in front).
        with self.db() as c:
            rows = c.execute("SELECT m.size, m.prefix, m.body_id FROM messages m WHERE m.size > ?",
                             (len(msg) // 2,)).fetchall()
            self.assertEqual(len(rows), MEMBERS)
            bodies = {r[2] for r in rows}
            self.assertEqual(len(bodies), 1, "one body for every member")
            body = c.execute("SELECT data FROM bodies WHERE id = ?", (bodies.pop(),)).fetchone()[0]
            self.assertTrue(body.startswith(b"Received: "), body[:200])
            received = len(body) - len(msg)
            self.assertTrue(0 < received < 2000, received)
            want = hashlib.sha256(body).hexdigest()
            self.assertEqual(hashlib.sha256(body[received:]).hexdigest(), hashlib.sha256(msg).hexdigest(),
                             "the stored body differs")
            for size, prefix, _ in rows:
                self.assertEqual(bytes(prefix), RETURN_PATH)
                self.assertEqual(size, len(RETURN_PATH) + len(body))
            del body
        # And through POP3, for one member (after the measurement: RETR is another path).
        p = poplib.POP3("127.0.0.1", self.srv.port("pop3"), timeout=120)
        try:
            p.stls(context=ternlib.tls_context())
            p.user(self.members[-1])
            p.pass_(PASSWORD)
            self.assertEqual(p.stat()[0], 2)
            _, lines, _ = p.retr(2)
            got = b"\r\n".join(lines) + b"\r\n"
        finally:
            p.quit()
        self.assertTrue(got.startswith(RETURN_PATH), got[:200])
        self.assertEqual(hashlib.sha256(got[len(RETURN_PATH):]).hexdigest(), want, "RETR differs")


if __name__ == "__main__":
    ternlib.main()
