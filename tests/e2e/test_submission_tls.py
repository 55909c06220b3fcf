#!/usr/bin/env python3
# Submission over TLS against a real ternd with real clients (RFC 6409, 8314, 3207, 4954):
# smtplib STARTTLS on submission and implicit TLS on submissions, AUTH PLAIN/LOGIN, sender
# spoofing refused, swaks --tls --auth, and the STARTTLS command-injection test (CVE-2011-0411).
import os
import smtplib
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, tls_context  # noqa: E402

PASSWORD = "correct horse battery"



class Submission(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(protos=("smtp", "submission", "submissions"))
        cls.srv.add_domain(DOMAIN)
        cls.srv.add_user(f"alice@{DOMAIN}", PASSWORD)
        cls.srv.add_user(f"bob@{DOMAIN}", PASSWORD)
        cls.srv.add_alias(f"sales@{DOMAIN}", f"alice@{DOMAIN}")
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_starttls_login_and_send(self):
        with smtplib.SMTP("127.0.0.1", self.srv.port("submission"), timeout=10) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("starttls"))
            self.assertFalse(s.has_extn("auth"), "no AUTH before TLS (RFC 8314)")
            code, _ = s.docmd("MAIL FROM:<alice@%s>" % DOMAIN)
            self.assertEqual(code, 530)
            s.starttls(context=tls_context())
            s.ehlo()
            self.assertIn("PLAIN", s.esmtp_features["auth"])
            s.login(f"alice@{DOMAIN}", PASSWORD)
            refused = s.sendmail(f"alice@{DOMAIN}", [f"bob@{DOMAIN}", "friend@remote.example"],
                                 f"From: alice@{DOMAIN}\r\nSubject: via-587\r\n\r\nhello\r\n")
            self.assertEqual(refused, {})
        msg = self.srv.wait_message_with(f"bob@{DOMAIN}", "via-587")
        self.assertIn(b"Message-ID: <", msg)   # RFC 6409 §8.2: added when missing
        self.assertIn(b"Date: ", msg)
        self.assertIn(b"with ESMTPSA", msg)   # RFC 3848: TLS and AUTH

    def test_implicit_tls_login_and_alias_sender(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.srv.port("submissions"), timeout=10, context=tls_context()) as s:
            s.ehlo()
            self.assertNotIn("starttls", s.esmtp_features)
            s.login(f"alice@{DOMAIN}", PASSWORD)
            s.sendmail(f"sales@{DOMAIN}", [f"bob@{DOMAIN}"],
                       f"From: Sales <sales@{DOMAIN}>\r\nSubject: via-465\r\n\r\nhello\r\n")
        self.srv.wait_message_with(f"bob@{DOMAIN}", "via-465")

    def test_sender_spoofing_refused(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.srv.port("submissions"), timeout=10, context=tls_context()) as s:
            s.login(f"alice@{DOMAIN}", PASSWORD)
            with self.assertRaises(smtplib.SMTPSenderRefused) as e:
                s.sendmail(f"bob@{DOMAIN}", [f"bob@{DOMAIN}"], "Subject: spoof\r\n\r\nx\r\n")
            self.assertEqual(e.exception.smtp_code, 553)
            with self.assertRaises(smtplib.SMTPDataError) as e:
                s.sendmail(f"alice@{DOMAIN}", [f"bob@{DOMAIN}"], f"From: bob@{DOMAIN}\r\nSubject: spoof2\r\n\r\nx\r\n")
            self.assertEqual(e.exception.smtp_code, 553)

    def submit_starttls(self, from_header, subject):
        """Submits as alice on 587 with STARTTLS + AUTH; returns sendmail's answer or raises."""
        with smtplib.SMTP("127.0.0.1", self.srv.port("submission"), timeout=10) as s:
            s.starttls(context=tls_context())
            s.ehlo()
            s.login(f"alice@{DOMAIN}", PASSWORD)
            return s.sendmail(f"alice@{DOMAIN}", [f"bob@{DOMAIN}"],
                              f"From: {from_header}\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n")

    def test_malformed_from_refused(self):
        # Issue 7: an unterminated quote made the From: parse to nothing, and the check let it pass.
        for n, from_header in enumerate(('"x <ceo@bank.example>', '<ceo@bank.example',
                                         f'"x <alice@{DOMAIN}>', "undisclosed-recipients:;",
                                         f"alice@{DOMAIN}\r\nFrom: ceo@bank.example")):
            with self.subTest(from_header=from_header):
                with self.assertRaises(smtplib.SMTPDataError) as e:
                    self.submit_starttls(from_header, f"badfrom-{n}")
                self.assertEqual(e.exception.smtp_code, 554, e.exception.smtp_error)
                self.assertIn(b"5.6.0", e.exception.smtp_error)
        # Refused, so nothing was delivered: a good message sent afterwards is the only one.
        self.submit_starttls(f"alice@{DOMAIN}", "after-badfrom")
        self.srv.wait_message_with(f"bob@{DOMAIN}", "after-badfrom")
        for n in range(5):
            self.assertEqual(self.srv.messages_with(f"bob@{DOMAIN}", f"badfrom-{n}"), [])

    def test_well_formed_from_accepted(self):
        for subject, from_header in (("ownfrom", f"alice@{DOMAIN}"),
                                     ("commafrom", f'"Smith, Alice" <alice@{DOMAIN}>'),
                                     ("aliasfrom", f'"Sales (EMEA), Team" <sales@{DOMAIN}> (alias)')):
            with self.subTest(from_header=from_header):
                self.assertEqual(self.submit_starttls(from_header, subject), {})
                msg = self.srv.wait_message_with(f"bob@{DOMAIN}", subject)
                self.assertIn(f"From: {from_header}".encode(), msg)

    def test_wrong_password_and_unknown_user_look_alike(self):
        answers = []
        for user, pw in ((f"alice@{DOMAIN}", "wrong"), (f"nobody@{DOMAIN}", PASSWORD)):
            with smtplib.SMTP_SSL("127.0.0.1", self.srv.port("submissions"), timeout=20, context=tls_context()) as s:
                with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                    s.login(user, pw)
                answers.append((e.exception.smtp_code, e.exception.smtp_error))
        self.assertEqual(answers[0], answers[1])
        self.assertEqual(answers[0][0], 535)

    def test_no_relay_on_port_25_even_with_tls(self):
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), timeout=10) as s:
            s.starttls(context=tls_context())
            s.ehlo()
            self.assertFalse(s.has_extn("auth"), "port 25 takes no AUTH")
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as e:
                s.sendmail("x@remote.example", ["y@elsewhere.example"], "Subject: relay\r\n\r\nx\r\n")
            self.assertEqual(e.exception.recipients["y@elsewhere.example"][0], 554)

    def test_swaks_tls_auth(self):
        out = subprocess.run(
            ["swaks", "--server", f"127.0.0.1:{self.srv.port('submission')}", "--tls", "--auth", "LOGIN",
             "--auth-user", f"alice@{DOMAIN}", "--auth-password", PASSWORD, "--from", f"alice@{DOMAIN}",
             "--to", f"bob@{DOMAIN}", "--header", "Subject: via-swaks", "--body", "swaks body"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("235 2.7.0", out.stdout)
        self.srv.wait_message_with(f"bob@{DOMAIN}", "via-swaks")

    def test_starttls_injection_is_not_answered_inside_tls(self):
        raw = socket.create_connection(("127.0.0.1", self.srv.port("submission")), timeout=10)
        f = raw.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220 "))
        raw.sendall(b"EHLO inject.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        raw.sendall(b"STARTTLS\r\nRSET\r\n")   # one write: RSET is plaintext injected before TLS
        self.assertTrue(f.readline().startswith(b"220 "))
        tls = tls_context().wrap_socket(raw, server_hostname="mx.example.test")
        tls.settimeout(1.5)
        try:
            leaked = tls.recv(4096)
        except socket.timeout:
            leaked = b""
        self.assertEqual(leaked, b"", "the server answered a command sent before the TLS handshake")
        tls.settimeout(10)
        tls.sendall(b"NOOP\r\n")
        self.assertTrue(tls.recv(4096).startswith(b"250 "))
        tls.close()


if __name__ == "__main__":
    ternlib.main()
