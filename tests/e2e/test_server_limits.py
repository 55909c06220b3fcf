#!/usr/bin/env python3
# Limits and lifecycle of a real ternd: idle timeout, connections in total and per client IP,
# bad-command and line-length limits, recipients per message, SIGTERM during a transaction, and
# the --trace dialogue. Must never leave a server running (ternlib kills them at exit).
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, RawSMTP  # noqa: E402

SESSION_LIMITS = """
[limits]
idle_timeout = 2
bad_commands = 3
recipients = 2
"""
CONNECTION_LIMITS = """
[limits]
connections = 3
connections_per_ip = 2
"""


def connect_from(source_ip, port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source_ip, 0))
    s.settimeout(10)
    return s


def read_reply(sock):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode()


class SessionLimits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(config=SESSION_LIMITS)
        cls.srv.add_domain(DOMAIN)
        cls.srv.add_user(f"alice@{DOMAIN}")
        cls.srv.add_user(f"bob@{DOMAIN}")
        cls.srv.add_user(f"carol@{DOMAIN}")
        cls.srv.start()
        cls.port = cls.srv.port("smtp")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_idle_timeout_gets_421(self):
        c = self.greeted()
        started = time.monotonic()
        code, text = c.reply(timeout=10)
        self.assertEqual(code, 421)
        self.assertIn("4.4.2", text)
        self.assertGreaterEqual(time.monotonic() - started, 1.5)

    def greeted(self):
        """A raw SMTP session past the greeting and EHLO, closed when the test ends."""
        c = RawSMTP(self.port)
        self.addCleanup(c.close)
        c.expect(220)
        c.expect(250, "EHLO client.test")
        return c

    def disconnects(self):
        return self.srv.log_text().count("] disconnect")

    def test_stalled_tls_handshake_is_dropped_at_the_idle_timeout(self):
        c = self.greeted()
        c.expect(220, "STARTTLS")
        started = time.monotonic()
        c.sock.settimeout(10)
        self.assertEqual(c.sock.recv(4096), b"", "the server closes a handshake that never starts")
        self.assertGreaterEqual(time.monotonic() - started, 1.5)

    def test_client_that_stops_reading_is_dropped(self):
        # Pipelined NOOPs whose replies are never read: once the socket buffers are full the
        # server's write waits, and the idle deadline ends the session (nothing blocks forever).
        before = self.disconnects()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", self.port))
        self.addCleanup(s.close)
        s.setblocking(False)
        chunk = b"NOOP\r\n" * 4096
        sent, deadline = 0, time.monotonic() + 20
        stalled_since = None
        while time.monotonic() < deadline:
            try:
                sent += s.send(chunk)
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                if time.monotonic() - stalled_since > 0.5:
                    break
                time.sleep(0.05)
        self.assertIsNotNone(stalled_since, f"the server kept reading ({sent} octets sent)")
        ternlib.wait_for(lambda: self.disconnects() > before, timeout=15, what="the server to drop the session")

    def test_bad_commands_and_long_lines(self):
        c = RawSMTP(self.port)
        self.addCleanup(c.close)
        c.expect(220)
        c.send(b"NOOP " + b"x" * 600 + b"\r\n")
        self.assertEqual(c.reply(), (500, "5.5.2 Line too long"))
        c.expect(250, "NOOP")
        c.expect(500, "FOO")
        c.send(b"BAR\r\n")
        self.assertEqual(c.reply()[0], 500)
        self.assertEqual(c.reply()[0], 421)

    def test_recipient_limit(self):
        c = self.greeted()
        c.expect(250, "MAIL FROM:<x@remote.test>")
        c.expect(250, f"RCPT TO:<alice@{DOMAIN}>")
        c.expect(250, f"RCPT TO:<bob@{DOMAIN}>")
        code, text = c.cmd(f"RCPT TO:<carol@{DOMAIN}>")
        self.assertEqual(code, 452)
        self.assertIn("4.5.3", text)


class ConnectionLimits(unittest.TestCase):
    def test_connection_limits_total_and_per_ip(self):
        srv = ternlib.Server(config=CONNECTION_LIMITS)
        self.addCleanup(srv.cleanup)
        srv.start()
        self.port = srv.port("smtp")
        # The start-up probe's connections may take a moment to be released: retry until the
        # first two are greeted; from then on the outcome is deterministic.
        def greeted_from(ip):
            s = connect_from(ip, self.port)
            if read_reply(s).startswith("220 "):
                self.addCleanup(s.close)
                return s
            s.close()
            return None
        a1 = ternlib.wait_for(lambda: greeted_from("127.0.0.1"), timeout=5, what="first connection")
        a2 = ternlib.wait_for(lambda: greeted_from("127.0.0.1"), timeout=5, what="second connection")
        a3 = connect_from("127.0.0.1", self.port)           # third from the same IP
        self.addCleanup(a3.close)
        self.assertTrue(read_reply(a3).startswith("421 4.7.0"))
        b1 = connect_from("127.0.0.2", self.port)           # another IP: allowed, total now 3
        self.addCleanup(b1.close)
        self.assertTrue(read_reply(b1).startswith("220 "))
        c1 = connect_from("127.0.0.3", self.port)           # total limit reached
        self.addCleanup(c1.close)
        self.assertTrue(read_reply(c1).startswith("421 4.7.0"))
        a1.close()
        b1.close()
        def fresh_accepted():
            s = connect_from("127.0.0.3", self.port)
            try:
                return read_reply(s).startswith("220 ")
            finally:
                s.close()
        ternlib.wait_for(fresh_accepted, timeout=5, what="a slot to free up")


class Lifecycle(unittest.TestCase):
    def test_sigterm_answers_open_sessions_and_keeps_accepted_mail(self):
        srv = ternlib.Server()
        self.addCleanup(srv.cleanup)
        srv.add_domain(DOMAIN)
        srv.add_user(f"alice@{DOMAIN}")
        srv.start()
        port = srv.port("smtp")
        done = RawSMTP(port)
        self.addCleanup(done.close)
        done.expect(220)
        done.expect(250, "EHLO a.test")
        done.expect(250, "MAIL FROM:<x@remote.test>")
        done.expect(250, f"RCPT TO:<alice@{DOMAIN}>")
        done.expect(354, "DATA")
        done.send(b"Subject: before-stop\r\n\r\nkept\r\n.\r\n")
        self.assertEqual(done.reply()[0], 250)
        mid = RawSMTP(port)
        self.addCleanup(mid.close)
        mid.expect(220)
        mid.expect(250, "EHLO b.test")
        mid.expect(250, "MAIL FROM:<y@remote.test>")
        mid.expect(250, f"RCPT TO:<alice@{DOMAIN}>")
        mid.expect(354, "DATA")
        mid.send(b"Subject: unfinished\r\n\r\nhalf")
        self.assertEqual(srv.stop(), 0)
        code, text = mid.reply()
        self.assertEqual(code, 421)
        self.assertIn("4.3.2", text)
        srv.start()
        srv.wait_message_with(f"alice@{DOMAIN}", "before-stop")
        self.assertEqual(srv.messages_with(f"alice@{DOMAIN}", "unfinished"), [])
        log = srv.log_text()
        self.assertIn("C: MAIL FROM:<x@remote.test>", log)   # --trace dialogue
        self.assertIn("S: 354 End data with <CR><LF>.<CR><LF>", log)


if __name__ == "__main__":
    ternlib.main()
