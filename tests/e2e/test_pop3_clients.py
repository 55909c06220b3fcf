#!/usr/bin/env python3
# POP3 against a real ternd with real clients (RFC 1939, 2449, 2595, 8314): Python's poplib over
# STLS and pop3s, APOP, TOP, UIDL stability across sessions and restarts, maildrop lock
# contention, DELE without QUIT, and fetchmail downloading with and without `keep` into an MDA.
import os
import poplib
import re
import smtplib
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, tls_context  # noqa: E402

PASSWORD = "pop-secret-pw"
APOP_SECRET = "tanstaaf"



class Pop3(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(protos=("smtp", "pop3", "pop3s"))
        cls.srv.add_domain(DOMAIN)
        for user in ("alice", "bob", "carol", "dave"):
            cls.srv.add_user(f"{user}@{DOMAIN}", PASSWORD)
        cls.srv.admin("user", "apop-secret", f"alice@{DOMAIN}", input=(APOP_SECRET + "\n").encode())
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def deliver(self, user, count, tag):
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), timeout=10) as s:
            for i in range(count):
                body = f"Subject: {tag}-{i}\r\n\r\nline one\r\n.starts with a dot\r\nline three\r\n"
                s.sendmail("sender@remote.example", [f"{user}@{DOMAIN}"], body)
        self.srv.wait_count(f"{user}@{DOMAIN}", count)

    def pop3_disconnects(self):
        return len(re.findall(r"pop3\[[0-9A-F]+\] disconnect", self.srv.log_text()))

    def stls_login(self, user):
        p = poplib.POP3("127.0.0.1", self.srv.port("pop3"), timeout=10)
        p.stls(context=tls_context())
        p.user(f"{user}@{DOMAIN}")
        p.pass_(PASSWORD)
        return p

    def test_stls_stat_list_retr_top_uidl(self):
        self.deliver("bob", 3, "bobmail")
        p = poplib.POP3("127.0.0.1", self.srv.port("pop3"), timeout=10)
        caps = p.capa()
        self.assertIn("STLS", caps)
        self.assertNotIn("USER", caps, "no plaintext login advertised before TLS")
        with self.assertRaises(poplib.error_proto):
            p.user(f"bob@{DOMAIN}")
        p.stls(context=tls_context())
        self.assertIn("USER", p.capa())
        p.user(f"bob@{DOMAIN}")
        p.pass_(PASSWORD)
        count, size = p.stat()
        self.assertEqual(count, 3)
        listing = p.list()[1]
        self.assertEqual(len(listing), 3)
        self.assertEqual(sum(int(l.split()[1]) for l in listing), size)
        resp, lines, octets = p.retr(2)
        self.assertIn(b"Subject: bobmail-1", lines)
        self.assertIn(b".starts with a dot", lines)   # byte-stuffing undone by poplib
        resp, top_lines, _ = p.top(1, 0)
        self.assertIn(b"Subject: bobmail-0", top_lines)
        self.assertNotIn(b"line one", top_lines)
        uidls = p.uidl()[1]
        p.quit()
        p2 = self.stls_login("bob")
        self.assertEqual(p2.uidl()[1], uidls, "UIDL stable across sessions")
        p2.quit()

    def test_pop3s_apop_and_dele(self):
        self.deliver("alice", 2, "alicemail")
        p = poplib.POP3_SSL("127.0.0.1", self.srv.port("pop3s"), timeout=10, context=tls_context())
        p.apop(f"alice@{DOMAIN}", APOP_SECRET)
        self.assertEqual(p.stat()[0], 2)
        p.dele(1)
        # Dropping the connection without QUIT deletes nothing (RFC 1939 §6). The maildrop lock is
        # released when the server sees the drop; wait for that rather than racing it (a login in
        # between rightly gets -ERR [IN-USE]).
        dropped = self.pop3_disconnects()
        p.close()   # closes the socket without QUIT
        ternlib.wait_for(lambda: self.pop3_disconnects() > dropped, what="the server to see the drop")
        p = poplib.POP3_SSL("127.0.0.1", self.srv.port("pop3s"), timeout=10, context=tls_context())
        p.apop(f"alice@{DOMAIN}", APOP_SECRET)
        self.assertEqual(p.stat()[0], 2)
        p.dele(1)
        p.quit()
        self.assertEqual(self.srv.count(f"alice@{DOMAIN}"), 1)
        p = poplib.POP3_SSL("127.0.0.1", self.srv.port("pop3s"), timeout=10, context=tls_context())
        with self.assertRaises(poplib.error_proto):
            p.apop(f"alice@{DOMAIN}", "wrong-secret")
        p.close()

    def test_lock_contention_and_mail_arriving_meanwhile(self):
        self.deliver("carol", 1, "carolmail")
        first = self.stls_login("carol")
        second = poplib.POP3("127.0.0.1", self.srv.port("pop3"), timeout=10)
        second.stls(context=tls_context())
        second.user(f"carol@{DOMAIN}")
        with self.assertRaises(poplib.error_proto) as e:
            second.pass_(PASSWORD)
        self.assertIn(b"[IN-USE]", e.exception.args[0])
        second.close()
        # Mail delivered while the maildrop is locked is stored and shown next time.
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), timeout=10) as s:
            s.sendmail("x@remote.example", [f"carol@{DOMAIN}"], "Subject: meanwhile\r\n\r\nx\r\n")
        self.srv.wait_count(f"carol@{DOMAIN}", 2)
        self.assertEqual(first.stat()[0], 1, "the session's snapshot is fixed")
        first.quit()
        again = self.stls_login("carol")
        self.assertEqual(again.stat()[0], 2)
        again.quit()

    def fetchmail(self, user, keep, tmp):
        out = os.path.join(tmp, "delivered.txt")
        rc = os.path.join(tmp, "fetchmailrc")
        with open(rc, "w") as f:
            f.write(f'set no bouncemail\n'
                    f'poll mx.example.test via 127.0.0.1 with protocol POP3 port {self.srv.port("pop3s")} uidl\n'
                    f'  user "{user}@{DOMAIN}" there with password "{PASSWORD}" is root here\n'
                    # Verify the server's self-signed certificate for real, as a user would pin it.
                    f'  ssl sslcertck sslcertfile "{self.cert}" sslcommonname "mx.example.test" {"keep" if keep else "nokeep"}\n'
                    f'  mda "cat >> {out}"\n')
        os.chmod(rc, 0o600)
        env = dict(os.environ, FETCHMAILHOME=tmp, HOME=tmp)
        r = subprocess.run(["fetchmail", "-f", rc, "--nodetach", "--nosyslog", "-d0", "-v"], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertIn(r.returncode, (0,), r.stdout + r.stderr)
        with open(out) as f:
            return f.read()

    def test_fetchmail_keep_and_nokeep(self):
        self.deliver("dave", 3, "davemail")
        self.cert = os.path.join(self.srv.data, "tls", "cert.pem")
        with tempfile.TemporaryDirectory() as tmp:
            got = self.fetchmail("dave", True, tmp)
            for i in range(3):
                self.assertIn(f"Subject: davemail-{i}", got)
        self.assertEqual(self.srv.count(f"dave@{DOMAIN}"), 3, "keep leaves the mail on the server")
        with tempfile.TemporaryDirectory() as tmp:
            got = self.fetchmail("dave", False, tmp)
            self.assertEqual(got.count("Subject: davemail-"), 3)
        self.assertEqual(self.srv.count(f"dave@{DOMAIN}"), 0, "without keep the mail is deleted")


class Pop3Restart(unittest.TestCase):
    def test_uidl_stable_across_restart(self):
        srv = ternlib.Server(protos=("smtp", "pop3s"))
        self.addCleanup(srv.cleanup)
        srv.add_domain(DOMAIN)
        srv.add_user(f"erin@{DOMAIN}", PASSWORD)
        srv.start()
        with smtplib.SMTP("127.0.0.1", srv.port("smtp"), timeout=10) as s:
            s.sendmail("x@remote.example", [f"erin@{DOMAIN}"], "Subject: one\r\n\r\nx\r\n")
        srv.wait_count(f"erin@{DOMAIN}", 1)

        def uidl():
            p = poplib.POP3_SSL("127.0.0.1", srv.port("pop3s"), timeout=10, context=tls_context())
            p.user(f"erin@{DOMAIN}")
            p.pass_(PASSWORD)
            u = p.uidl()[1]
            p.quit()
            return u
        before = uidl()
        self.assertEqual(srv.stop(), 0)
        srv.start()
        self.assertEqual(uidl(), before)


if __name__ == "__main__":
    ternlib.main()
