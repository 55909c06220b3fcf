#!/usr/bin/env python3
# `tern account` and `tern pop` against a real ternd (issue 10): the account file is private, the
# certificate is checked (pinned fingerprint; an unknown one is refused and shown), messages arrive
# byte for byte in the local Maildir, --keep leaves them and UIDL skips them next time, a run
# without --keep deletes them on the server, and --trace never shows the password.
import os
import poplib
import shutil
import subprocess
import tempfile
import smtplib
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternclient import Client, fingerprint  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

PASSWORD = "pop-client-pw"
USER = "alice@" + DOMAIN


def message(i, extra=b""):
    return (b"From: Bob <bob@remote.example>\r\nTo: " + USER.encode() + b"\r\nSubject: message " +
            str(i).encode() + b"\r\nMessage-ID: <m" + str(i).encode() + b"@remote.example>\r\n\r\n" +
            b"line one\r\n.leading dot\r\n" + extra + b"last line\r\n")


class TernPop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ternlib.Server(protos=("smtp", "pop3", "pop3s"), config="[auth]\nallow_plaintext = false\n")
        cls.server.start()
        cls.server.add_domain()
        cls.server.add_user(USER, PASSWORD)
        cls.fp = fingerprint(cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def setUp(self):
        self.client = Client()
        self.addCleanup(self.client.cleanup)
        # Empty the maildrop between tests.
        p = poplib.POP3("127.0.0.1", self.server.port("pop3"))
        p.stls(ternlib.tls_context())
        p.user(USER)
        p.pass_(PASSWORD)
        for i in range(len(p.list()[1])):
            p.dele(i + 1)
        p.quit()

    def deliver(self, messages):
        with smtplib.SMTP("127.0.0.1", self.server.port("smtp")) as s:
            for m in messages:
                s.sendmail("bob@remote.example", [USER], m)
        self.server.wait_count(USER, len(messages))

    def on_server(self):
        p = poplib.POP3_SSL("127.0.0.1", self.server.port("pop3s"), context=ternlib.tls_context())
        p.user(USER)
        p.pass_(PASSWORD)
        out = [b"\r\n".join(p.retr(i + 1)[1]) + b"\r\n" for i in range(len(p.list()[1]))]
        p.quit()
        return out

    def add_account(self, *extra, endpoint=None):
        endpoint = endpoint or f"127.0.0.1:{self.server.port('pop3s')}"
        return self.client.run("account", "add", "home", "--address", USER, "--pop3", endpoint,
                               "--fingerprint", self.fp, *extra, input=PASSWORD + "\n")

    def test_account_file_is_private_and_listed(self):
        self.add_account()
        path = os.path.join(self.client.home, "config", "tern", "accounts.toml")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
        listed = self.client.json("account", "list")
        self.assertEqual(listed, [{"name": "home", "address": USER,
                                   "pop3": {"host": "127.0.0.1", "port": self.server.port("pop3s"), "tls": "implicit"}}])
        p = self.client.run("account", "add", "home", "--address", USER, "--pop3", "x:1", input="pw\n", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"already an account named home", p.stderr)

    def test_keep_then_delete(self):
        big = b"".join(b"%06d " % i + b"x" * 70 + b"\r\n" for i in range(30000))  # ~2.3 MB, many chunks
        sent = [message(1), message(2, "Grüße aus Köln\r\n".encode()), message(3, big)]
        self.deliver(sent)
        served = self.on_server()
        self.add_account()
        out = self.client.run("pop", "--keep").stdout.decode()
        self.assertIn("3 new messages downloaded", out)
        files = self.client.maildir_files("home")
        self.assertEqual(len(files), 3)
        got = sorted(open(f, "rb").read() for f in files)
        self.assertEqual(got, sorted(served))
        for f in files:
            self.assertEqual(stat.S_IMODE(os.stat(f).st_mode), 0o600)
        self.assertEqual(self.server.count(USER), 3)

        out = self.client.run("pop", "--keep").stdout.decode()
        self.assertIn("0 new messages downloaded, 3 already here", out)
        self.assertEqual(len(self.client.maildir_files("home")), 3)

        listed = self.client.json("list")
        self.assertEqual([m["subject"] for m in listed], ["message 1", "message 2", "message 3"])
        self.assertTrue(all(m["from"] == "Bob" and m["from_address"] == "bob@remote.example" for m in listed))
        self.assertEqual([m["size"] for m in listed], [len(s) for s in served])

        # Without --keep: nothing downloaded twice, everything deleted on the server.
        self.deliver([message(4)])
        out = self.client.run("pop").stdout.decode()
        self.assertIn("1 new message downloaded, 3 already here, 4 deleted on the server", out)
        self.assertEqual(self.server.count(USER), 0)
        self.assertEqual(len(self.client.maildir_files("home")), 4)
        human = self.client.run("list").stdout.decode()
        self.assertEqual(len(human.splitlines()), 4)
        self.assertIn("message 4", human)
        self.assertEqual(len(self.client.json("list", "--limit", "2")), 2)

    def test_certificate_checked(self):
        self.client.run("account", "add", "home", "--address", USER, "--pop3",
                        f"127.0.0.1:{self.server.port('pop3s')}", input=PASSWORD + "\n")
        p = self.client.run("pop", check=False)
        self.assertEqual(p.returncode, 1)
        err = p.stderr.decode()
        self.assertIn("not trusted", err)
        self.assertIn(self.fp, err)  # shown so the user can pin it

        other = Client()
        self.addCleanup(other.cleanup)
        other.run("account", "add", "home", "--address", USER, "--pop3", f"127.0.0.1:{self.server.port('pop3s')}",
                  "--fingerprint", "AA:" * 31 + "AA", input=PASSWORD + "\n")
        p = other.run("pop", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not the pinned", p.stderr.decode())

    def test_starttls_and_trace_masks_password(self):
        self.deliver([message(5)])
        self.add_account("--tls", "starttls", endpoint=f"127.0.0.1:{self.server.port('pop3')}")
        p = self.client.run("--trace", "pop", "--keep")
        err = p.stderr.decode()
        self.assertIn("C: STLS", err)
        self.assertIn("S: +OK", err)
        self.assertNotIn(PASSWORD, err)
        self.assertIn("TLS", p.stdout.decode())
        self.assertEqual(len(self.client.maildir_files("home")), 1)

    def test_wrong_password_says_so(self):
        self.client.run("account", "add", "home", "--address", USER, "--pop3", f"127.0.0.1:{self.server.port('pop3s')}",
                        "--fingerprint", self.fp, input="wrong\n")
        p = self.client.run("pop", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("login failed", p.stderr.decode())


class CertificateAuthority(unittest.TestCase):
    """`--ca FILE`: a server whose certificate a private CA signed (for 127.0.0.1) is trusted with
    that CA and refused without it; the name checked is the one connected to (RFC 6125)."""

    def test_ca_file(self):
        work = tempfile.mkdtemp(prefix="tern-ca-")
        self.addCleanup(shutil.rmtree, work, True)
        def run(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=work)
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=Tern test CA")
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "srv.key",
            "-out", "srv.csr", "-subj", "/CN=mail.test")
        with open(os.path.join(work, "ext.cnf"), "w") as f:
            f.write("subjectAltName = IP:127.0.0.1, DNS:mail.test\n")
        run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "srv.pem", "-days", "2", "-extfile", "ext.cnf")
        os.chmod(work, 0o755)
        for f in ("srv.pem", "srv.key"):
            os.chmod(os.path.join(work, f), 0o644)
        server = ternlib.Server(protos=("pop3s",), config=f'[tls]\ncert = "{work}/srv.pem"\nkey = "{work}/srv.key"\n')
        self.addCleanup(server.cleanup)
        server.start()
        server.add_domain()
        server.add_user(USER, PASSWORD)
        trusted = Client()
        self.addCleanup(trusted.cleanup)
        trusted.run("account", "add", "ca", "--address", USER, "--pop3", f"127.0.0.1:{server.port('pop3s')}",
                    "--ca", os.path.join(work, "ca.pem"), input=PASSWORD + "\n")
        self.assertIn("0 new messages downloaded", trusted.run("pop").stdout.decode())
        plain = Client()
        self.addCleanup(plain.cleanup)
        plain.run("account", "add", "sys", "--address", USER, "--pop3", f"127.0.0.1:{server.port('pop3s')}",
                  input=PASSWORD + "\n")
        p = plain.run("pop", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not trusted", p.stderr.decode())


class AccountProbe(unittest.TestCase):
    """`tern account add NAME --address A` alone finds the servers on the usual ports (implicit TLS
    first, RFC 8314 §5.1). The usual ports need root to bind; 127.0.0.9 stands for the mail host."""

    def test_only_the_address(self):
        if os.geteuid() != 0:
            self.skipTest("binding ports 993/995/465 needs root")
        host = "127.0.0.9"
        busy = [p for p in (993, 995, 465, 143, 110, 587) if ternlib.port_accepts(p, host)]
        if busy:
            self.skipTest(f"ports {busy} already in use on {host}")
        server = ternlib.Server(protos=("imaps", "pop3s", "submissions"), host=host,
                                ports={"imaps": 993, "pop3s": 995, "submissions": 465})
        self.addCleanup(server.cleanup)
        server.start()
        server.add_domain()
        server.add_user(USER, PASSWORD)
        client = Client()
        self.addCleanup(client.cleanup)
        p = client.run("account", "add", "auto", "--address", USER, "--host", host, "--fingerprint",
                       fingerprint(server), input=PASSWORD + "\n")
        out = p.stdout.decode()
        self.assertIn(f"IMAP  {host}:993 (implicit)", out)
        self.assertIn(f"POP3  {host}:995 (implicit)", out)
        self.assertIn(f"SMTP  {host}:465 (implicit)", out)
        self.assertIn("looking for the servers", p.stderr.decode())
        # What it found works.
        self.assertIn("0 new messages downloaded", client.run("pop").stdout.decode())
        # Nothing listening: says so, adds nothing.
        other = Client()
        self.addCleanup(other.cleanup)
        p = other.run("account", "add", "none", "--address", USER, "--host", "127.0.0.10", input=PASSWORD + "\n",
                      check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no IMAP, POP3 or SMTP server answered", p.stderr.decode())
        self.assertEqual(other.json("account", "list"), [])


if __name__ == "__main__":
    ternlib.main()
