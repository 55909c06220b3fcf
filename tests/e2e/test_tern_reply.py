#!/usr/bin/env python3
# `tern read ID`, `tern attachments ID`, `tern reply ID` and `tern forward ID` against a real ternd
# (issue 10): mail delivered over SMTP, fetched with `tern sync` (IMAPS), read from the cache by the
# ID `tern list` shows (and marked \Seen, pushed to the server by the next sync), attachments saved
# byte for byte, replies (one and all) and forwards (attached and inline) sent over submissions and
# checked where they arrive (threading fields, quoted text, Cc, message/rfc822), and \Answered /
# $Forwarded set on the original. Bounded by subprocess and wait timeouts.
import imaplib
import os
import random
import smtplib
import ssl
import sys
import tempfile
import unittest
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternclient import Client, fingerprint  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

PASSWORD = "reply-client-pw"
ALICE, BOB, CAROL, DAVE = (n + "@" + DOMAIN for n in ("alice", "bob", "carol", "dave"))


def parse(data):
    return BytesParser(policy=policy.default).parsebytes(data)


class TernReply(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ternlib.Server(protos=("smtp", "imaps", "submissions"))
        cls.server.start()
        cls.server.add_domain()
        for u in (ALICE, BOB, CAROL, DAVE):
            cls.server.add_user(u, PASSWORD)
        cls.fp = fingerprint(cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def setUp(self):
        self.client = Client()
        self.addCleanup(self.client.cleanup)
        self.client.run("account", "add", "acct", "--address", ALICE, "--name", "Alice A",
                        "--imap", f"127.0.0.1:{self.server.port('imaps')}",
                        "--smtp", f"127.0.0.1:{self.server.port('submissions')}", "--tls", "implicit",
                        "--fingerprint", self.fp, input=PASSWORD + "\n")
        self.tmp = tempfile.TemporaryDirectory(prefix="tern-reply-")
        self.addCleanup(self.tmp.cleanup)

    def deliver(self, msg):
        """Delivers `msg` (an EmailMessage) to its recipients over SMTP, syncs it and returns its ID."""
        with smtplib.SMTP("127.0.0.1", self.server.port("smtp")) as s:
            s.send_message(msg)
        subject = str(msg["Subject"])
        self.server.wait_message_with(ALICE, subject)
        self.client.run("sync")
        ids = [m["id"] for m in self.client.json("list") if m["subject"] == subject]
        self.assertEqual(len(ids), 1, self.client.json("list"))
        return ids[0]

    def original(self, token, cc=None, html=None):
        m = EmailMessage()
        m["From"] = "Bob B <" + BOB + ">"
        m["To"] = "Alice A <" + ALICE + ">"
        if cc:
            m["Cc"] = cc
        m["Subject"] = "plans " + token
        m["Message-ID"] = "<" + token + "@remote.example>"
        m["References"] = "<root-" + token + "@remote.example>"
        m["Date"] = "Mon, 07 Dec 2026 10:00:00 +0000"
        if html:
            m.set_content(html, subtype="html")
        else:
            m.set_content("original line of " + token + "\nsecond line\n")
        return m

    def flags(self, id_):
        return next(m["flags"] for m in self.client.json("list") if m["id"] == id_)

    def server_flags(self, subject):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        m = imaplib.IMAP4_SSL("127.0.0.1", self.server.port("imaps"), ssl_context=ctx)
        m.login(ALICE, PASSWORD)
        m.select("INBOX")
        typ, data = m.uid("SEARCH", "SUBJECT", '"' + subject + '"')
        uid = data[0].split()[0]
        typ, data = m.uid("FETCH", uid, "(FLAGS)")
        m.logout()
        return data[0].decode()

    def body_file(self, text):
        path = os.path.join(self.tmp.name, "body.txt")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_read_marks_seen_and_attachments_are_saved(self):
        blob = random.Random(7).randbytes(70000)
        m = self.original("read1")
        m.add_attachment(blob, maintype="application", subtype="octet-stream", filename="data.bin")
        id_ = self.deliver(m)
        self.assertNotIn("\\Seen", self.flags(id_))
        out = self.client.run("read", id_).stdout.decode()
        self.assertIn("Subject: plans read1\n", out)
        self.assertIn("original line of read1\n", out)
        self.assertIn("data.bin", out)
        self.assertIn("\\Seen", self.flags(id_))
        # The next sync tells the server.
        self.client.run("sync")
        self.assertIn("\\Seen", self.server_flags("plans read1"))
        # Attachments by ID, saved byte for byte.
        listed = self.client.json("attachments", id_)
        self.assertEqual([(a["index"], a["name"]) for a in listed], [(1, "data.bin")])
        d = os.path.join(self.tmp.name, "out")
        os.mkdir(d)
        self.client.run("attachments", id_, "--save", d)
        with open(os.path.join(d, "data.bin"), "rb") as f:
            self.assertEqual(f.read(), blob)
        # An unknown ID is an error, not an empty message.
        p = self.client.run("read", "99999", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"99999", p.stderr)

    def test_attachments_marks_seen(self):
        m = self.original("att2")
        m.add_attachment(b"abc", maintype="application", subtype="octet-stream", filename="x.bin")
        id_ = self.deliver(m)
        self.client.run("attachments", id_)
        self.assertIn("\\Seen", self.flags(id_))

    def test_reply(self):
        id_ = self.deliver(self.original("rep3", cc="Carol <" + CAROL + ">"))
        before_carol = self.server.count(CAROL)
        out = self.client.run("reply", id_, "--body-file", self.body_file("my answer rep3\n")).stdout.decode()
        self.assertIn("sent <", out)
        got = parse(self.server.wait_message_with(BOB, "my answer rep3"))
        self.assertEqual(got["Subject"], "Re: plans rep3")
        self.assertEqual(got["In-Reply-To"], "<rep3@remote.example>")
        self.assertEqual(got["References"].split(), ["<root-rep3@remote.example>", "<rep3@remote.example>"])
        self.assertIn(ALICE, got["From"])
        self.assertIsNone(got["Cc"])
        text = got.get_content()
        # The user's text above the attribution and the quote.
        self.assertLess(text.index("my answer rep3"), text.index("wrote:"))
        self.assertIn("> original line of rep3\n> second line\n", text)
        self.assertIn("\\Answered", self.flags(id_))
        self.client.run("sync")
        self.assertIn("\\Answered", self.server_flags("plans rep3"))
        self.assertEqual(self.server.count(CAROL), before_carol)  # not a reply to all

    def test_reply_all_includes_the_cc(self):
        id_ = self.deliver(self.original("rep4", cc="Carol <" + CAROL + ">"))
        self.client.run("reply", id_, "--all", "--body-file", self.body_file("to all rep4\n"))
        got = parse(self.server.wait_message_with(CAROL, "to all rep4"))
        self.assertIn(CAROL, got["Cc"])
        self.assertNotIn(ALICE, got["Cc"])  # never to oneself
        self.assertIn(BOB, got["To"])
        self.server.wait_message_with(BOB, "to all rep4")
        self.assertIn("\\Answered", self.flags(id_))

    def test_forward_attached(self):
        id_ = self.deliver(self.original("fwd5"))
        self.client.run("forward", id_, "--to", DAVE, "--body-file", self.body_file("see below fwd5\n"))
        got = parse(self.server.wait_message_with(DAVE, "see below fwd5"))
        self.assertEqual(got["Subject"], "Fwd: plans fwd5")
        parts = list(got.iter_parts())
        self.assertEqual(parts[0].get_content_type(), "text/plain")
        self.assertIn("see below fwd5", parts[0].get_content())
        self.assertEqual(parts[1].get_content_type(), "message/rfc822")
        inner = parts[1].get_content()
        self.assertEqual(inner["Message-ID"], "<fwd5@remote.example>")
        self.assertIn("original line of fwd5", inner.get_content())
        self.assertIn("$Forwarded", self.flags(id_))
        self.assertNotIn("\\Answered", self.flags(id_))

    def test_forward_inline_renders_html(self):
        html = "<html><body><h1>Headline fwd6</h1><p>Read <b>this</b> now.</p></body></html>"
        id_ = self.deliver(self.original("fwd6", html=html))
        self.client.run("forward", id_, "--inline", "--to", DAVE, "--body-file", self.body_file("inline fwd6\n"))
        got = parse(self.server.wait_message_with(DAVE, "inline fwd6"))
        self.assertEqual(got.get_content_type(), "text/plain")
        text = got.get_content()
        self.assertLess(text.index("inline fwd6"), text.index("Forwarded message"))
        self.assertIn("Subject: plans fwd6", text)
        self.assertIn("Headline fwd6", text)   # the HTML as the reader shows it ...
        self.assertIn("Read this now.", text)
        self.assertNotIn("<h1>", text)         # ... not its source
        self.assertIn("$Forwarded", self.flags(id_))

    def test_forward_needs_a_recipient(self):
        id_ = self.deliver(self.original("fwd7"))
        p = self.client.run("forward", id_, "--body-file", self.body_file("x\n"), check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn("$Forwarded", self.flags(id_))


if __name__ == "__main__":
    ternlib.main()
