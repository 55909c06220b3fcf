#!/usr/bin/env python3
# End-to-end: `tern read` and `tern attachments` on message files built with Python's email
# package (as a Maildir would hold them): an HTML-only message, one with a binary attachment and
# one with a non-ASCII name, a uuencoded one, and hostile names. Checks the printed text and the
# saved files byte for byte. Needs no server; bounded by subprocess timeouts.
import binascii
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest
from email import policy
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402


def tern_binary():
    return os.path.join(os.path.dirname(ternlib.TERND), "tern")


class TernRead(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tern-read-")
        self.root = self.tmp.name
        self.env = dict(os.environ, HOME=self.root, XDG_CONFIG_HOME=os.path.join(self.root, "config"),
                        XDG_DATA_HOME=os.path.join(self.root, "data"))
        self.addCleanup(self.tmp.cleanup)

    def tern(self, *args, check=True):
        p = subprocess.run([tern_binary(), *args], capture_output=True, env=self.env, timeout=60)
        if check and p.returncode != 0:
            self.fail(f"tern {' '.join(args)} exited {p.returncode}: {p.stderr.decode(errors='replace')}")
        return p

    def write(self, name, msg, crlf=False):
        path = os.path.join(self.root, name)
        data = msg.as_bytes(policy=policy.SMTP) if crlf else bytes(msg)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def outdir(self):
        d = os.path.join(self.root, "save", "out")
        os.makedirs(d)
        return d

    def test_html_only_message_is_rendered(self):
        m = EmailMessage()
        m["From"] = "Jörg Müller <joerg@example.de>"
        m["To"] = "Bob <bob@example.org>, carol@example.net"
        m["Subject"] = "Grüße aus Köln"
        m.set_content(
            "<html><head><style>p {color: red}</style><script>alert('x')</script></head><body>"
            "<h1>News</h1><p>Please read <a href=\"https://news.example/item?id=7\">the article</a>.</p>"
            "<ul><li>first</li><li>second</li></ul>"
            "<blockquote>quoted words</blockquote>"
            "<img src=\"https://tracker.example/pixel.gif\" alt=\"Logo\"></body></html>",
            subtype="html", charset="utf-8", cte="quoted-printable")
        path = self.write("html.eml", m)
        out = self.tern("read", "--file", path).stdout.decode()
        self.assertIn("From: Jörg Müller <joerg@example.de>\n", out)
        self.assertIn("To: Bob <bob@example.org>, carol@example.net\n", out)
        self.assertIn("Subject: Grüße aus Köln\n", out)
        self.assertIn("News\n\nPlease read the article [1].\n\n* first\n* second\n\n> quoted words\n", out)
        self.assertIn("[image: Logo]", out)
        self.assertIn("[1] https://news.example/item?id=7\n", out)
        self.assertNotIn("alert", out)
        self.assertNotIn("color", out)
        js = json.loads(self.tern("read", "--json", "--file", path).stdout)
        self.assertEqual(js["header"]["subject"], "Grüße aus Köln")
        self.assertEqual(js["header"]["from_list"], [{"name": "Jörg Müller", "address": "joerg@example.de"}])
        self.assertEqual(len(js["body"]), 1)
        self.assertTrue(js["body"][0]["html"])
        self.assertEqual(js["body"][0]["links"], ["https://news.example/item?id=7"])
        raw = self.tern("read", "--html-raw", "--file", path).stdout.decode()
        self.assertIn("<h1>News</h1>", raw)

    def test_two_attachments_listed_and_saved_byte_for_byte(self):
        binary = bytes(random.Random(42).randrange(256) for _ in range(70000))
        pdf = b"%PDF-1.4\n" + bytes(range(256)) * 4
        m = EmailMessage()
        m["From"] = "alice@example.com"
        m["To"] = "bob@example.org"
        m["Subject"] = "files"
        m.set_content("Two files attached.\n")
        m.add_attachment(binary, maintype="application", subtype="octet-stream", filename="data.bin")
        m.add_attachment(pdf, maintype="application", subtype="pdf", filename="Überweisung März.pdf")
        path = self.write("two.eml", m, crlf=True)

        out = self.tern("read", "--file", path).stdout.decode()
        self.assertIn("Two files attached.\n", out)
        self.assertIn("Attachments:\n  [1] data.bin  application/octet-stream  68.4 KiB\n", out)
        self.assertIn("  [2] Überweisung März.pdf  application/pdf", out)

        listing = json.loads(self.tern("attachments", "--json", "--file", path).stdout)
        self.assertEqual([a["name"] for a in listing], ["data.bin", "Überweisung März.pdf"])
        self.assertEqual([a["size"] for a in listing], [len(binary), len(pdf)])

        d = self.outdir()
        self.tern("attachments", "--file", path, "--save", d)
        self.assertEqual(sorted(os.listdir(d)), sorted(["data.bin", "Überweisung März.pdf"]))
        with open(os.path.join(d, "data.bin"), "rb") as f:
            self.assertEqual(f.read(), binary)
        with open(os.path.join(d, "Überweisung März.pdf"), "rb") as f:
            self.assertEqual(f.read(), pdf)

        # Again: nothing is overwritten without --force (exit 1, files unchanged) ...
        with open(os.path.join(d, "data.bin"), "wb") as f:
            f.write(b"mine")
        p = self.tern("attachments", "--file", path, "--save", d, "1", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"exists", p.stderr)
        with open(os.path.join(d, "data.bin"), "rb") as f:
            self.assertEqual(f.read(), b"mine")
        # ... and with --force it is replaced, leaving no temporary file behind.
        self.tern("attachments", "--file", path, "--save", d, "--force", "1")
        with open(os.path.join(d, "data.bin"), "rb") as f:
            self.assertEqual(f.read(), binary)
        self.assertEqual(len(os.listdir(d)), 2)

    def test_uuencoded_attachment(self):
        payload = bytes(random.Random(7).randrange(256) for _ in range(4000))
        lines = ["begin 644 photo.jpg"]
        for i in range(0, len(payload), 45):
            lines.append(binascii.b2a_uu(payload[i:i + 45]).decode().rstrip("\n"))
        lines += ["`", "end"]
        m = EmailMessage()
        m["From"] = "old@example.com"
        m["Subject"] = "uuencoded"
        m.set_content("Here is the picture:\n\n" + "\n".join(lines) + "\n\nCheers\n", cte="7bit")
        path = self.write("uu.eml", m)
        out = self.tern("read", "--file", path).stdout.decode()
        self.assertIn("Here is the picture:\n\n[uuencoded attachment 1: photo.jpg, 3.9 KiB]\n", out)
        self.assertIn("Cheers\n", out)
        self.assertNotIn("begin 644", out)
        d = self.outdir()
        self.tern("attachments", "--file", path, "--save", d)
        self.assertEqual(os.listdir(d), ["photo.jpg"])
        with open(os.path.join(d, "photo.jpg"), "rb") as f:
            self.assertEqual(f.read(), payload)

    def test_hostile_names_and_symlinks_stay_inside_dir(self):
        m = EmailMessage()
        m["From"] = "mallory@example.com"
        m["Subject"] = "names"
        m.set_content("see attachments\n")
        for name in ["../../escape.sh", "/etc/cron.d/evil", "..", "link.txt"]:
            m.add_attachment(b"payload " + name.encode(), maintype="application", subtype="octet-stream",
                             filename=name)
        path = self.write("hostile.eml", m)
        d = self.outdir()
        victim = os.path.join(self.root, "victim")
        with open(victim, "wb") as f:
            f.write(b"untouched")
        os.symlink(victim, os.path.join(d, "link.txt"))
        p = self.tern("attachments", "--file", path, "--save", d, check=False)
        self.assertEqual(p.returncode, 1)  # link.txt exists (as a symlink): refused
        with open(victim, "rb") as f:
            self.assertEqual(f.read(), b"untouched")
        self.assertEqual(sorted(os.listdir(d)), sorted(["escape.sh", "evil", "_.", "link.txt"]))
        self.assertEqual(sorted(os.listdir(os.path.join(self.root, "save"))), ["out"])
        self.assertFalse(os.path.exists(os.path.join(self.root, "escape.sh")))
        with open(os.path.join(d, "escape.sh"), "rb") as f:
            self.assertEqual(f.read(), b"payload ../../escape.sh")


if __name__ == "__main__":
    ternlib.main()
