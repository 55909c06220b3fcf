#!/usr/bin/env python3
# `tern account` and `tern pop` against Dovecot + Postfix (Debian packages, private instances on
# loopback; issue 10): POP3S with a pinned fingerprint and POP3 with STLS, --keep downloads byte for
# byte what Dovecot serves and UIDL skips it next time, a run without --keep deletes on Dovecot, and
# mail submitted to Postfix (STARTTLS + AUTH PLAIN through Dovecot's auth) reaches `tern pop`.
# Needs root (private Dovecot and Postfix); every wait is deadline-bounded.
import os
import poplib
import smtplib
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternclient import Client  # noqa: E402
import dovecotlib  # noqa: E402
import postfixlib  # noqa: E402

DOMAIN = "dovecot.test"
ALICE, ALICE_PW = "alice@" + DOMAIN, "alice dove pw"
BOB, BOB_PW = "bob@" + DOMAIN, "bob:hashed-pw"   # stored as {SHA512-CRYPT}


def message(i, extra=b"", to=ALICE):
    return (b"From: Carol <carol@remote.example>\r\nTo: " + to.encode() + b"\r\nSubject: message " +
            str(i).encode() + b"\r\nMessage-ID: <d" + str(i).encode() + b"@remote.example>\r\n" +
            b"Date: Mon, 07 Dec 2026 05:00:00 +0000\r\n\r\n" +
            b"line one\r\n.leading dot\r\n..two dots\r\n" + extra + b"last line\r\n")


@unittest.skipIf(dovecotlib.unavailable(), dovecotlib.unavailable() or "")
class TernAgainstDovecot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dove = dovecotlib.Dovecot(domain=DOMAIN)
        cls.dove.add_user(ALICE, ALICE_PW)
        cls.dove.add_user(BOB, BOB_PW, scheme="SHA512-CRYPT")
        cls.dove.start()
        cls.fp = cls.dove.fingerprint()
        cls.pf = cls.dove.postfix_submission(hostname="submit.test")
        cls.pf.start()

    @classmethod
    def tearDownClass(cls):
        cls.pf.cleanup()
        cls.dove.cleanup()

    def setUp(self):
        for user in (ALICE, BOB):
            self.dove.expunge(user)
        self.client = Client()
        self.addCleanup(self.client.cleanup)

    def on_server(self, user=ALICE, pw=ALICE_PW):
        """Every message as Dovecot's POP3 RETR serves it (CRLF, dot-stuffing undone)."""
        p = poplib.POP3_SSL("127.0.0.1", self.dove.port("pop3s"), context=self.dove.tls_context(), timeout=20)
        p.user(user)
        p.pass_(pw)
        out = [b"\r\n".join(p.retr(i + 1)[1]) + b"\r\n" for i in range(len(p.list()[1]))]
        p.quit()
        return out

    def add_account(self, *extra, user=ALICE, pw=ALICE_PW, port=None, client=None):
        port = port or self.dove.port("pop3s")
        return (client or self.client).run("account", "add", "dove", "--address", user, "--pop3",
                                           f"127.0.0.1:{port}", *extra, input=pw + "\n")

    def local(self, client=None):
        return sorted(open(f, "rb").read() for f in (client or self.client).maildir_files("dove"))

    def test_harness(self):
        """The private instances are what the tern tests rely on: CONDSTORE/QRESYNC/SPECIAL-USE,
        subscribed special-use folders, plaintext and hashed passwords, no AUTH before STARTTLS."""
        with self.dove.imap(ALICE, starttls=True) as m:   # IMAP port (143's role) with STARTTLS
            caps = m.capability()[1][0].split()
        for cap in (b"CONDSTORE", b"QRESYNC", b"SPECIAL-USE", b"UIDPLUS", b"MOVE", b"IDLE"):
            self.assertIn(cap, caps)
        self.assertEqual(self.dove.special_use(ALICE), {"\\Sent": "Sent", "\\Drafts": "Drafts", "\\Trash": "Trash",
                                                        "\\Junk": "Junk", "\\Archive": "Archive"})
        self.assertEqual(sorted(self.dove.folders(BOB, subscribed=True)),
                         ["Archive", "Drafts", "Junk", "Sent", "Trash"])
        with open(os.path.join(self.dove.tmp, "etc", "passwd")) as f:
            stored = f.read()
        self.assertIn(BOB + ":{SHA512-CRYPT}$6$", stored)
        self.assertNotIn(BOB_PW, stored)
        self.dove.pop3(BOB).quit()   # the hashed password logs in
        uid = self.dove.save(ALICE, message(0), folder="Archive", flags=["\\Seen", "$Label1"])
        self.assertEqual(self.dove.messages(ALICE, "Archive")[-1]["flags"], ["\\Seen", "$Label1"])
        self.assertEqual(self.dove.text(ALICE, uid, "Archive"), message(0))
        self.dove.lmtp(message(0), [ALICE], sender="carol@remote.example")
        delivered = self.dove.messages(ALICE)
        self.assertEqual(len(delivered), 1)
        self.assertIn(b"Return-Path: <carol@remote.example>", self.dove.text(ALICE, delivered[0]["uid"]))
        self.dove.expunge(ALICE, "Archive")
        self.assertEqual(self.dove.count(ALICE, "Archive"), 0)
        with smtplib.SMTP("127.0.0.1", self.pf.submission_port, timeout=20) as s:
            s.ehlo()
            self.assertNotIn("auth", s.esmtp_features)          # smtpd_tls_auth_only
            s.starttls(context=self.dove.tls_context())
            s.ehlo()
            self.assertIn("PLAIN", s.esmtp_features["auth"].split())
            s.user, s.password = ALICE, "wrong"
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.auth("PLAIN", s.auth_plain)   # one attempt (login() would go on with LOGIN)

    def test_pop3s_keep_then_delete(self):
        big = b"".join(b"%06d " % i + b"y" * 70 + b"\r\n" for i in range(30000))  # ~2.3 MB
        for m in (message(1), message(2, "Grüße aus Köln ✓\r\n".encode()), message(3, big)):
            self.dove.save(ALICE, m)
        served = self.on_server()
        self.add_account("--fingerprint", self.fp)
        out = self.client.run("pop", "--keep").stdout.decode()
        self.assertIn("3 new messages downloaded", out)
        got = self.local()
        self.assertEqual(len(got), 3)
        self.assertEqual(got, sorted(served))
        for f in self.client.maildir_files("dove"):
            self.assertEqual(stat.S_IMODE(os.stat(f).st_mode), 0o600)
        self.assertEqual(self.dove.count(ALICE), 3)

        out = self.client.run("pop", "--keep").stdout.decode()
        self.assertIn("0 new messages downloaded, 3 already here", out)
        self.assertEqual(len(self.client.maildir_files("dove")), 3)
        self.assertEqual(self.dove.count(ALICE), 3)
        self.assertEqual([m["subject"] for m in self.client.json("list")], ["message 1", "message 2", "message 3"])

        self.dove.save(ALICE, message(4))
        served4 = self.on_server()[3]
        out = self.client.run("pop").stdout.decode()
        self.assertIn("1 new message downloaded, 3 already here, 4 deleted on the server", out)
        self.assertEqual(self.dove.count(ALICE), 0)
        self.assertEqual(self.local(), sorted(served + [served4]))

    def test_starttls_with_hashed_password(self):
        self.dove.save(BOB, message(5, to=BOB))
        served = self.on_server(BOB, BOB_PW)
        self.add_account("--tls", "starttls", "--fingerprint", self.fp, user=BOB, pw=BOB_PW,
                         port=self.dove.port("pop3"))
        p = self.client.run("--trace", "pop", "--keep")
        err = p.stderr.decode()
        self.assertIn("C: STLS", err)
        self.assertNotIn(BOB_PW, err)
        self.assertEqual(self.local(), served)
        self.assertEqual(self.dove.count(BOB), 1)
        self.assertIn(f"user=<{BOB}>, method=PLAIN", self.dove.log())   # Dovecot saw the login
        self.client.run("pop")
        self.assertEqual(self.dove.count(BOB), 0)

    def test_certificate_pinned(self):
        self.dove.save(ALICE, message(6))
        self.add_account()   # no pin, self-signed: refused, the fingerprint shown for pinning
        p = self.client.run("pop", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not trusted", p.stderr.decode())
        self.assertIn(self.fp, p.stderr.decode())
        other = Client()
        self.addCleanup(other.cleanup)
        self.add_account("--fingerprint", "AB:" * 31 + "AB", client=other)
        p = other.run("pop", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not the pinned", p.stderr.decode())
        self.assertEqual(self.dove.count(ALICE), 1)

    def test_submitted_through_postfix_reaches_tern_pop(self):
        body = "submitted through Postfix, Grüße\r\n.dot line\r\n".encode()
        with smtplib.SMTP("127.0.0.1", self.pf.submission_port, timeout=20) as s:
            s.starttls(context=self.dove.tls_context())
            s.ehlo()
            s.user, s.password = ALICE, ALICE_PW
            code, resp = s.auth("PLAIN", s.auth_plain)
            self.assertEqual(code, 235, resp)
            s.sendmail(ALICE, [BOB, ALICE], message(7, body, to=BOB))
        self.dove.wait_count(BOB, 1)
        self.dove.wait_count(ALICE, 1)
        self.assertIn("sasl_method=PLAIN, sasl_username=" + ALICE, self.pf.log())
        served = self.on_server(BOB, BOB_PW)
        self.assertIn(b"Subject: message 7", served[0])
        self.assertIn(body, served[0])
        self.add_account("--fingerprint", self.fp, user=BOB, pw=BOB_PW)
        out = self.client.run("pop").stdout.decode()
        self.assertIn("1 new message downloaded", out)
        self.assertEqual(self.local(), served)
        self.assertEqual(self.dove.count(BOB), 0)

    def test_no_relay_without_auth(self):
        msg = message(8, to="far@elsewhere.test")
        for port in (self.pf.port, self.pf.submission_port):
            with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
                if port == self.pf.submission_port:
                    s.starttls(context=self.dove.tls_context())
                with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                    s.sendmail("x@remote.example", ["far@elsewhere.test"], msg)
                code = cm.exception.recipients["far@elsewhere.test"][0]
                self.assertTrue(500 <= code < 600, cm.exception.recipients)
        # The domain's own users still get mail from anyone on the 25 role; unknown ones do not.
        with smtplib.SMTP("127.0.0.1", self.pf.port, timeout=20) as s:
            with self.assertRaises(smtplib.SMTPRecipientsRefused):
                s.sendmail("x@remote.example", ["nobody@" + DOMAIN], msg)
            s.sendmail("x@remote.example", [ALICE], message(9))
        self.dove.wait_count(ALICE, 1)


if __name__ == "__main__":
    ternlib.main()
