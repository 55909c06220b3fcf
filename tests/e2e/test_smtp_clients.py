#!/usr/bin/env python3
# End-to-end SMTP with real clients (Python smtplib, swaks) against a real ternd: delivery with
# trace headers (RFC 5321 §4.4), dot-stuffing (§4.5.2), recipient/relay/size refusals, aliases,
# catch-all and plus addresses, VRFY/EXPN (§3.5, §7.3). Must never depend on timing other than
# deadline-bounded polls, nor leave ternd running.
import os
import smtplib
import subprocess
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, RawSMTP, body, header  # noqa: E402

CATCH = "catchall.test"
SIZE_LIMIT = 10000


def token(kind):
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def make_message(sender, rcpts, subject, text):
    return (f"From: {sender}\r\nTo: {', '.join(rcpts)}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@client.test>\r\n\r\n{text}")


class SmtpClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(config=f"[limits]\nmessage_size = {SIZE_LIMIT}\n")
        srv = cls.srv
        srv.add_domain(DOMAIN)
        srv.add_domain(CATCH)
        for u in ("alice", "bob", "carol", "big", "dave"):
            srv.add_user(f"{u}@{DOMAIN}")
        srv.add_alias(f"team@{DOMAIN}", f"alice@{DOMAIN}", f"bob@{DOMAIN}")
        srv.add_alias(f"@{CATCH}", f"carol@{DOMAIN}")
        srv.start()
        cls.port = srv.port("smtp")

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        if rc != 0:
            raise AssertionError(f"ternd exited with {rc} after SIGTERM (expected 0)")

    def smtp(self):
        s = smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test", timeout=20)
        self.addCleanup(lambda: s.close())
        return s

    def check_delivered(self, rcpt, subject, sender, text):
        msg = self.srv.wait_message_with(rcpt, subject)
        self.assertEqual(header(msg, "Subject"), subject)
        self.assertEqual(header(msg, "Return-Path"), f"<{sender}>", msg[:600])
        received = header(msg, "Received")
        self.assertIsNotNone(received, msg[:600])
        self.assertIn(self.srv.hostname, received)
        # Return-Path is the first line (RFC 5321 §4.4: added at final delivery, on top).
        self.assertTrue(msg.startswith(b"Return-Path:"), msg[:200])
        self.assertEqual(body(msg), text.replace("\r\n", "\n").encode())
        return msg

    # ---------------------------------------------------------------- smtplib

    def test_smtplib_single_recipient(self):
        subj = token("single")
        sender = "sender@client.test"
        text = "Hello Alice.\r\n.hidden line\r\n..two dots\r\n.\r\nlast\r\n"
        with self.smtp() as s:
            refused = s.sendmail(sender, [f"alice@{DOMAIN}"], make_message(sender, [f"alice@{DOMAIN}"], subj, text))
        self.assertEqual(refused, {})
        msg = self.check_delivered(f"alice@{DOMAIN}", subj, sender, text)
        self.assertIn(b"\n.hidden line\n..two dots\n.\nlast\n", msg)

    def test_smtplib_multi_recipient(self):
        subj = token("multi")
        sender = "multi@client.test"
        rcpts = [f"alice@{DOMAIN}", f"bob@{DOMAIN}"]
        text = "For both of you.\r\n"
        with self.smtp() as s:
            self.assertEqual(s.sendmail(sender, rcpts, make_message(sender, rcpts, subj, text)), {})
        for r in rcpts:
            self.check_delivered(r, subj, sender, text)
            self.assertEqual(len(self.srv.messages_with(r, subj)), 1)

    def test_unknown_local_user_550_at_rcpt(self):
        with self.smtp() as s:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                s.sendmail("x@client.test", [f"nobody@{DOMAIN}"], "Subject: x\r\n\r\nx\r\n")
            code, _ = cm.exception.recipients[f"nobody@{DOMAIN}"]
            self.assertEqual(code, 550)

    def test_unknown_user_among_good_ones(self):
        subj = token("partial")
        with self.smtp() as s:
            refused = s.sendmail("x@client.test", [f"nobody@{DOMAIN}", f"bob@{DOMAIN}"],
                                 f"Subject: {subj}\r\n\r\npartial\r\n")
        self.assertEqual(list(refused), [f"nobody@{DOMAIN}"])
        self.assertEqual(refused[f"nobody@{DOMAIN}"][0], 550)
        self.srv.wait_message_with(f"bob@{DOMAIN}", subj)

    def test_relay_denied_554(self):
        with RawSMTP(self.port) as c:
            c.expect(220)
            c.expect(250, "EHLO client.test")
            c.expect(250, "MAIL FROM:<someone@client.test>")
            code, text = c.cmd("RCPT TO:<victim@elsewhere.example>")
            self.assertEqual(code, 554, c.dump())
            self.assertIn("relay", text.lower(), c.dump())
            c.expect(221, "QUIT")

    def test_oversized_message_552_nothing_delivered(self):
        rcpt = f"big@{DOMAIN}"
        before = self.srv.count(rcpt)
        big = "Subject: too big\r\n\r\n" + ("x" * 70 + "\r\n") * (SIZE_LIMIT // 70 + 50)
        # smtplib announces SIZE= when the server offers SIZE (RFC 1870): refused at MAIL or DATA.
        with self.smtp() as s:
            s.ehlo()
            self.assertTrue(s.has_extn("size"), "SIZE not advertised")
            self.assertEqual(int(s.esmtp_features["size"]), SIZE_LIMIT)
            with self.assertRaises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as cm:
                s.sendmail("big@client.test", [rcpt], big)
            self.assertEqual(cm.exception.smtp_code, 552)
        # Without SIZE=: the server must count while receiving and refuse after the final dot.
        with RawSMTP(self.port) as c:
            c.expect(220)
            c.expect(250, "EHLO client.test")
            c.expect(250, "MAIL FROM:<big@client.test>")
            c.expect(250, f"RCPT TO:<{rcpt}>")
            c.expect(354, "DATA")
            c.send(big.encode() + b".\r\n")
            code, _ = c.reply(timeout=20)
            self.assertEqual(code, 552, c.dump())
            # The session goes on: a small message right after is accepted.
            c.expect(250, "MAIL FROM:<big@client.test>")
            c.expect(250, f"RCPT TO:<{rcpt}>")
            c.expect(354, "DATA")
            subj = token("small-after-big")
            c.send(f"Subject: {subj}\r\n\r\nsmall\r\n.\r\n")
            c.expect(250)
            c.expect(221, "QUIT")
        msg = self.srv.wait_message_with(rcpt, subj)
        self.assertIn(b"small", msg)
        self.assertEqual(self.srv.settle_count(rcpt, quiet=1.0), before + 1)
        self.assertEqual(self.srv.messages_with(rcpt, "too big"), [])

    def test_alias_delivers_to_all_targets(self):
        subj = token("alias")
        with self.smtp() as s:
            self.assertEqual(s.sendmail("a@client.test", [f"team@{DOMAIN}"], f"Subject: {subj}\r\n\r\nteam\r\n"), {})
        for r in (f"alice@{DOMAIN}", f"bob@{DOMAIN}"):
            self.srv.wait_message_with(r, subj)

    def test_catch_all(self):
        subj = token("catchall")
        with self.smtp() as s:
            self.assertEqual(s.sendmail("a@client.test", [f"whoever-{subj}@{CATCH}"],
                                        f"Subject: {subj}\r\n\r\ncatch\r\n"), {})
        self.srv.wait_message_with(f"carol@{DOMAIN}", subj)

    def test_plus_address(self):
        subj = token("plus")
        with self.smtp() as s:
            self.assertEqual(s.sendmail("a@client.test", [f"dave+lists@{DOMAIN}"],
                                        f"Subject: {subj}\r\n\r\nplus\r\n"), {})
        self.srv.wait_message_with(f"dave@{DOMAIN}", subj)

    def test_plus_address_of_unknown_user_refused(self):
        with self.smtp() as s:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                s.sendmail("a@client.test", [f"nobody+x@{DOMAIN}"], "Subject: x\r\n\r\nx\r\n")
            self.assertEqual(cm.exception.recipients[f"nobody+x@{DOMAIN}"][0], 550)

    def test_vrfy_252_expn_502(self):
        with self.smtp() as s:
            s.ehlo()
            self.assertEqual(s.verify(f"alice@{DOMAIN}")[0], 252)
            self.assertEqual(s.verify(f"nobody@{DOMAIN}")[0], 252)  # no user enumeration
            self.assertEqual(s.expn(f"team@{DOMAIN}")[0], 502)

    # ---------------------------------------------------------------- swaks

    def swaks(self, *args):
        p = subprocess.run(["swaks", "--server", f"127.0.0.1:{self.port}", "--helo", "swaks.test",
                            "--timeout", "20", *args], capture_output=True, timeout=60)
        return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")

    def test_swaks_single(self):
        subj = token("swaks1")
        rc, out = self.swaks("--to", f"alice@{DOMAIN}", "--from", "sw@client.test",
                             "--header", f"Subject: {subj}", "--body", "swaks body line")
        self.assertEqual(rc, 0, out)
        msg = self.srv.wait_message_with(f"alice@{DOMAIN}", subj)
        self.assertEqual(header(msg, "Return-Path"), "<sw@client.test>")
        self.assertIn(b"swaks body line", body(msg))
        self.assertIsNotNone(header(msg, "Received"))

    def test_swaks_multi(self):
        subj = token("swaks2")
        rc, out = self.swaks("--to", f"alice@{DOMAIN},bob@{DOMAIN}", "--from", "sw@client.test",
                             "--header", f"Subject: {subj}", "--body", "to both")
        self.assertEqual(rc, 0, out)
        for r in (f"alice@{DOMAIN}", f"bob@{DOMAIN}"):
            msg = self.srv.wait_message_with(r, subj)
            self.assertIn(b"to both", body(msg))

    def test_swaks_unknown_user(self):
        rc, out = self.swaks("--to", f"nobody@{DOMAIN}", "--from", "sw@client.test", "--body", "x")
        self.assertNotEqual(rc, 0, out)
        self.assertRegex(out, r"<\*\* 550")


if __name__ == "__main__":
    ternlib.main()
