#!/usr/bin/env python3
# `ternd queue retry|hold|release|delete` while the server runs (through <data>/control.sock) and
# while it is stopped (the command edits the spool under ternd.lock): a held recipient is listed
# "on hold" and not tried, release and retry make it due at once, delete removes the message
# without a bounce, an unknown id is an error, and a state set while stopped survives the start.
# The copy for the alias's remote member stays deferred (a dead resolver: routes stay temporary).
import fcntl
import os
import re
import smtplib
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

ALICE = f"alice@{DOMAIN}"


def attempts(listing):
    m = re.search(r"bob@remote\.example  \((\w[\w ]*), (\d+) attempts?", listing)
    return (m.group(1), int(m.group(2))) if m else None


class QueueControl(unittest.TestCase):
    def setUp(self):
        dead_dns = ternlib.free_ports(1)[0]   # nothing answers there: remote routes stay temporary
        self.srv = ternlib.Server(protos=("smtp",), trace=False,
                                  extra_args=["--resolver", f"127.0.0.1:{dead_dns}"])
        self.addCleanup(self.srv.cleanup)
        self.srv.add_domain(DOMAIN)
        self.srv.add_user(ALICE)
        self.srv.add_alias(f"team@{DOMAIN}", ALICE, "bob@remote.example")
        self.srv.start()
        # From alice, so a bounce would land in her own mailbox, where we can see that none does.
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), timeout=10) as s:
            s.sendmail(ALICE, [f"team@{DOMAIN}"], b"From: " + ALICE.encode() + b"\r\nSubject: q\r\n\r\nhello\r\n")
        self.srv.wait_count(ALICE, 1)
        out = ternlib.wait_for(lambda: (lambda o: o if "deferred" in o else None)(self.list()),
                               what="the remote member to be deferred", timeout=60)
        self.qid = re.search(r"(?m)^([0-9A-F]{16}) ", out).group(1)
        self.assertEqual(attempts(out), ("deferred", 1))

    def list(self):
        return self.srv.admin("queue", "list").stdout.decode()

    def q(self, *args, check=True):
        p = self.srv.admin("queue", *args, check=check)
        return p.returncode, p.stdout.decode() + p.stderr.decode()

    def test_while_running(self):
        srv, qid = self.srv, self.qid
        rc, out = self.q("hold", qid)
        self.assertEqual(out, f"ternd: {qid}: held (1 recipient)\n")
        self.assertEqual(attempts(self.list()), ("on hold", 1))
        # A held recipient is not tried, even when the whole queue is retried.
        rc, out = self.q("retry", "--all")
        self.assertEqual(out, "ternd: due now: 0 messages\n")
        self.assertEqual(attempts(self.list()), ("on hold", 1))
        rc, out = self.q("retry", qid)
        self.assertIn("nothing to change", out)

        # Released: due at once, so tried again (a second attempt, deferred again).
        rc, out = self.q("release", qid)
        self.assertEqual(out, f"ternd: {qid}: released (1 recipient)\n")
        ternlib.wait_for(lambda: attempts(self.list()) == ("deferred", 2), what="a second attempt after release", timeout=60)
        # Retry: deferred for minutes, tried now.
        self.assertRegex(self.list(), r"next in \d+m")
        rc, out = self.q("retry", qid)
        self.assertEqual(out, f"ternd: {qid}: due now (1 recipient)\n")
        ternlib.wait_for(lambda: attempts(self.list()) == ("deferred", 3), what="a third attempt after retry", timeout=60)

        rc, out = self.q("hold", "0000000000000001", check=False)
        self.assertEqual(rc, 1)
        self.assertIn("no message 0000000000000001", out)
        rc, out = self.q("hold", "nonsense", check=False)
        self.assertEqual(rc, 1)
        self.assertIn("not a queue id", out)

        rc, out = self.q("delete", qid)
        self.assertEqual(out, f"ternd: {qid}: deleted (1 recipient)\n")
        self.assertIn("-- 0 messages, 0 recipients waiting", self.list())
        self.assertEqual(srv.settle_count(ALICE), 1, "no bounce for a deleted message")
        self.assertIn("-- 0 messages", self.list())
        rc, out = self.q("release", qid, check=False)
        self.assertEqual(rc, 1)
        self.assertTrue(srv.running())

    def test_while_stopped(self):
        srv, qid = self.srv, self.qid
        self.assertEqual(srv.stop(), 0)
        self.assertFalse(os.path.exists(os.path.join(srv.data, "control.sock")), "removed at shutdown")
        rc, out = self.q("hold", qid)
        self.assertEqual(out, f"ternd: {qid}: held (1 recipient)\n")
        self.assertEqual(attempts(self.list()), ("on hold", 1))
        rc, out = self.q("hold", "0000000000000001", check=False)
        self.assertEqual(rc, 1)
        self.assertIn("no message 0000000000000001", out)

        # The state survives the start: not tried, still held; then released through the socket.
        srv.start()
        self.assertEqual(attempts(self.list()), ("on hold", 1))
        rc, out = self.q("release", qid)
        self.assertEqual(out, f"ternd: {qid}: released (1 recipient)\n")
        ternlib.wait_for(lambda: attempts(self.list()) == ("deferred", 2), what="an attempt after release", timeout=60)

        # Killed (no clean shutdown): the stale socket is replaced at the next start.
        srv.kill9()
        self.assertTrue(os.path.exists(os.path.join(srv.data, "control.sock")))
        rc, out = self.q("delete", qid)
        self.assertEqual(out, f"ternd: {qid}: deleted (1 recipient)\n")
        srv.start()
        self.assertIn("-- 0 messages", self.list())
        self.assertEqual(srv.settle_count(ALICE), 1, "no bounce for a deleted message")
        rc, out = self.q("retry", "--all")
        self.assertEqual(out, "ternd: due now: 0 messages\n")

    def test_lock_held_but_no_socket(self):
        srv = self.srv
        srv.stop()
        # Something holds ternd.lock but nobody answers on the socket: said plainly, nothing changed.
        with open(os.path.join(srv.data, "ternd.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            rc, out = self.q("hold", self.qid, check=False)
        self.assertEqual(rc, 1)
        self.assertIn("does not answer", out)
        self.assertIn("nothing was changed", out)
        self.assertEqual(attempts(self.list()), ("deferred", 1))


if __name__ == "__main__":
    ternlib.main()
