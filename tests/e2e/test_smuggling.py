#!/usr/bin/env python3
# SMTP smuggling (SEC Consult, CVE-2023-51766 family) against a real ternd: only CRLF.CRLF ends
# DATA (RFC 5321 §4.1.1.4, §2.3.8), so bare LF/CR "end-of-data" lookalikes must never split one
# message into two; bare LF in command lines is refused. Must never send anything but raw bytes.
import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, RawSMTP, header  # noqa: E402

ENDINGS = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n"]


class Smuggling(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server()
        cls.srv.add_domain(DOMAIN)
        cls.srv.add_user(f"target@{DOMAIN}")
        cls.srv.add_user(f"victim@{DOMAIN}")
        cls.srv.start()
        cls.port = cls.srv.port("smtp")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def session(self):
        c = RawSMTP(self.port)
        self.addCleanup(c.close)
        c.expect(220)
        c.expect(250, "EHLO client.test")
        return c

    def test_fake_end_of_data_does_not_smuggle(self):
        accepted = []
        for i, ending in enumerate(ENDINGS):
            with self.subTest(ending=ending):
                tok = uuid.uuid4().hex[:10]
                c = self.session()
                c.expect(250, "MAIL FROM:<honest@client.test>")
                c.expect(250, f"RCPT TO:<target@{DOMAIN}>")
                c.expect(354, "DATA")
                smuggled = (b"MAIL FROM:<evil@x.test>\r\n"
                            b"RCPT TO:<victim@" + DOMAIN.encode() + b">\r\n"
                            b"DATA\r\n"
                            b"From: evil@x.test\r\nSubject: smuggled-" + tok.encode() + b"\r\n\r\nevil body")
                payload = (b"From: honest@client.test\r\nSubject: outer-" + tok.encode() + b"\r\n\r\n"
                           b"hello" + ending + smuggled + b"\r\n.\r\n")
                c.send(payload)
                code, text = c.reply(timeout=15)
                # One reply to the whole DATA content: 250 (one message) or a 5xx refusal of the
                # bare CR/LF; nothing else may follow (no 250/354 for smuggled commands).
                self.assertTrue(code == 250 or 500 <= code < 600, c.dump())
                extra = c.pending(wait=1.0)
                self.assertIn(extra, (b"", None), "extra replies after DATA:\n" + c.dump())
                if extra is None:
                    continue  # the server closed the connection after refusing: acceptable
                # The session is still in a sane state: a fresh transaction needs MAIL first.
                code2, _ = c.cmd(f"RCPT TO:<target@{DOMAIN}>")
                self.assertEqual(code2, 503, c.dump())
                c.expect(250, "RSET")
                c.expect(221, "QUIT")
                if code == 250:
                    accepted.append((tok, ending))
        # What was accepted arrives as ONE message to target, holding the smuggled text as body.
        for tok, ending in accepted:
            msg = self.srv.wait_message_with(f"target@{DOMAIN}", "outer-" + tok)
            self.assertEqual(header(msg, "Return-Path"), "<honest@client.test>")
            self.assertIn(b"MAIL FROM:<evil@x.test>", msg, f"ending {ending!r}")
            self.assertIn(b"smuggled-" + tok.encode(), msg)
        # Nothing at all reaches the victim, and target holds no message from evil@x.test.
        self.assertEqual(self.srv.settle_count(f"victim@{DOMAIN}", quiet=1.5), 0)
        for from_line, msg in ternlib.parse_mbox(self.srv.export_mbox(f"target@{DOMAIN}")):
            self.assertNotIn(b"evil@x.test", from_line)
            self.assertNotEqual(header(msg, "Return-Path"), "<evil@x.test>")

    def test_bare_lf_in_command_line_refused(self):
        c = self.session()
        c.send(b"MAIL FROM:<lf@client.test>\nRCPT TO:<target@" + DOMAIN.encode() + b">\r\n")
        code, _ = c.reply(timeout=10)
        self.assertTrue(500 <= code < 600, c.dump())
        extra = c.pending(wait=1.0)
        self.assertIsNotNone(extra, "connection closed:\n" + c.dump())
        for line in extra.decode("utf-8", "replace").splitlines():
            self.assertTrue(line[:1] == "5", "a bare-LF line was executed:\n" + c.dump())
        # No MAIL transaction was started by the bare-LF line.
        code, _ = c.cmd(f"RCPT TO:<target@{DOMAIN}>")
        self.assertEqual(code, 503, c.dump())
        c.expect(221, "QUIT")

    def test_bare_lf_ehlo_refused(self):
        c = RawSMTP(self.port)
        self.addCleanup(c.close)
        c.expect(220)
        c.send(b"EHLO client.test\n")
        c.send(b"NOOP\r\n")
        code, _ = c.reply(timeout=10)
        self.assertTrue(500 <= code < 600, "bare-LF EHLO accepted:\n" + c.dump())


if __name__ == "__main__":
    ternlib.main()
