#!/usr/bin/env python3
# `tern compose` (mua::build_message behind a thin CLI): a message with attachments and a Bcc made
# from the command line is read back by Python's email package with no defects, submitted to
# ternd over SMTP and delivered intact to every recipient; the body comes from stdin, from
# --body-file, or from $EDITOR when stdin is a terminal (a 0600 temporary file, removed after);
# a bad address or a failing editor exits 1 with nothing written.
import email
import email.policy
import os
import pty
import random
import shutil
import smtplib
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
CAROL = f"carol@{DOMAIN}"
PDF_NAME = "Überweisung – März.pdf"


def tern():
    return os.path.join(os.path.dirname(os.path.abspath(ternlib.TERND)), "tern")


def fake_pdf():
    rnd = random.Random(7)
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(rnd.randrange(256) for _ in range(3000)) + b"\n%%EOF\n"


class Compose(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tern-compose-e2e-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.env = dict(os.environ, HOME=self.tmp, XDG_CONFIG_HOME=os.path.join(self.tmp, "config"),
                        XDG_DATA_HOME=os.path.join(self.tmp, "data"), TMPDIR=self.tmp)
        self.env.pop("EDITOR", None)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def compose(self, *args, input=b"", stdin=None, env=None):
        kw = {"stdin": stdin} if stdin is not None else {"input": input}
        return subprocess.run([tern(), "compose", *args], capture_output=True, timeout=30,
                              env=env or self.env, **kw)

    def check_clean(self, raw):
        for pol in (email.policy.default, email.policy.compat32):
            msg = email.message_from_bytes(raw, policy=pol)
            for part in msg.walk():
                self.assertEqual(part.defects, [], part.get_content_type())
        for line in raw.split(b"\r\n"):
            self.assertLessEqual(len(line), 998)
        return email.message_from_bytes(raw, policy=email.policy.default)

    def attachments(self, msg):
        return [(p.get_filename(), p.get_payload(decode=True)) for p in msg.iter_attachments()]

    def test_attachments_bcc_and_delivery(self):
        data = random.Random(1).randbytes(50 * 1024)
        bin_path = self.write("data.bin", data)
        pdf_path = self.write(PDF_NAME, fake_pdf())
        p = self.compose("--from", f"Alice Example <{ALICE}>", "--to", BOB, "--bcc", CAROL,
                         "--subject", "Grüße aus Köln", "--attach", bin_path, "--attach", pdf_path,
                         input="Hallo Bob,\nGrüße\n".encode())
        self.assertEqual(p.returncode, 0, p.stderr)
        raw = p.stdout
        msg = self.check_clean(raw)
        self.assertEqual(str(msg["subject"]), "Grüße aus Köln")
        self.assertEqual(msg["from"].addresses[0].display_name, "Alice Example")
        self.assertIsNone(msg["bcc"])
        self.assertNotIn(CAROL.encode(), raw)
        self.assertEqual(msg.get_body(("plain",)).get_content().replace("\r\n", "\n"), "Hallo Bob,\nGrüße\n")
        self.assertEqual(self.attachments(msg), [("data.bin", data), (PDF_NAME, fake_pdf())])
        self.assertNotIn(self.tmp.encode(), raw)  # base names only

        # Submitted to ternd as it is, delivered to the To and the Bcc recipient intact.
        srv = ternlib.Server(protos=("smtp",), trace=False)
        self.addCleanup(srv.cleanup)
        srv.add_domain(DOMAIN)
        srv.add_user(BOB)
        srv.add_user(CAROL)
        srv.start()
        with smtplib.SMTP("127.0.0.1", srv.port("smtp"), timeout=20) as s:
            refused = s.sendmail(ALICE, [BOB, CAROL], raw)
        self.assertEqual(refused, {})
        for who in (BOB, CAROL):
            got = srv.wait_message_with(who, msg["message-id"])
            delivered = email.message_from_bytes(got, policy=email.policy.default)
            self.assertEqual(str(delivered["subject"]), "Grüße aus Köln")
            self.assertEqual(self.attachments(delivered), [("data.bin", data), (PDF_NAME, fake_pdf())])

    def test_body_file_and_out(self):
        body = self.write("body.txt", b"line one\n" + b"x" * 2000 + b"\n")
        out = self.path("out.eml")
        p = self.compose("--from", ALICE, "--to", f"Bob <{BOB}>", "--cc", CAROL, "--subject", "s",
                         "--body-file", body, "--out", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"")
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
        with open(out, "rb") as f:
            msg = self.check_clean(f.read())
        self.assertEqual([a.addr_spec for a in msg["cc"].addresses], [CAROL])
        self.assertEqual(msg["content-transfer-encoding"], "quoted-printable")
        self.assertEqual(msg.get_body(("plain",)).get_content().replace("\r\n", "\n"),
                         "line one\n" + "x" * 2000 + "\n")

    def editor(self, script):
        path = self.write("editor.sh", script.encode())
        os.chmod(path, 0o755)
        return dict(self.env, EDITOR=path)

    def run_on_tty(self, *args, env):
        master, slave = pty.openpty()
        try:
            return self.compose(*args, stdin=slave, env=env)
        finally:
            os.close(slave)
            os.close(master)

    def test_editor_on_a_terminal(self):
        log = self.path("editor.log")
        env = self.editor(f'#!/bin/sh\nstat -c "%a %n" "$1" > {log}\nprintf "written in the editor\\n" > "$1"\n')
        out = self.path("edited.eml")
        p = self.run_on_tty("--from", ALICE, "--to", BOB, "--subject", "edited", "--out", out, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(log) as f:
            mode, tmpfile = f.read().split(maxsplit=1)
        self.assertEqual(mode, "600")
        self.assertFalse(os.path.exists(tmpfile.strip()), "the temporary file is removed")
        with open(out, "rb") as f:
            msg = self.check_clean(f.read())
        self.assertEqual(msg.get_body(("plain",)).get_content().replace("\r\n", "\n"), "written in the editor\n")

    def test_failing_editor_writes_nothing(self):
        log = self.path("editor.log")
        env = self.editor(f'#!/bin/sh\necho "$1" > {log}\nexit 3\n')
        out = self.path("never.eml")
        p = self.run_on_tty("--from", ALICE, "--to", BOB, "--subject", "s", "--out", out, env=env)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"editor", p.stderr)
        self.assertFalse(os.path.exists(out))
        with open(log) as f:
            self.assertFalse(os.path.exists(f.read().strip()))

    def test_bad_address_exits_1_with_nothing_written(self):
        out = self.path("bad.eml")
        p = self.compose("--from", ALICE, "--to", "bob", "--subject", "s", "--out", out, input=b"x\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b'To: "bob" is not a valid address', p.stderr)
        self.assertFalse(os.path.exists(out))
        p = self.compose("--from", ALICE, "--to", BOB, "--subject", "s", "--attach", self.path("missing"),
                         input=b"x\n")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, b"")
        self.assertIn(b"missing", p.stderr)


if __name__ == "__main__":
    ternlib.main()
