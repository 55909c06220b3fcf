#!/usr/bin/env python3
# `ternd sendmail`, the interface cron and scripts use: the message on stdin is written durably to
# <data>/maildrop and the running server's pickup queues it. Covers a cron-like submission (the
# Received: "from local user" line, Date:/Message-ID:/From: added, the lone "." rule), -t with
# Bcc: removed and -f, a submission while the server is stopped (exit 0, delivered after start),
# kill -9 around pickup (nothing lost), a file that is not a maildrop file (moved to bad/), the
# size limit, a non-root local user, and the sendmail/mailq links of `ternd setup`.
import os
import pwd
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
HOST = "mx.example.test"


class Sendmail(unittest.TestCase):
    def make(self, config=None):
        dead_dns = ternlib.free_ports(1)[0]   # nothing answers there: remote mail stays deferred
        srv = ternlib.Server(protos=("smtp",), trace=False, hostname=HOST, config=config,
                             extra_args=["--resolver", f"127.0.0.1:{dead_dns}"])
        self.addCleanup(srv.cleanup)
        srv.add_domain(DOMAIN)
        srv.add_user(ALICE)
        srv.add_user(BOB)
        return srv

    def sendmail(self, srv, *args, input=b"", env=None, prefix=(), check=True):
        cmd = list(prefix) + [ternlib.TERND, "--data", srv.data, "sendmail"] + list(args)
        p = subprocess.run(cmd, input=input, capture_output=True, timeout=30, env=env)
        if check and p.returncode != 0:
            self.fail(f"{cmd} -> {p.returncode}: {p.stderr!r}")
        return p

    def maildrop(self, srv):
        d = os.path.join(srv.data, "maildrop")
        return sorted(n for n in os.listdir(d) if n != "bad")

    def test_cron_like_submission(self):
        srv = self.make()
        srv.start()
        me = pwd.getpwuid(os.getuid()).pw_name
        msg = b"Subject: cron output\n\nline one\n..two dots stay\n.\nnot part of the message\n"
        self.sendmail(srv, ALICE, input=msg)
        m = srv.wait_message_with(ALICE, "cron output")
        self.assertRegex(m, rb"^Return-Path: <" + me.encode() + rb"@mx\.example\.test>\n")
        received = ternlib.header(m, "Received")
        self.assertRegex(received, rf"^from local user {me} \(uid {os.getuid()}\) by {HOST} \(Tern\) "
                                   r"with local id [0-9a-f]{32}; \w{3}, ")
        self.assertIsNotNone(ternlib.header(m, "Date"))
        self.assertRegex(ternlib.header(m, "Message-ID"), rf"^<[0-9a-f]{{32}}@{HOST}>$")
        self.assertIn(f"{me}@{HOST}", ternlib.header(m, "From"))
        self.assertEqual(ternlib.body(m), b"line one\n..two dots stay\n")
        self.assertEqual(self.maildrop(srv), [], "the file is removed once queued")
        self.assertIn("maildrop: ", srv.log_text())

        # -i: a lone "." is text; CRLF input is kept as CRLF lines.
        self.sendmail(srv, "-i", ALICE, input=b"Subject: with -i\r\n\r\na\r\n.\r\nb\r\n")
        m = srv.wait_message_with(ALICE, "with -i")
        self.assertEqual(ternlib.body(m), b"a\n.\nb\n")

    def test_extract_recipients_and_sender(self):
        srv = self.make()
        srv.start()
        msg = (f"From: Cron <cron@{DOMAIN}>\nTo: {ALICE}\nBcc: {BOB}\nSubject: report\n"
               "Message-ID: <fixed@example.test>\n\nbody\n").encode()
        self.sendmail(srv, "-t", "-oi", "-f", f"cron@{DOMAIN}", input=msg)
        for who in (ALICE, BOB):
            m = srv.wait_message_with(who, "report")
            self.assertNotIn(b"Bcc", m, "Bcc: is removed")
            self.assertIn(f"Return-Path: <cron@{DOMAIN}>".encode(), m)
            self.assertEqual(ternlib.header(m, "Message-ID"), "<fixed@example.test>")
            self.assertEqual(ternlib.header(m, "From"), f"Cron <cron@{DOMAIN}>")
        # -t with nobody to send to is refused at once (EX_DATAERR), nothing is left behind.
        p = self.sendmail(srv, "-t", input=b"Subject: nobody\n\nx\n", check=False)
        self.assertEqual(p.returncode, 65, p.stderr)
        self.assertIn(b"no recipient", p.stderr)
        p = self.sendmail(srv, input=b"x\n", check=False)
        self.assertEqual(p.returncode, 64, p.stderr)
        p = self.sendmail(srv, "-q", check=False)
        self.assertEqual(p.returncode, 64, p.stderr)
        p = self.sendmail(srv, "bad@@address", input=b"x\n", check=False)
        self.assertEqual(p.returncode, 64, p.stderr)
        self.assertEqual(self.maildrop(srv), [])

    def test_server_stopped_then_started(self):
        srv = self.make()
        srv.start()
        srv.stop()
        p = self.sendmail(srv, ALICE, input=b"Subject: while stopped\n\nwaiting\n")
        self.assertEqual(p.returncode, 0)
        files = self.maildrop(srv)
        self.assertEqual(len(files), 1)
        self.assertRegex(files[0], r"^[0-9a-f]{32}\.msg$")
        self.assertEqual(srv.count(ALICE), 0)
        srv.start()
        srv.wait_message_with(ALICE, "while stopped")
        ternlib.wait_for(lambda: self.maildrop(srv) == [], what="the maildrop to empty")

    def test_kill9_around_pickup_loses_nothing(self):
        srv = self.make()
        srv.start()
        srv.stop()
        n = 30
        for i in range(n):
            self.sendmail(srv, ALICE, input=f"Subject: burst {i}\n\nmessage {i}\n".encode())
        # A large one too, so the pickup is busy for a while (its copy into the spool).
        big = b"Subject: burst big\n\n" + (b"x" * 76 + b"\n") * 60000
        self.sendmail(srv, ALICE, input=big)
        self.assertEqual(len(self.maildrop(srv)), n + 1)
        for _ in range(3):   # killed while it picks up, several times
            if not self.maildrop(srv):
                break  # an earlier start picked everything up before its kill: nothing to interrupt
            srv.start()
            ternlib.wait_for(lambda: "maildrop: " in srv.log_text().split("===== start #")[-1]
                             or not self.maildrop(srv),
                             what="the pickup to begin", interval=0.005)
            srv.kill9()
        srv.start()
        ternlib.wait_for(lambda: self.maildrop(srv) == [], what="the maildrop to empty")
        want = {f"burst {i}" for i in range(n)} | {"burst big"}

        def subjects():
            return {ternlib.header(m, "Subject") for _, m in ternlib.parse_mbox(srv.export_mbox(ALICE))}
        # Wait for every distinct message, not for a count: a kill may leave a duplicate (at most
        # one per kill), which can bring the count to n + 1 while one message is still queued.
        try:
            ternlib.wait_for(lambda: subjects() >= want, timeout=30, what="every message to arrive")
        except AssertionError:
            pass  # the assertion below says which are missing
        got = ternlib.parse_mbox(srv.export_mbox(ALICE))
        self.assertEqual(subjects(), want, "every message arrived")
        self.assertLessEqual(len(got), n + 1 + 3, "at most one duplicate per kill")

    def test_bad_file_is_set_aside(self):
        srv = self.make()
        srv.start()
        bad = os.path.join(srv.data, "maildrop", "0" * 32 + ".msg")
        with open(bad, "wb") as f:
            f.write(b"From: not a maildrop file\n\nhello\n")
        ternlib.wait_for(lambda: os.path.exists(os.path.join(srv.data, "maildrop", "bad", "0" * 32 + ".msg")),
                         what="the bad file to be moved to bad/")
        self.assertIn("moved to", srv.log_text())
        self.assertIn("not a Tern maildrop file", srv.log_text())
        # The pickup goes on with the next one.
        self.sendmail(srv, ALICE, input=b"Subject: after the bad one\n\nok\n")
        srv.wait_message_with(ALICE, "after the bad one")

    def test_size_limit(self):
        srv = self.make(config="[limits]\nmessage_size = 2048\n")
        config = srv.config_path
        p = self.sendmail(srv, "-C", config, ALICE, input=b"Subject: big\n\n" + b"y" * 4000 + b"\n", check=False)
        self.assertEqual(p.returncode, 65, p.stderr)
        self.assertIn(b"limits.message_size", p.stderr)
        self.assertEqual(self.maildrop(srv), [], "no file left behind")
        srv.start()
        self.sendmail(srv, "-C", config, ALICE, input=b"Subject: small\n\nfits\n")
        srv.wait_message_with(ALICE, "small")

    @unittest.skipUnless(os.geteuid() == 0, "switching to another local user needs root")
    def test_local_user_and_links(self):
        srv = self.make()
        srv.start()
        # A local user with no rights on the data directory: the maildrop (1733) takes the file,
        # and the Received: line names that user, as the kernel says (the file's owner).
        nobody = pwd.getpwnam("nobody")
        drop = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
        self.sendmail(srv, ALICE, input=b"Subject: from nobody\n\nhi\n", prefix=drop)
        m = srv.wait_message_with(ALICE, "from nobody")
        self.assertRegex(ternlib.header(m, "Received"), rf"^from local user nobody \(uid {nobody.pw_uid}\) ")
        self.assertIn(f"Return-Path: <nobody@{HOST}>".encode(), m)
        listing = subprocess.run(drop + ["ls", os.path.join(srv.data, "maildrop")], capture_output=True)
        self.assertNotEqual(listing.returncode, 0, "a local user cannot list the maildrop")
        self.assertNotEqual(subprocess.run(drop + ["ls", srv.data], capture_output=True).returncode, 0)

        # `ternd setup --link-sendmail`: sendmail and mailq links that find the data directory
        # through the configuration file it writes.
        prefix = os.path.join(srv.tmp, "root")
        out = srv.admin("setup", "--user", ternlib.RUN_AS, "--link-sendmail", "--link-prefix", prefix)
        self.assertIn(b"linked", out.stdout)
        sendmail = os.path.join(prefix, "usr", "sbin", "sendmail")
        self.assertEqual(os.path.realpath(sendmail), os.path.realpath(ternlib.TERND))
        env = dict(os.environ, TERN_CONFIG=os.path.join(prefix, "etc", "tern", "ternd.toml"))
        p = subprocess.run([sendmail, "-oi", ALICE], input=b"Subject: via the link\n\nhi\n", capture_output=True,
                           env=env, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        srv.wait_message_with(ALICE, "via the link")
        srv.stop()
        subprocess.run([sendmail, ALICE], input=b"Subject: queued\n\nx\n", env=env, check=True, timeout=30)
        srv.admin("alias", "add", f"far@{DOMAIN}", "someone@remote.example")
        subprocess.run([sendmail, f"far@{DOMAIN}"], input=b"Subject: far\n\nx\n", env=env, check=True, timeout=30)
        srv.start()
        mailq = os.path.join(prefix, "usr", "bin", "mailq")
        listing = ternlib.wait_for(
            lambda: (lambda o: o if "deferred" in o else None)(
                subprocess.run([mailq], capture_output=True, env=env, timeout=30).stdout.decode()),
            what="mailq to list the deferred message", timeout=60)
        self.assertRegex(listing, rf"(?m)^[0-9A-F]{{16}}  \S+  \d+  <root@{re.escape(HOST)}>$")
        # Without a configuration file the links do not guess a data directory.
        p = subprocess.run([sendmail, ALICE], input=b"x\n", capture_output=True, timeout=30,
                           env=dict(os.environ, TERN_CONFIG=os.path.join(srv.tmp, "missing.toml")))
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn(b"no data directory", p.stderr)


if __name__ == "__main__":
    ternlib.main()
