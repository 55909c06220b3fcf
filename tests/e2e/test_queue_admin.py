#!/usr/bin/env python3
# `ternd queue list` and `ternd queue show` while the server runs: mail that cannot be delivered
# (an alias's copy for a remote member that the relay cannot reach) is listed with its sender, each
# recipient's state and last reply, and shown with its envelope and headers; delivered mail is not
# listed; a bad or unknown id is a clear error. Read-only: the server keeps running and delivering.
import os
import re
import smtplib
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402


class QueueAdmin(unittest.TestCase):
    def test_list_and_show_while_serving(self):
        dead_dns = ternlib.free_ports(1)[0]   # nothing answers there: the remote route stays temporary
        srv = ternlib.Server(protos=("smtp",), trace=False, extra_args=["--resolver", f"127.0.0.1:{dead_dns}"])
        self.addCleanup(srv.cleanup)
        srv.add_domain(DOMAIN)
        srv.add_user(f"alice@{DOMAIN}")
        srv.add_alias(f"team@{DOMAIN}", f"alice@{DOMAIN}", "bob@remote.example")
        srv.start()
        with smtplib.SMTP("127.0.0.1", srv.port("smtp"), timeout=10) as s:
            s.sendmail("carol@client.example", [f"team@{DOMAIN}"],
                       b"From: carol@client.example\r\nSubject: for the team\r\n\r\nhello\r\n")
            s.sendmail("dave@client.example", [f"alice@{DOMAIN}"],
                       b"From: dave@client.example\r\nSubject: just alice\r\n\r\nhi\r\n")
        srv.wait_count(f"alice@{DOMAIN}", 2)

        def deferred():
            out = srv.admin("queue", "list").stdout.decode()
            return out if "deferred" in out else None
        out = ternlib.wait_for(deferred, timeout=20, what="the alias's message to show as deferred")
        self.assertRegex(out, r"(?m)^[0-9A-F]{16}  \S+  \d+  <carol@client\.example>$")
        # The alias delivered to alice and queued a copy for its remote member.
        self.assertIn("bob@remote.example  (deferred, 1 attempt, next in", out)
        self.assertRegex(out, r"bob@remote\.example  \(deferred[^)]*\)  4\d\d 4\.\d+\.\d+ ")
        self.assertNotIn(f"team@{DOMAIN}", out, "the alias recipient itself is delivered")
        self.assertNotIn("dave@client.example", out, "delivered mail is not listed")
        self.assertIn("-- 1 message, 1 recipient waiting,", out)

        qid = re.search(r"(?m)^([0-9A-F]{16}) ", out).group(1)
        show = srv.admin("queue", "show", qid).stdout.decode()
        self.assertIn(f"id: {qid}\n", show)
        self.assertIn("sender: <carol@client.example>\n", show)
        self.assertIn("recipient: bob@remote.example (deferred", show)
        self.assertIn("Subject: for the team", show)
        self.assertIn("Received: from", show)
        self.assertNotIn("hello", show, "headers only, not the body")

        bad = srv.admin("queue", "show", "not-an-id", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn(b"not a queue id", bad.stderr)
        gone = srv.admin("queue", "show", "0000000000000001", check=False)
        self.assertEqual(gone.returncode, 1)
        self.assertIn(b"no message 0000000000000001", gone.stderr)
        self.assertTrue(srv.running())


if __name__ == "__main__":
    ternlib.main()
