#!/usr/bin/env python3
# Tern's relay against scripted fake MX hosts found through a private dnsmasq (issue 8): a 421
# greeting or a dead first MX -> the next MX; 550 at RCPT and 552 after DATA -> a DSN to the sender
# (multipart/report parsed back with the email package, field by field); 451 at RCPT and a close
# mid-DATA -> the mail stays queued and arrives once after `queue retry` (when the build has it).
# Skipped, with the reason, only while this ternd build has no relay. Deadline-bounded waits only.
import email
import email.policy
import os
import smtplib
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402
from dnslib import Dnsmasq  # noqa: E402
from fakemx import Behaviour, FakeMX, port_free_on  # noqa: E402

PASSWORD = "relay pw"
SENDER = f"alice@{DOMAIN}"
FAR = "far.test"


class Switch:
    """A per-connection script whose behaviour a test changes midway (e.g. 451, later 250)."""

    def __init__(self, behaviour):
        self.behaviour = behaviour

    def __call__(self, conn_index):
        return self.behaviour


class RelayThroughFakeMX(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = ternlib.relay_missing()
        if reason:
            raise unittest.SkipTest(reason)
        cls.port = port_free_on("127.0.0.2", "127.0.0.3")
        # far.test: mx1 (127.0.0.2) first, mx2 (127.0.0.3) second; dead.test: mx1 then a host
        # with no server at all.
        cls.mx1_script = Switch(Behaviour())
        cls.mx2_script = Switch(Behaviour())
        cls.mx1 = FakeMX(cls.mx1_script, host="127.0.0.2", port=cls.port).start()
        cls.mx2 = FakeMX(cls.mx2_script, host="127.0.0.3", port=cls.port).start()
        cls.dns = Dnsmasq(mx={FAR: [("mx1.far.test", 10), ("mx2.far.test", 20)],
                              "second.test": [("nothing.far.test", 10), ("mx2.far.test", 20)]},
                          hosts={"mx1.far.test": ["127.0.0.2"], "mx2.far.test": ["127.0.0.3"],
                                 "nothing.far.test": ["127.0.0.4"]}).start()
        config = ("[auth]\nallow_plaintext = true\n"
                  f'[dns]\nresolver = "{cls.dns.resolver}"\n'
                  f"[relay]\nport = {cls.port}\nipv4_only = true\nconnect_timeout = 5\n")
        cls.srv = ternlib.Server(protos=("smtp", "submission"), config=config)
        cls.srv.add_domain(DOMAIN)
        cls.srv.add_user(SENDER, PASSWORD)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.mx1.stop()
        cls.mx2.stop()
        cls.dns.cleanup()

    def setUp(self):
        self.mx1_script.behaviour = Behaviour()
        self.mx2_script.behaviour = Behaviour()

    def tearDown(self):
        self.assertEqual(self.mx1.errors + self.mx2.errors, [])

    def send(self, rcpts, token):
        data = (f"From: {SENDER}\r\nTo: {', '.join(rcpts)}\r\nSubject: relay {token}\r\n\r\n"
                f"body {token}\r\n.leading dot\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.srv.port("submission"), timeout=10) as c:
            c.login(SENDER, PASSWORD)
            self.assertEqual(c.sendmail(SENDER, rcpts, data), {})

    def arrived(self, mx, token, n=1, timeout=30.0):
        ternlib.wait_for(lambda: len([m for m in mx.accepted() if token.encode() in m.data]) >= n,
                         timeout=timeout, what=f"{n} message(s) {token} at {mx.address}")
        return [m for m in mx.accepted() if token.encode() in m.data]

    def dsn(self, token, timeout=30.0):
        """The DSN about message `token` in the sender's INBOX, parsed."""
        raw = self.srv.wait_message_with(SENDER, f"relay {token}", timeout=timeout)
        return raw, email.message_from_bytes(raw, policy=email.policy.default)

    def check_failure_dsn(self, token, rcpt, code):
        raw, msg = self.dsn(token)
        self.assertEqual(ternlib.header(raw, "Return-Path"), "<>", "a DSN is sent from <>")
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")   # RFC 3462
        parts = list(msg.iter_parts())
        self.assertEqual(parts[0].get_content_maintype(), "text")
        status = [p for p in parts if p.get_content_type() == "message/delivery-status"]
        self.assertEqual(len(status), 1)
        # RFC 3464 §2.2/§2.3: per-message fields, then one group per recipient.
        fields = status[0].get_payload()
        self.assertGreaterEqual(len(fields), 2, "per-message and per-recipient field groups")
        self.assertTrue(fields[0]["Reporting-MTA"].startswith("dns;"))
        groups = [g for g in fields[1:] if rcpt in str(g["Final-Recipient"])]
        self.assertEqual(len(groups), 1, [str(g) for g in fields])
        g = groups[0]
        self.assertEqual(str(g["Final-Recipient"]).replace(" ", "").lower(), f"rfc822;{rcpt}")
        self.assertEqual(str(g["Action"]).strip(), "failed")
        self.assertRegex(str(g["Status"]).strip(), r"^5\.\d{1,3}\.\d{1,3}$")
        self.assertIn(f"smtp; {code}", " ".join(str(g["Diagnostic-Code"]).split()))   # the remote reply
        return raw, fields

    def retry_all(self):
        if "retry" not in self.srv.admin("queue", "--help").stdout.decode():
            self.skipTest("`ternd queue retry` not in this build")
        self.srv.admin("queue", "retry", "--all")

    # -- next MX

    def test_421_greeting_moves_to_next_mx(self):
        self.mx1_script.behaviour = Behaviour(greeting=(421, "4.3.2 busy"))
        token = uuid.uuid4().hex[:12]
        c1 = self.mx1.connections
        self.send([f"user@{FAR}"], token)
        [m] = self.arrived(self.mx2, token)
        self.assertEqual(m.mail_from, SENDER)
        self.assertGreater(self.mx1.connections, c1, "the first MX was tried first")
        self.assertEqual([m for m in self.mx1.accepted() if token.encode() in m.data], [])

    def test_unreachable_first_mx_moves_to_next(self):
        token = uuid.uuid4().hex[:12]
        self.send(["user@second.test"], token)
        self.arrived(self.mx2, token)

    # -- permanent failures: a DSN

    def test_550_at_rcpt_bounces_that_recipient_only(self):
        self.mx1_script.behaviour = Behaviour(rcpt_replies={f"bad@{FAR}": (550, "5.1.1 no such user")})
        token = uuid.uuid4().hex[:12]
        self.send([f"good@{FAR}", f"bad@{FAR}"], token)
        [m] = self.arrived(self.mx1, token)
        self.assertEqual([r for r, _ in m.rcpts], [f"good@{FAR}"])
        _, fields = self.check_failure_dsn(token, f"bad@{FAR}", 550)
        self.assertEqual([g for g in fields[1:] if f"good@{FAR}" in str(g["Final-Recipient"])], [],
                         "the delivered recipient is not in the DSN")

    def test_552_after_data_bounces(self):
        self.mx1_script.behaviour = Behaviour(data_reply=(552, "5.3.4 message too big for us"))
        token = uuid.uuid4().hex[:12]
        self.send([f"user@{FAR}"], token)
        self.check_failure_dsn(token, f"user@{FAR}", 552)
        self.assertEqual(self.arrived_count(token), 0)

    def arrived_count(self, token):
        return len([m for mx in (self.mx1, self.mx2) for m in mx.accepted() if token.encode() in m.data])

    # -- temporary failures: stays queued, then arrives once

    def queued(self, rcpt, text):
        def look():
            out = self.srv.admin("queue", "list").stdout.decode()
            return out if rcpt in out and text in out else None
        return ternlib.wait_for(look, timeout=30, what=f"{rcpt} deferred with {text!r} in queue list")

    def test_451_at_rcpt_stays_queued_then_arrives_once(self):
        self.mx1_script.behaviour = Behaviour(rcpt=(451, "4.3.0 try again later"))
        self.mx2_script.behaviour = Behaviour(rcpt=(451, "4.3.0 try again later"))
        token = uuid.uuid4().hex[:12]
        self.send([f"later@{FAR}"], token)
        self.queued(f"later@{FAR}", "451")
        self.assertEqual(self.arrived_count(token), 0)
        self.mx1_script.behaviour = Behaviour()
        self.retry_all()
        self.arrived(self.mx1, token)
        self.srv.settle_count(SENDER, quiet=1.0)
        self.assertEqual(self.arrived_count(token), 1)
        self.assertEqual(self.srv.messages_with(SENDER, f"relay {token}"), [], "no DSN for a delay of seconds")

    def test_close_mid_data_stays_queued_then_arrives_once(self):
        self.mx1_script.behaviour = Behaviour(close_mid_data=True)
        self.mx2_script.behaviour = Behaviour(close_mid_data=True)
        token = uuid.uuid4().hex[:12]
        self.send([f"cut@{FAR}"], token)
        self.queued(f"cut@{FAR}", "deferred")
        self.assertEqual(self.arrived_count(token), 0)
        self.mx1_script.behaviour = Behaviour()
        self.mx2_script.behaviour = Behaviour()
        self.retry_all()
        self.arrived(self.mx1, token)
        ternlib.wait_for(lambda: f"cut@{FAR}" not in self.srv.admin("queue", "list").stdout.decode(),
                         timeout=30, what="the queue to let go of the delivered message")
        self.assertEqual(self.arrived_count(token), 1)


if __name__ == "__main__":
    ternlib.main()
