#!/usr/bin/env python3
# Deadlines of a real ternd against slow clients: a slow but progressing POP3 download is never cut
# off, while a client that trickles a command line or a message byte by byte is (421 4.4.2).
# Must never leave a server running (ternlib kills them at exit) and never depend on speed beyond
# the generous bounds stated next to each wait.
import os
import smtplib
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, RawSMTP  # noqa: E402

PASSWORD = "slow-secret-pw"
IDLE = 2   # seconds, for SMTP and POP3 alike (tests only: far below the RFC minimums)
CONFIG = f"""
[limits]
idle_timeout = {IDLE}
pop3_idle_timeout = {IDLE}
[auth]
allow_plaintext = true
"""


def pop3_line(sock, buf):
    while b"\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("POP3 server closed the connection")
        buf += chunk
    line, buf = buf.split(b"\r\n", 1)
    return line, buf


def pop3_cmd(sock, buf, line):
    sock.sendall(line.encode() + b"\r\n")
    reply, buf = pop3_line(sock, buf)
    if not reply.startswith(b"+OK"):
        raise AssertionError(f"{line!r} -> {reply!r}")
    return reply, buf


class SlowClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(protos=("smtp", "pop3"), config=CONFIG)
        cls.srv.add_domain(DOMAIN)
        cls.srv.add_user(f"slow@{DOMAIN}", PASSWORD)
        cls.srv.add_user(f"reader@{DOMAIN}", PASSWORD)   # only the big message goes here
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_slow_pop3_download_is_not_cut_off(self):
        # A 3 MB message: the old code moved the idle deadline once per RETR, so a reader taking
        # longer than the idle timeout for the whole message lost the connection mid-way.
        lines = [f"line {i:06d} " + "abcdefghijklmnopqrstuvwxyz0123456789" * 2 for i in range(36000)]
        body = "\r\n".join(lines) + "\r\n"
        message = "Subject: big and slow\r\n\r\n" + body
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), timeout=30) as s:
            s.sendmail("sender@remote.example", [f"reader@{DOMAIN}"], message)
        self.srv.wait_count(f"reader@{DOMAIN}", 1)

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # before connect: small window
        sock.settimeout(10)
        sock.connect(("127.0.0.1", self.srv.port("pop3")))
        buf = b""
        greeting, buf = pop3_line(sock, buf)
        self.assertTrue(greeting.startswith(b"+OK"), greeting)
        _, buf = pop3_cmd(sock, buf, f"USER reader@{DOMAIN}")
        _, buf = pop3_cmd(sock, buf, f"PASS {PASSWORD}")
        started = time.monotonic()
        _, buf = pop3_cmd(sock, buf, "RETR 1")
        # Each chunk comes well within the idle timeout (every 10 ms), the whole takes longer.
        data = buf
        while not data.endswith(b"\r\n.\r\n"):
            time.sleep(0.01)
            chunk = sock.recv(8192)
            if not chunk:
                self.fail(f"connection closed after {len(data)} octets, "
                          f"{time.monotonic() - started:.1f} s into the download")
            data += chunk
        elapsed = time.monotonic() - started
        # Not a speed check: without this the test would prove nothing (the download must have
        # outlasted the idle timeout for the old per-write deadline to bite).
        self.assertGreater(elapsed, IDLE * 1.5, "download too fast to exercise the deadline")
        self.assertTrue(data.endswith(body.encode() + b".\r\n"), "message arrived intact")
        _, buf = pop3_cmd(sock, b"", "QUIT")

    # -- trickling clients (each byte used to move the idle deadline: a slot held for ever)

    def smtp_session(self):
        c = RawSMTP(self.srv.port("smtp"))
        self.addCleanup(c.close)
        c.expect(220)
        c.expect(250, "EHLO client.test")
        return c

    def trickle(self, c, pieces, interval):
        """Sends one piece every `interval` s until the server says something; returns what it
        said (None if it closed silently, b"" if it never answered while all pieces went out)."""
        for piece in pieces:
            try:
                c.sock.sendall(piece)
            except OSError:
                return c.pending(wait=1.0)
            got = c.pending(wait=interval)
            if got != b"":
                return got
        return b""

    def test_trickled_command_line_is_cut_off(self):
        c = self.smtp_session()
        line = b"MAIL FROM:<trickle@remote.example>"   # one octet a second: 35 s if never cut off
        got = self.trickle(c, [line[i:i + 1] for i in range(len(line))], 1.0)
        self.assertTrue(got and got.startswith(b"421 4.4.2"),
                        f"expected 421 4.4.2 before the line was complete, got {got!r}")

    def test_trickled_pop3_command_line_is_cut_off(self):
        c = RawSMTP(self.srv.port("pop3"))   # line-based: good enough for POP3's +OK/-ERR
        self.addCleanup(c.close)
        self.assertTrue(c._line(10).startswith(b"+OK"))
        line = f"USER slow@{DOMAIN}".encode()
        got = self.trickle(c, [line[i:i + 1] for i in range(len(line))], 1.0)
        self.assertTrue(got and got.startswith(b"-ERR"), f"expected -ERR before the line was complete, got {got!r}")

    def test_trickled_message_is_cut_off(self):
        c = self.smtp_session()
        c.expect(250, "MAIL FROM:<trickle@remote.example>")
        c.expect(250, f"RCPT TO:<slow@{DOMAIN}>")
        c.expect(354, "DATA")
        # Complete lines, a few octets every half second: every read is well within the idle
        # timeout, but the average rate is far below limits.min_data_rate (500 octets/s).
        got = self.trickle(c, [b"x\r\n"] * 60, 0.5)
        self.assertTrue(got and got.startswith(b"421 4.4.2"), f"expected 421 4.4.2 during DATA, got {got!r}")

    def test_slow_but_steady_message_is_accepted(self):
        c = self.smtp_session()
        c.expect(250, "MAIL FROM:<steady@remote.example>")
        c.expect(250, f"RCPT TO:<slow@{DOMAIN}>")
        c.expect(354, "DATA")
        started = time.monotonic()
        line = b"y" * 998 + b"\r\n"   # 1000 octets every 0.4 s: 2500 octets/s
        got = self.trickle(c, [b"Subject: steady\r\n\r\n"] + [line] * 14, 0.4)
        self.assertEqual(got, b"", "cut off while sending steadily")
        self.assertGreater(time.monotonic() - started, IDLE * 1.5)  # outlasted the idle timeout
        c.expect(250, ".")


if __name__ == "__main__":
    ternlib.main()
