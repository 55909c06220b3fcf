#!/usr/bin/env python3
# `tern search` (issue 10) against a real ternd over IMAPS: messages appended on the server, synced
# by `tern sync`, then the local index finds what it should and nothing else (words, phrases,
# fields, decoded QP/base64/HTML bodies, case and accents, hostile queries), `--server` (UID SEARCH)
# gives the same answer for the same query, messages the cache lacks are counted, and a deleted
# message leaves the local answers.
import base64
import os
import ssl
import sys
import unittest
import imaplib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternclient import Client, fingerprint  # noqa: E402

PASSWORD = "search-client-pw"


def msg(mid, subject, body, frm="Sender <sender@remote.example>", to="alice@example.org", headers=""):
    head = (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{mid}@test>\r\n"
            f"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n{headers}")
    return head.encode() + b"\r\n" + (body if isinstance(body, bytes) else body.encode())


MESSAGES = {
    "plain": msg("plain", "Quarterly zanzibar report", "The quokka meeting moves to Thursday.\r\n",
                 frm="Alice Walker <awalker@remote.example>"),
    "qp": msg("qp", "Menu", "caf=C3=A9 with flamingo=\r\npie for everyone\r\n",
              headers="Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"),
    "b64": msg("b64", "Encoded", base64.b64encode("hidden narwhal treasure\r\n".encode()).decode() + "\r\n",
               headers="Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"),
    "html": msg("html", "Newsletter", "<html><body><p>Visit the <b>axolotl</b> exhibit</p>"
                "<script>var pangolin = 1;</script></body></html>\r\n",
                headers="Content-Type: text/html; charset=utf-8\r\n"),
    "accent": msg("accent", "=?utf-8?q?Gr=C3=BC=C3=9Fe?= from Cologne", "Viele Grüße aus Köln\r\n".encode(),
                  headers="Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"),
    "other": msg("other", "Nothing special", "An ordinary zanzibar note about lunch.\r\n",
                 frm="Bob Stone <bstone@remote.example>", to="carol@remote.example"),
}


def no_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class TernSearch(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = ternlib.Server(protos=("smtp", "imaps"))
        cls.server.start()
        cls.server.add_domain()
        cls.user = "alice@" + ternlib.DOMAIN
        cls.server.add_user(cls.user, PASSWORD)
        cls.fp = fingerprint(cls.server)
        cls.imaps_port = cls.server.port("imaps")
        m = cls.imap()
        for name, data in MESSAGES.items():
            typ, _ = m.append("INBOX", "(\\Seen)" if name == "other" else "()", None, data)
            assert typ == "OK"
        m.logout()
        cls.client = Client()
        cls.client.run("account", "add", "acct", "--address", cls.user, "--imap", f"127.0.0.1:{cls.imaps_port}",
                       "--fingerprint", cls.fp, input=PASSWORD + "\n")
        cls.client.run("sync")

    @classmethod
    def tearDownClass(cls):
        cls.client.cleanup()
        cls.server.cleanup()

    @classmethod
    def imap(cls):
        m = imaplib.IMAP4_SSL("127.0.0.1", cls.imaps_port, ssl_context=no_ctx())
        m.login(cls.user, PASSWORD)
        return m

    def found(self, *args):
        """The Message-IDs (without <@test>) `tern --json search ARGS` returns."""
        rows = self.client.json("search", *args)
        return {r["message_id"].strip("<>").split("@")[0] for r in rows}

    def test_local_finds_what_it_should_and_nothing_else(self):
        cases = [
            (["zanzibar"], {"plain", "other"}),
            (["zanzibar", "quokka"], {"plain"}),
            (['"quokka meeting"'], {"plain"}),
            (['"meeting quokka"'], set()),
            (["subject:zanzibar"], {"plain"}),
            (["body:zanzibar"], {"other"}),                # "plain" has it in the subject only
            (["from:walker"], {"plain"}),
            (["from:awalker@remote.example"], {"plain"}),
            (["to:carol"], {"other"}),
            (["cafe", "flamingopie"], {"qp"}),           # QP decoded, soft break joined, accent folded
            (["narwhal", "treasure"], {"b64"}),           # base64 decoded
            (["axolotl"], {"html"}),
            (["pangolin"], set()),                        # a script is not text
            (["GRÜSSE"], {"accent"}),                     # ß ~ SS, case folded
            (["grusse", "koln"], {"accent"}),             # accents folded
            (["subject:grüße"], {"accent"}),
            (["nosuchwordanywhere"], set()),
        ]
        for args, want in cases:
            with self.subTest(args=args):
                self.assertEqual(self.found(*args), want)

    def test_options_and_json_shape(self):
        self.assertEqual(self.found("--unread", "zanzibar"), {"plain"})
        self.assertEqual(len(self.client.json("search", "--limit", "1", "zanzibar")), 1)
        self.assertEqual(self.found("--folder", "INBOX", "zanzibar"), {"plain", "other"})
        rows = self.client.json("search", "quokka")
        listed = [r for r in self.client.json("list") if r["message_id"] == "<plain@test>"]
        self.assertEqual(rows, listed)  # the same objects as `tern --json list`
        out = self.client.run("search", "quokka").stdout.decode()
        self.assertIn("Quarterly zanzibar report", out)
        self.assertIn("Alice Walker", out)
        self.assertIn("(no messages match)", self.client.run("search", "nosuchwordanywhere").stdout.decode())

    def test_hostile_queries_are_words(self):
        for q in ['zanzibar" OR "quokka', "NEAR(zanzibar", "zanzibar NOT", "{subject}:x", "*", "\"", "^zanzibar"]:
            with self.subTest(q=q):
                p = self.client.run("--json", "search", q, check=False)
                self.assertIn(p.returncode, (0, 1), p.stderr)
                self.assertNotIn(b"syntax", p.stderr.lower())
                if p.returncode == 1:
                    self.assertIn(b"nothing to search for", p.stderr)
        # `a" OR "b` is the three words a, or, b: no message has all three.
        self.assertEqual(self.found('zanzibar" OR "quokka'), set())

    def test_server_gives_the_same_answer(self):
        for args in [["zanzibar"], ["zanzibar", "quokka"], ['"quokka meeting"'], ["subject:zanzibar"],
                     ["from:walker"], ["to:carol"], ["body:narwhal"], ["axolotl"], ["grüße"], ["--unread", "zanzibar"]]:
            with self.subTest(args=args):
                local = self.found(*args)
                self.assertTrue(local)  # the query finds something, so the comparison means something
                self.assertEqual(self.found("--server", *args), local)

    def test_server_counts_messages_not_in_the_cache(self):
        m = self.imap()
        m.append("INBOX", "()", None, msg("late", "Late arrival", "a capybara appears\r\n"))
        m.logout()
        p = self.client.run("search", "--server", "capybara")
        self.assertIn("(no messages match)", p.stdout.decode())
        self.assertIn("1 matching message is not in the local cache yet", p.stderr.decode())
        self.assertEqual(self.found("capybara"), set())  # not synced: not known locally either
        self.client.run("sync")
        self.assertEqual(self.found("capybara"), {"late"})
        self.assertEqual(self.found("--server", "capybara"), {"late"})

    def test_deleted_message_leaves_the_answers(self):
        m = self.imap()
        m.append("INBOX", "()", None, msg("doomed", "Doomed", "an okapi passes by\r\n"))
        m.logout()
        self.client.run("sync")
        rows = self.client.json("search", "okapi")
        self.assertEqual(len(rows), 1)
        self.client.run("delete", rows[0]["id"])
        self.assertEqual(self.found("okapi"), set())


if __name__ == "__main__":
    ternlib.main()
