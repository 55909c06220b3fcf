#!/usr/bin/env python3
# Two ternd instances, a.test on 127.0.0.2 and b.test on 127.0.0.3 (one port P on both: relay.port),
# with a private dnsmasq serving their MX records (issue 8): mail from one domain reaches the other;
# a 550 at the far end gives the sender a DSN; with the far MX down the mail stays queued (`queue
# list` shows it) and arrives once after the MX is back and `queue retry`. Skipped, with the
# reason, only while this ternd build has no relay. Deadline-bounded waits only.
import email
import email.policy
import os
import smtplib
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from dnslib import Dnsmasq  # noqa: E402
from fakemx import port_free_on  # noqa: E402

PASSWORD = "two ternd pw"
ALICE, BOB = "alice@a.test", "bob@b.test"


class TwoTernd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = ternlib.relay_missing()
        if reason:
            raise unittest.SkipTest(reason)
        port = port_free_on("127.0.0.2", "127.0.0.3")
        cls.dns = Dnsmasq(mx={"a.test": [("mx.a.test", 10)], "b.test": [("mx.b.test", 10)]},
                          hosts={"mx.a.test": ["127.0.0.2"], "mx.b.test": ["127.0.0.3"]}).start()
        config = ("[auth]\nallow_plaintext = true\n"
                  f'[dns]\nresolver = "{cls.dns.resolver}"\n'
                  f"[relay]\nport = {port}\nipv4_only = true\nconnect_timeout = 5\n")
        cls.a = ternlib.Server(protos=("smtp", "submission"), config=config, hostname="mx.a.test",
                               host="127.0.0.2", ports={"smtp": port})
        cls.b = ternlib.Server(protos=("smtp", "submission"), config=config, hostname="mx.b.test",
                               host="127.0.0.3", ports={"smtp": port})
        cls.a.add_domain("a.test")
        cls.a.add_user(ALICE, PASSWORD)
        cls.b.add_domain("b.test")
        cls.b.add_user(BOB, PASSWORD)
        cls.a.start()
        cls.b.start()

    @classmethod
    def tearDownClass(cls):
        cls.a.stop()
        cls.b.stop()
        cls.dns.cleanup()

    def send(self, rcpt, token):
        data = (f"From: {ALICE}\r\nTo: {rcpt}\r\nSubject: two {token}\r\n\r\n"
                f"hello {token}\r\n.leading dot\r\n").encode()
        with smtplib.SMTP(self.a.host, self.a.port("submission"), timeout=10) as c:
            c.login(ALICE, PASSWORD)
            self.assertEqual(c.sendmail(ALICE, [rcpt], data), {})

    def test_mail_reaches_the_other_domain(self):
        token = uuid.uuid4().hex[:12]
        self.send(BOB, token)
        msg = self.b.wait_message_with(BOB, f"two {token}", timeout=30)
        self.assertEqual(ternlib.header(msg, "Return-Path"), f"<{ALICE}>")
        self.assertTrue(ternlib.body(msg).endswith(f"hello {token}\n.leading dot\n".encode()))
        self.assertIn(b"by mx.b.test (Tern)", msg)
        self.assertIn(b"by mx.a.test (Tern)", msg)
        self.assertEqual(len(self.b.messages_with(BOB, f"two {token}")), 1)

    def test_550_at_the_far_end_gives_the_sender_a_dsn(self):
        token = uuid.uuid4().hex[:12]
        self.send("nobody@b.test", token)
        raw = self.a.wait_message_with(ALICE, f"two {token}", timeout=30)
        self.assertEqual(ternlib.header(raw, "Return-Path"), "<>")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        [status] = [p for p in msg.iter_parts() if p.get_content_type() == "message/delivery-status"]
        groups = [g for g in status.get_payload()[1:] if "nobody@b.test" in str(g["Final-Recipient"])]
        self.assertEqual(len(groups), 1)
        self.assertEqual(str(groups[0]["Action"]).strip(), "failed")
        self.assertTrue(str(groups[0]["Status"]).strip().startswith("5."))
        self.assertIn("smtp; 550", " ".join(str(groups[0]["Diagnostic-Code"]).split()))

    def test_unreachable_mx_keeps_mail_queued_until_retry(self):
        if "retry" not in self.a.admin("queue", "--help").stdout.decode():
            self.skipTest("`ternd queue retry` not in this build")
        token = uuid.uuid4().hex[:12]
        self.b.stop()
        try:
            self.send(BOB, token)

            def queued():
                out = self.a.admin("queue", "list").stdout.decode()
                return out if BOB in out and "deferred" in out else None
            ternlib.wait_for(queued, timeout=30, what=f"{BOB} deferred in A's queue list")
        finally:
            self.b.start()
        self.a.admin("queue", "retry", "--all")
        self.b.wait_message_with(BOB, f"two {token}", timeout=30)
        ternlib.wait_for(lambda: BOB not in self.a.admin("queue", "list").stdout.decode(),
                         timeout=30, what="A's queue to let go of the delivered message")
        self.assertEqual(len(self.b.messages_with(BOB, f"two {token}")), 1)


if __name__ == "__main__":
    ternlib.main()
