# Unit test of the fake MX (tests/e2e/fakemx.py) the relay tests rely on, driven by Python's smtplib
# and raw sockets: recording (envelope, exact bytes after dot-unstuffing, BDAT), every scripted
# failure, the advertised extensions and the counters. Needs no ternd (--ternd is accepted and ignored).
import smtplib
import socket
import ssl
import sys
import time
import unittest

from fakemx import ALL_EXTENSIONS, Behaviour, Blackhole, FakeMX, Switch


def raw(mx, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", mx.port), timeout=timeout)
    f = s.makefile("rb")
    return s, f


def reply(f):
    """(code, [lines]) of one reply from a socket file."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("closed")
        lines.append(line.rstrip(b"\r\n").decode())
        if line[3:4] != b"-":
            return int(line[:3]), lines


def cmd(s, f, line):
    s.sendall(line.encode() + b"\r\n")
    return reply(f)[0]


class FakeMXTest(unittest.TestCase):
    def mx(self, script=None, **kw):
        m = FakeMX(script, **kw).start()
        self.addCleanup(m.stop)
        self.addCleanup(lambda: self.assertEqual(m.errors, []))
        return m

    def test_records_envelope_and_exact_bytes(self):
        mx = self.mx()
        body = ("Subject: t\r\n\r\n.leading dot\r\n..two dots\r\nend\r\n").encode()
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as c:
            c.sendmail("a@x.test", ["b@y.test", "c@y.test"], body,
                       mail_options=["BODY=8BITMIME"], rcpt_options=["NOTIFY=FAILURE"])
        [m] = mx.wait_messages(1)
        self.assertEqual(m.mail_from, "a@x.test")
        self.assertEqual(m.mail_params, {"BODY": "8BITMIME", "SIZE": str(len(body))})
        self.assertEqual(m.rcpts, [("b@y.test", {"NOTIFY": "FAILURE"}), ("c@y.test", {"NOTIFY": "FAILURE"})])
        self.assertEqual(m.data, body)        # smtplib dot-stuffed, fakemx unstuffed
        self.assertFalse(m.bare_lf)
        self.assertEqual((mx.connections, mx.transactions), (1, 1))

    def test_raw_dot_unstuffing_keeps_bare_lf_visible(self):
        mx = self.mx()
        s, f = raw(mx)
        with s:
            self.assertEqual(reply(f)[0], 220)
            self.assertEqual(cmd(s, f, "EHLO me"), 250)
            self.assertEqual(cmd(s, f, "MAIL FROM:<>"), 250)
            self.assertEqual(cmd(s, f, "RCPT TO:<b@y.test>"), 250)
            self.assertEqual(cmd(s, f, "DATA"), 354)
            s.sendall(b"a\nb\r\n..\r\n.x\r\n\xc3\xa9\r\n.\r\n")
            self.assertEqual(reply(f)[0], 250)
        [m] = mx.wait_messages(1)
        self.assertEqual(m.mail_from, "")
        self.assertEqual(m.data, b"a\nb\r\n.\r\nx\r\n\xc3\xa9\r\n")
        self.assertTrue(m.bare_lf)

    def test_bdat_when_chunking_advertised(self):
        mx = self.mx(Behaviour(extensions=ALL_EXTENSIONS))
        s, f = raw(mx)
        with s:
            reply(f)
            s.sendall(b"EHLO me\r\n")
            code, lines = reply(f)
            self.assertIn("CHUNKING", [l[4:] for l in lines])
            cmd(s, f, "MAIL FROM:<a@x.test>")
            cmd(s, f, "RCPT TO:<b@y.test>")
            s.sendall(b"BDAT 5\r\n.a\r\nb")
            self.assertEqual(reply(f)[0], 250)
            s.sendall(b"BDAT 2 LAST\r\n\r\n")
            self.assertEqual(reply(f)[0], 250)
        [m] = mx.wait_messages(1)
        self.assertEqual(m.data, b".a\r\nb\r\n")
        self.assertTrue(m.chunked)
        mx2 = self.mx()                      # not advertised: BDAT refused
        s, f = raw(mx2)
        with s:
            reply(f)
            cmd(s, f, "EHLO me")
            self.assertEqual(cmd(s, f, "BDAT 1 LAST"), 502)

    def test_451_and_550_at_rcpt(self):
        mx = self.mx(Behaviour(rcpt_replies={"bad@y.test": (550, "5.1.1 no such user")}))
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as c:
            refused = c.sendmail("a@x.test", ["good@y.test", "Bad@y.test"], b"x\r\n")
        self.assertEqual(refused, {"Bad@y.test": (550, b"5.1.1 no such user")})
        self.assertEqual([r for r, _ in mx.wait_messages(1)[0].rcpts], ["good@y.test"])

        mx = self.mx(Behaviour(rcpt=(451, "4.3.0 try later")))
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as c:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as e:
                c.sendmail("a@x.test", ["b@y.test"], b"x\r\n")
        self.assertEqual(e.exception.recipients["b@y.test"][0], 451)
        self.assertEqual(mx.messages, [])

        mx = self.mx(Behaviour(rcpt=lambda addr, msg: (550, "5.1.1 no") if "x" in addr else (250, "ok")))
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as c:
            refused = c.sendmail("a@x.test", ["x@y.test", "z@y.test"], b"x\r\n")
        self.assertEqual(list(refused), ["x@y.test"])

    def test_552_after_data(self):
        mx = self.mx(Behaviour(data_reply=(552, "5.3.4 too big")))
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as c:
            with self.assertRaises(smtplib.SMTPDataError) as e:
                c.sendmail("a@x.test", ["b@y.test"], b"x\r\n")
        self.assertEqual(e.exception.smtp_code, 552)
        self.assertEqual(len(mx.messages), 1)
        self.assertEqual(mx.messages[0].data, b"x\r\n")
        self.assertEqual(mx.accepted(), [])

    def test_554_greeting_then_only_quit(self):
        mx = self.mx(Behaviour(greeting=(554, "5.3.2 no service")))
        with self.assertRaises(smtplib.SMTPConnectError):
            smtplib.SMTP("127.0.0.1", mx.port, timeout=5)
        s, f = raw(mx)
        with s:
            self.assertEqual(reply(f)[0], 554)
            self.assertEqual(cmd(s, f, "EHLO me"), 503)
            self.assertEqual(cmd(s, f, "MAIL FROM:<a@x.test>"), 503)
            self.assertEqual(cmd(s, f, "QUIT"), 221)
        self.assertEqual(mx.transactions, 0)

    def test_421_greeting_closes(self):
        mx = self.mx(Behaviour(greeting=(421, "4.3.2 busy")))
        s, f = raw(mx)
        with s:
            self.assertEqual(reply(f)[0], 421)
            self.assertEqual(f.readline(), b"")    # closed by the server

    def test_close_mid_data(self):
        mx = self.mx(Behaviour(close_mid_data=True))
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as c:
            with self.assertRaises((smtplib.SMTPServerDisconnected, ConnectionError)):
                c.sendmail("a@x.test", ["b@y.test"], b"x" * 100000 + b"\r\n")
        self.assertEqual(mx.transactions, 1)
        self.assertEqual(mx.messages, [])

    def test_stall_never_answers(self):
        mx = self.mx(Behaviour(stall="greeting"))
        t0 = time.monotonic()
        with self.assertRaises(smtplib.SMTPServerDisconnected) as e:
            smtplib.SMTP("127.0.0.1", mx.port, timeout=0.5)
        self.assertIn("timed out", str(e.exception))
        self.assertLess(time.monotonic() - t0, 5)
        mx.wait_connections(1)
        mx2 = self.mx(Behaviour(stall="rcpt"))
        s, f = raw(mx2, timeout=0.5)
        with s:
            reply(f)
            cmd(s, f, "EHLO me")
            cmd(s, f, "MAIL FROM:<a@x.test>")
            s.sendall(b"RCPT TO:<b@y.test>\r\n")
            with self.assertRaises((socket.timeout, TimeoutError)):
                f.readline()

    def test_switch_applies_to_open_connections(self):
        sw = Switch(Behaviour(rcpt=(451, "4.3.0 later")))
        mx = self.mx(sw)
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as c:
            with self.assertRaises(smtplib.SMTPRecipientsRefused):
                c.sendmail("a@x.test", ["b@y.test"], b"1\r\n")
            sw.behaviour = Behaviour()            # same connection, now accepted
            c.sendmail("a@x.test", ["b@y.test"], b"2\r\n")
        self.assertEqual([m.data for m in mx.wait_messages(1)], [b"2\r\n"])
        self.assertEqual(mx.connections, 1)

    def test_blackhole_connects_hang(self):
        with Blackhole() as bh:
            held = []
            self.addCleanup(lambda: [s.close() for s in held])
            with self.assertRaises((socket.timeout, TimeoutError)):
                for _ in range(3):     # at most one completes into the accept queue
                    held.append(socket.create_connection(("127.0.0.1", bh.port), timeout=0.5))
            self.assertLessEqual(len(held), 2)
            if held:                   # and is never answered
                held[0].settimeout(0.3)
                with self.assertRaises((socket.timeout, TimeoutError)):
                    held[0].recv(1)

    def test_extensions_advertised_or_not(self):
        mx = self.mx(Behaviour(extensions=ALL_EXTENSIONS, size_limit=1000))
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as c:
            c.ehlo()
            for e in ("starttls", "dsn", "8bitmime", "pipelining", "chunking", "smtputf8"):
                self.assertTrue(c.has_extn(e), e)
            self.assertEqual(c.esmtp_features["size"], "1000")
            self.assertEqual(c.mail("a@x.test", ["SIZE=2000"])[0], 552)
            c.rset()
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            c.starttls(context=ctx)
            c.ehlo()
            self.assertFalse(c.has_extn("starttls"))
            c.sendmail("a@x.test", ["b@y.test"], b"over tls\r\n")
        [m] = mx.wait_messages(1)
        self.assertTrue(m.tls)

        mx = self.mx(Behaviour(extensions=()))
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as c:
            c.ehlo()
            for e in ("starttls", "dsn", "8bitmime", "pipelining", "chunking", "size"):
                self.assertFalse(c.has_extn(e), e)
            self.assertEqual(c.mail("a@x.test", ["BODY=8BITMIME"])[0], 555)
            self.assertEqual(c.mail("a@x.test")[0], 250)
            self.assertEqual(c.rcpt("b@y.test", ["NOTIFY=NEVER"])[0], 555)
            self.assertEqual(c.docmd("STARTTLS")[0], 502)

    def test_helo_fallback(self):
        mx = self.mx(Behaviour(ehlo=False))
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as c:
            c.sendmail("a@x.test", ["b@y.test"], b"x\r\n")
        [m] = mx.wait_messages(1)
        self.assertTrue(m.helo)
        self.assertIn("S: 502 5.5.1 EHLO not implemented", mx.transcripts[0])
        self.assertTrue(any(l.upper().startswith("C: HELO ") for l in mx.transcripts[0]))

    def test_script_per_connection_and_counters(self):
        mx = self.mx([Behaviour(greeting=(421, "busy")), Behaviour(rcpt=(451, "later")), Behaviour()])
        with self.assertRaises(smtplib.SMTPConnectError):
            smtplib.SMTP("127.0.0.1", mx.port, timeout=5)
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as c:
            with self.assertRaises(smtplib.SMTPRecipientsRefused):
                c.sendmail("a@x.test", ["b@y.test"], b"1\r\n")
        for n in range(2):                   # the last behaviour repeats; two messages on one connection
            with smtplib.SMTP("127.0.0.1", mx.port, timeout=5) as c:
                c.sendmail("a@x.test", ["b@y.test"], b"2\r\n")
                c.sendmail("a@x.test", ["b@y.test"], b"3\r\n")
        self.assertEqual(len(mx.wait_messages(4)), 4)
        self.assertEqual(mx.connections, 4)
        self.assertEqual(mx.transactions, 5)
        self.assertEqual({m.conn for m in mx.accepted()}, {2, 3})


if __name__ == "__main__":
    argv = [a for i, a in enumerate(sys.argv) if a != "--ternd" and sys.argv[i - 1] != "--ternd"
            and not a.startswith("--ternd=")]
    unittest.main(argv=argv, verbosity=2)
