#!/usr/bin/env python3
# Security behaviour of a real ternd: privilege drop after binding (as root), certificate reload
# on SIGHUP, failed-login delays, disconnect and per-IP refusal, STLS injection on POP3, and a
# full SCRAM-SHA-256 login (RFC 5802/7677) with a client written here from the RFC.
import base64
import hashlib
import hmac
import os
import secrets
import signal
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, tls_context  # noqa: E402

PASSWORD = "s3cret-pw"



def cert_fingerprint(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with tls_context().wrap_socket(raw) as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


class Privileges(unittest.TestCase):
    @unittest.skipUnless(os.geteuid() == 0, "privilege drop needs the tests to run as root (CI does)")
    def test_runs_unprivileged_with_private_data(self):
        srv = ternlib.Server(protos=("smtp",))
        self.addCleanup(srv.cleanup)
        srv.add_domain(DOMAIN)
        srv.add_user(f"alice@{DOMAIN}", PASSWORD)
        srv.start()
        with open(f"/proc/{srv.proc.pid}/status") as f:
            ids = {l.split(":")[0]: l.split()[1:] for l in f if l.startswith(("Uid", "Gid"))}
        self.assertTrue(all(int(x) != 0 for x in ids["Uid"]), ids)
        self.assertTrue(all(int(x) != 0 for x in ids["Gid"]), ids)
        st = os.stat(srv.data)
        self.assertNotEqual(st.st_uid, 0)
        # Passable but not listable (0711): local users reach the maildrop (`ternd sendmail`);
        # everything else in it is the server user's alone.
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o711)
        drop = os.stat(os.path.join(srv.data, "maildrop"))
        self.assertEqual(stat.S_IMODE(drop.st_mode), 0o1733)
        self.assertEqual(drop.st_uid, st.st_uid)
        for name in os.listdir(srv.data):
            if name != "maildrop":
                mode = stat.S_IMODE(os.lstat(os.path.join(srv.data, name)).st_mode)
                self.assertEqual(mode & 0o077, 0, f"{name} is {oct(mode)}: open to others")
        key = os.stat(os.path.join(srv.data, "tls", "key.pem"))
        self.assertEqual(stat.S_IMODE(key.st_mode), 0o600)
        self.assertEqual(key.st_uid, st.st_uid)
        for name in ("directory.db", "store.db"):
            self.assertEqual(os.stat(os.path.join(srv.data, name)).st_uid, st.st_uid, name)


class Tls(unittest.TestCase):
    def test_certificate_reload_on_sighup(self):
        srv = ternlib.Server(protos=("smtp", "submissions"))
        self.addCleanup(srv.cleanup)
        srv.start()
        before = cert_fingerprint(srv.port("submissions"))
        tls_dir = os.path.join(srv.data, "tls")
        owner = os.stat(tls_dir)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-subj", "/CN=reloaded.example.test", "-days", "2",
                        "-keyout", os.path.join(tls_dir, "key.pem.new"), "-out", os.path.join(tls_dir, "cert.pem.new")],
                       check=True, capture_output=True)
        for name in ("key.pem", "cert.pem"):
            os.chown(os.path.join(tls_dir, name + ".new"), owner.st_uid, owner.st_gid)
            os.rename(os.path.join(tls_dir, name + ".new"), os.path.join(tls_dir, name))
        srv.proc.send_signal(signal.SIGHUP)
        ternlib.wait_for(lambda: cert_fingerprint(srv.port("submissions")) != before, timeout=10,
                         what="the new certificate to be served")
        self.assertIn("TLS certificate reloaded", srv.log_text())
        self.assertTrue(srv.running())

    def test_tls_1_1_is_refused(self):
        srv = ternlib.Server(protos=("smtp", "submissions"))
        self.addCleanup(srv.cleanup)
        srv.start()
        ctx = tls_context()
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        try:
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        with socket.create_connection(("127.0.0.1", srv.port("submissions")), timeout=10) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
                with ctx.wrap_socket(raw) as tls:
                    tls.recv(100)

    def test_pop3_stls_injection_is_not_answered_inside_tls(self):
        srv = ternlib.Server(protos=("smtp", "pop3"))
        self.addCleanup(srv.cleanup)
        srv.start()
        raw = socket.create_connection(("127.0.0.1", srv.port("pop3")), timeout=10)
        f = raw.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        raw.sendall(b"STLS\r\nCAPA\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        tls = tls_context().wrap_socket(raw)
        tls.settimeout(1.5)
        try:
            leaked = tls.recv(4096)
        except socket.timeout:
            leaked = b""
        self.assertEqual(leaked, b"", "CAPA sent before the handshake was answered inside TLS")
        tls.settimeout(10)
        tls.sendall(b"CAPA\r\n")
        self.assertTrue(tls.recv(4096).startswith(b"+OK"))
        tls.close()


class FailedLogins(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(protos=("smtp", "submissions"), config="[auth]\nfailures_per_ip = 4\n")
        cls.srv.add_domain(DOMAIN)
        cls.srv.add_user(f"alice@{DOMAIN}", PASSWORD)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def connect(self):
        s = smtplib.SMTP_SSL("127.0.0.1", self.srv.port("submissions"), timeout=60, context=tls_context())
        s.ehlo()
        return s

    def test_delays_disconnect_then_ip_refused(self):
        s = self.connect()
        timings = []
        for _ in range(2):
            started = time.monotonic()
            code, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(f"\0alice@{DOMAIN}\0wrong".encode()).decode())
            timings.append(time.monotonic() - started)
            self.assertEqual(code, 535)
        self.assertGreaterEqual(timings[0], 0.9, "a failed login is answered after a delay")
        self.assertGreater(timings[1], timings[0], "the delay grows")
        code, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(f"\0alice@{DOMAIN}\0wrong".encode()).decode())
        self.assertEqual(code, 535)
        code, text = s.getreply()
        self.assertEqual(code, 421, text)   # third failure in the session: disconnect
        s.close()
        # Four failures from this IP within ten minutes: even the right password is refused,
        # with the same answer as a wrong one.
        s = self.connect()
        s.docmd("AUTH", "PLAIN " + base64.b64encode(f"\0alice@{DOMAIN}\0wrong".encode()).decode())
        code, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(f"\0alice@{DOMAIN}\0{PASSWORD}".encode()).decode())
        self.assertEqual(code, 535)
        s.close()


def scram_login(sock_file, send, user, password):
    """RFC 5802 §3 client side over SMTP AUTH; returns the final SMTP reply line."""
    def reply():
        return sock_file.readline().decode().rstrip("\r\n")
    cnonce = base64.b64encode(secrets.token_bytes(18)).decode()
    first_bare = f"n={user},r={cnonce}"
    send("AUTH SCRAM-SHA-256 " + base64.b64encode(("n,," + first_bare).encode()).decode())
    line = reply()
    assert line.startswith("334 "), line
    server_first = base64.b64decode(line[4:]).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert attrs["r"].startswith(cnonce)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    final_no_proof = f"c=biws,r={attrs['r']}"
    auth_message = f"{first_bare},{server_first},{final_no_proof}".encode()
    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    send(base64.b64encode(f"{final_no_proof},p={base64.b64encode(proof).decode()}".encode()).decode())
    line = reply()
    if not line.startswith("334 "):
        return line, None
    server_final = base64.b64decode(line[4:]).decode()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    expected = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha256).digest()).decode()
    send("")
    return reply(), server_final == f"v={expected}"


class Scram(unittest.TestCase):
    def test_scram_sha_256_login(self):
        srv = ternlib.Server(protos=("smtp", "submissions"))
        self.addCleanup(srv.cleanup)
        srv.add_domain(DOMAIN)
        srv.add_user(f"alice@{DOMAIN}", PASSWORD)
        srv.start()
        raw = socket.create_connection(("127.0.0.1", srv.port("submissions")), timeout=30)
        tls = tls_context().wrap_socket(raw)
        f = tls.makefile("rb")
        send = lambda line: tls.sendall(line.encode() + b"\r\n")  # noqa: E731
        self.assertTrue(f.readline().startswith(b"220 "))
        send("EHLO scram.test")
        while True:
            line = f.readline()
            if line.startswith(b"250 "):
                break
        final, server_ok = scram_login(f, send, f"alice@{DOMAIN}", PASSWORD)
        self.assertTrue(final.startswith("235 "), final)
        self.assertTrue(server_ok, "the server proved it knows the password (ServerSignature)")
        tls.close()
        raw = socket.create_connection(("127.0.0.1", srv.port("submissions")), timeout=30)
        tls = tls_context().wrap_socket(raw)
        f = tls.makefile("rb")
        send = lambda line: tls.sendall(line.encode() + b"\r\n")  # noqa: E731
        f.readline()
        send("EHLO scram.test")
        while not f.readline().startswith(b"250 "):
            pass
        final, _ = scram_login(f, send, f"alice@{DOMAIN}", "wrong password")
        self.assertTrue(final.startswith("535 "), final)
        tls.close()


if __name__ == "__main__":
    ternlib.main()
