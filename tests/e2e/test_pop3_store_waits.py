#!/usr/bin/env python3
# The I/O thread never waits for the disk on behalf of a POP3 session: while one client's QUIT
# expunge waits for the store's write lock (held here by a second SQLite connection, as an admin
# import or a delivery batch's fsync would), another client on the same and only I/O thread is
# greeted, logs in and is answered; the QUIT completes once the lock is free, messages gone.
# Must never hold the lock past SQLite's busy timeout (5 s), nor leave a server running.
import os
import smtplib
import socket
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

PASSWORD = "store-wait-pw"
CONFIG = """
[server]
io_threads = 1
[auth]
allow_plaintext = true
"""


class Pop3Client:
    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("POP3 server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def ok(self, line):
        self.send(line)
        reply = self.line()
        if not reply.startswith(b"+OK"):
            raise AssertionError(f"{line!r} -> {reply!r}")
        return reply

    def login(self, user):
        greeting = self.line()
        assert greeting.startswith(b"+OK"), greeting
        self.ok(f"USER {user}@{DOMAIN}")
        return self.ok(f"PASS {PASSWORD}")


class StoreWaits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(protos=("smtp", "pop3"), config=CONFIG)
        cls.srv.add_domain(DOMAIN)
        for user in ("quitter", "other"):
            cls.srv.add_user(f"{user}@{DOMAIN}", PASSWORD)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def deliver(self, user, count):
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), timeout=10) as s:
            for i in range(count):
                s.sendmail("sender@remote.example", [f"{user}@{DOMAIN}"], f"Subject: m{i}\r\n\r\nbody {i}\r\n")
        self.srv.wait_count(f"{user}@{DOMAIN}", count)

    def test_quit_expunge_blocked_on_the_store_does_not_stall_other_sessions(self):
        self.deliver("quitter", 2)
        self.deliver("other", 1)
        a = Pop3Client(self.srv.port("pop3"), timeout=10)
        self.addCleanup(a.close)
        a.login("quitter")
        a.ok("DELE 1")
        a.ok("DELE 2")

        # Hold the store's write lock as another writer would.
        db = sqlite3.connect(os.path.join(self.srv.data, "store.db"), timeout=1, isolation_level=None)
        self.addCleanup(db.close)
        db.execute("BEGIN IMMEDIATE")
        released = False
        try:
            a.send("QUIT")   # its expunge now waits for the lock
            # Another client on the only I/O thread: greeted, logged in (a maildrop snapshot) and
            # answered while the lock is held. 3 s: less than SQLite's 5 s busy timeout, after
            # which the old code's blocked I/O thread would have moved on.
            b = Pop3Client(self.srv.port("pop3"), timeout=3)
            self.addCleanup(b.close)
            try:
                b.login("other")
                stat = b.ok("STAT")
                b.ok("NOOP")
            except (socket.timeout, TimeoutError):
                self.fail("a second POP3 session was not served while a QUIT waited for the store")
            self.assertEqual(stat.split()[1], b"1")
            b.ok("QUIT")
            # The QUIT is still waiting (nothing could be deleted yet).
            a.sock.settimeout(0.2)
            with self.assertRaises((socket.timeout, TimeoutError)):
                a.line()
            db.execute("ROLLBACK")
            released = True
        finally:
            if not released:
                db.execute("ROLLBACK")
        a.sock.settimeout(10)
        reply = a.line()
        self.assertTrue(reply.startswith(b"+OK"), reply)
        self.assertIn(b"0 messages left", reply)
        self.assertEqual(self.srv.count(f"quitter@{DOMAIN}"), 0)


if __name__ == "__main__":
    ternlib.main()
