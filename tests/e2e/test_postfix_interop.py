#!/usr/bin/env python3
# Interop with Postfix (Debian) on loopback, both directions of issue 8: Postfix as a sender relaying
# to Tern (SMTP and sendmail(1) submissions reach the Tern mailbox intact: headers, 8-bit UTF-8,
# lines starting with "."), and Tern relaying to Postfix (and to the fake MX, byte-exact on the wire)
# through relay.routes: skipped, with the reason, only while this ternd build has no relay.
# Needs root (private Postfix); every wait is deadline-bounded.
import os
import smtplib
import subprocess
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, header, tls_context  # noqa: E402
import postfixlib  # noqa: E402
from fakemx import DEFAULT_EXTENSIONS, Behaviour, FakeMX  # noqa: E402

PASSWORD = "interop pw"
FAR = "far.test"

# Lines starting with "." (one alone, two dots), 8-bit UTF-8 text, a "From " inside a line.
BODY_LINES = [".leading dot", "..two dots", ".", "ünïcödé text: ✓ €", "a line with From in it",
              "", "last line"]


def message(token, eol):
    head = [f"From: Sender <sender@remote.test>", f"To: <bob@{DOMAIN}>", f"Subject: interop {token}",
            f"Message-ID: <{token}@remote.test>", "Date: Mon, 07 Dec 2026 05:00:00 +0000",
            "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit"]
    return (eol.join(head) + eol + eol + eol.join(BODY_LINES) + eol).encode()


def expected_body():
    return ("\n".join(BODY_LINES) + "\n").encode()


def split(msg):
    """(header block, body) of a message, LF line ends."""
    m = msg.replace(b"\r\n", b"\n")
    h, _, b = m.partition(b"\n\n")
    return h, b


@unittest.skipIf(postfixlib.unavailable(), postfixlib.unavailable() or "")
class PostfixSendsToTern(unittest.TestCase):
    """Postfix relays everything to Tern's SMTP port (relayhost, smtp_tls_security_level=may)."""

    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(protos=("smtp",))
        cls.srv.add_domain(DOMAIN)
        cls.srv.add_user(f"bob@{DOMAIN}")
        cls.srv.start()
        cls.pf = postfixlib.Postfix.sender("127.0.0.1", cls.srv.port("smtp"), hostname="postfix.test")
        cls.pf.start()

    @classmethod
    def tearDownClass(cls):
        cls.pf.cleanup()
        cls.srv.stop()

    def check_arrived(self, token, via):
        msg = self.srv.wait_message_with(f"bob@{DOMAIN}", f"interop {token}", timeout=30)
        h, b = split(msg)
        self.assertEqual(b, expected_body(), f"body changed on the way ({via})")
        self.assertEqual(header(msg, "Subject"), f"interop {token}")
        self.assertEqual(header(msg, "Message-ID"), f"<{token}@remote.test>")
        self.assertEqual(header(msg, "Content-Type"), "text/plain; charset=utf-8")
        self.assertEqual(header(msg, "Return-Path"), "<sender@remote.test>")
        # Tern's Received: (first) names Postfix's EHLO; the hop used STARTTLS (Tern offers it on
        # port 25, Postfix takes it at smtp_tls_security_level=may).
        self.assertIn("from postfix.test", header(msg, "Received"))
        self.assertIn(f"TLS connection established to 127.0.0.1[127.0.0.1]:{self.srv.port('smtp')}",
                      self.pf.log())
        self.assertRegex(h, rb"\nReceived: (from .*\n\t)?by postfix.test \(Postfix")   # then Postfix's own
        self.assertEqual(len(self.srv.messages_with(f"bob@{DOMAIN}", f"interop {token}")), 1)

    def test_smtp_submission_to_postfix_reaches_tern_intact(self):
        token = uuid.uuid4().hex[:12]
        with smtplib.SMTP("127.0.0.1", self.pf.port, timeout=10) as c:
            c.sendmail("sender@remote.test", [f"bob@{DOMAIN}"], message(token, "\r\n"))
        self.check_arrived(token, "SMTP to Postfix")

    def test_sendmail_submission_with_lf_lines_reaches_tern_intact(self):
        token = uuid.uuid4().hex[:12]
        self.pf.sendmail(message(token, "\n"), [f"bob@{DOMAIN}"], sender="sender@remote.test")
        self.check_arrived(token, "Postfix sendmail -i")


class TernRelaysToPostfix(unittest.TestCase):
    """Tern relays mail for far.test to a Postfix receiver (relay.routes), and to the fake MX, which
    records the exact octets Tern sent."""

    @classmethod
    def setUpClass(cls):
        reason = ternlib.relay_missing() or postfixlib.unavailable()
        if reason:
            raise unittest.SkipTest(reason)
        cls.pf = postfixlib.Postfix.receiver(FAR, users=("user",), tls=True, hostname="mx.far.test")
        cls.pf.start()
        # wire.test: byte-exact checks; no CHUNKING, so the body goes by DATA, dot-stuffed.
        cls.mx = FakeMX(Behaviour(extensions=DEFAULT_EXTENSIONS + ("STARTTLS",))).start()
        config = ("[auth]\nallow_plaintext = true\n"
                  "[relay.routes]\n"
                  f'"{FAR}" = "127.0.0.1:{cls.pf.port}"\n'
                  f'"wire.test" = "127.0.0.1:{cls.mx.port}"\n')
        cls.srv = ternlib.Server(protos=("smtp", "submission"), config=config)
        cls.srv.add_domain(DOMAIN)
        cls.srv.add_user(f"alice@{DOMAIN}", PASSWORD)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.mx.stop()
        cls.pf.cleanup()

    def submit(self, rcpt, data):
        with smtplib.SMTP("127.0.0.1", self.srv.port("submission"), timeout=10) as c:
            c.starttls(context=tls_context())
            c.login(f"alice@{DOMAIN}", PASSWORD)
            self.assertEqual(c.sendmail(f"alice@{DOMAIN}", [rcpt], data), {})

    def test_message_arrives_in_postfix_mailbox_intact(self):
        token = uuid.uuid4().hex[:12]
        data = message(token, "\r\n").replace(f"bob@{DOMAIN}".encode(), f"user@{FAR}".encode()) \
            .replace(b"sender@remote.test", f"alice@{DOMAIN}".encode())
        self.submit(f"user@{FAR}", data)
        msgs = [m for m in self.pf.wait_messages(1) if token.encode() in m]
        self.assertEqual(len(msgs), 1, "one message per submission")
        h, b = split(msgs[0])
        self.assertEqual(b, expected_body())
        self.assertEqual(header(msgs[0], "Return-Path"), f"<alice@{DOMAIN}>")
        self.assertEqual(header(msgs[0], "Subject"), f"interop {token}")
        self.assertIn(b"mx.example.test", h)        # Tern's own Received: travelled with it
        # Postfix offers STARTTLS (self-signed): relay.tls "opportunistic" takes it, unverified.
        self.assertRegex(h, rb"by mx\.far\.test \(Postfix\) with ESMTPS ")

    def test_wire_bytes_crlf_only_and_dot_stuffed(self):
        token = uuid.uuid4().hex[:12]
        data = message(token, "\r\n").replace(b"sender@remote.test", f"alice@{DOMAIN}".encode())
        self.submit("someone@wire.test", data)
        m = self.mx.wait_message_with(token)
        self.assertEqual(m.mail_from, f"alice@{DOMAIN}")
        self.assertEqual([r for r, _ in m.rcpts], ["someone@wire.test"])
        self.assertFalse(m.bare_lf, "Tern sent a bare CR or LF")
        self.assertFalse(m.chunked)
        self.assertTrue(m.tls, "relay.tls opportunistic: STARTTLS when offered")
        # fakemx undid the dot-stuffing: what Tern stored after its own headers comes back exactly.
        self.assertTrue(m.data.endswith(b"\r\n\r\n" + "\r\n".join(BODY_LINES).encode() + b"\r\n"), m.data)
        self.assertEqual(m.mail_params.get("BODY"), "8BITMIME")

    def test_bare_lf_and_cr_dot_cr_lf_via_sendmail(self):
        """Bare LF and CR cannot enter over SMTP (Tern refuses them, 550 5.6.0), only through the
        sendmail interface: they must leave CRLF-only, dot-stuffed, as one message."""
        probe = subprocess.run([ternlib.TERND, "--help"], capture_output=True)
        if b"sendmail" not in probe.stdout:
            self.skipTest("`ternd sendmail` not in this build")
        token = uuid.uuid4().hex[:12]
        raw = (f"From: alice@{DOMAIN}\nSubject: bare {token}\n\nA\r.\r\nB\nbare lf\n.dot\n..\n"
               "MAIL FROM:<evil@x.test>\nend\n").encode()
        p = self.srv.admin("sendmail", "-i", "-f", f"alice@{DOMAIN}", "someone@wire.test", input=raw)
        self.assertEqual(p.returncode, 0)
        m = self.mx.wait_message_with(token)   # one message, not split at the fake end-of-data
        self.assertFalse(m.bare_lf, "Tern sent a bare CR or LF")
        for piece in (b"A", b"\r\nB\r\nbare lf\r\n.dot\r\n..\r\nMAIL FROM:<evil@x.test>\r\nend\r\n"):
            self.assertIn(piece, m.data)
        self.assertEqual(self.mx.transactions, len(self.mx.messages))   # no smuggled transaction


if __name__ == "__main__":
    ternlib.main()
