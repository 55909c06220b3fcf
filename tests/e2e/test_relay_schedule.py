#!/usr/bin/env python3
# The retry schedule end to end, with the queue's times configured in seconds (queue.first_retry,
# queue.retry_interval, queue.delay_warning, queue.lifetime): a destination that keeps answering
# 451 is retried; after delay_warning the sender gets one delay notice (RFC 3464 Action: delayed,
# Will-Retry-Until), also across a kill -9 and restart; after lifetime the mail comes back in a
# failure notice (5.4.7) that returns it whole; NOTIFY=NEVER gets neither. Both notices are parsed
# with Python's email package. Deadline-bounded waits only; skipped only without the relay.
import email
import email.policy
import os
import smtplib
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402
from fakemx import Behaviour, FakeMX  # noqa: E402

PASSWORD = "schedule pw"
SENDER = f"alice@{DOMAIN}"
DELAY_WARNING, LIFETIME = 3, 10


def report_of(raw):
    """The notice as an email.message, and its per-recipient delivery-status fields."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    [status] = [p for p in msg.iter_parts() if p.get_content_type() == "message/delivery-status"]
    return msg, status.get_payload()[1]


class RetrySchedule(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = ternlib.relay_missing()
        if reason:
            raise unittest.SkipTest(reason)
        cls.mx = FakeMX(Behaviour(rcpt=(451, "4.7.1 greylisted, try again later"))).start()
        config = ("[auth]\nallow_plaintext = true\n"
                  f"[queue]\nfirst_retry = 1\nretry_interval = 1\ndelay_warning = {DELAY_WARNING}\n"
                  f"lifetime = {LIFETIME}\n"
                  f'[relay.routes]\n"slow.test" = "127.0.0.1:{cls.mx.port}"\n')
        cls.srv = ternlib.Server(protos=("smtp", "submission"), config=config)
        cls.srv.add_domain(DOMAIN)
        cls.srv.add_user(SENDER, PASSWORD)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.mx.stop()

    def send(self, token, rcpt_options=()):
        data = (f"From: {SENDER}\r\nTo: someone@slow.test\r\nSubject: sched {token}\r\n\r\n"
                f"body {token}\r\n").encode()
        with smtplib.SMTP("127.0.0.1", self.srv.port("submission"), timeout=10) as c:
            c.login(SENDER, PASSWORD)
            c.ehlo()
            c.mail(SENDER)
            code, _ = c.rcpt("someone@slow.test", list(rcpt_options))
            self.assertEqual(code, 250)
            code, _ = c.data(data)
            self.assertEqual(code, 250)

    def notices(self, token):
        return [m for m in self.srv.messages_with(SENDER, token) if b"Return-Path: <>" in m[:200]]

    def test_delay_notice_once_then_the_mail_comes_back(self):
        token = uuid.uuid4().hex[:12]
        sent_at = time.monotonic()
        self.send(token)
        delay = ternlib.wait_for(lambda: self.notices(token) or None, timeout=LIFETIME + 10,
                                 what="the delay notice")
        self.assertGreaterEqual(time.monotonic() - sent_at, DELAY_WARNING - 1, "not before queue.delay_warning")
        self.assertEqual(len(delay), 1)
        msg, rcpt = report_of(delay[0])
        self.assertIn("Delayed Mail", msg["Subject"])
        self.assertEqual(str(rcpt["Action"]).strip(), "delayed")
        self.assertEqual(str(rcpt["Status"]).strip(), "4.7.1")
        self.assertIn("smtp; 451 4.7.1 greylisted", " ".join(str(rcpt["Diagnostic-Code"]).split()))
        self.assertIsNotNone(rcpt["Will-Retry-Until"])
        parts = [p.get_content_type() for p in msg.iter_parts()]
        self.assertEqual(parts[-1], "text/rfc822-headers", "a delay notice returns the headers only")

        # kill -9 and restart: the delay notice is not sent again (its flag is in the spool).
        self.srv.restart()
        both = ternlib.wait_for(lambda: (lambda n: n if len(n) >= 2 else None)(self.notices(token)),
                                timeout=LIFETIME + 15, what="the failure notice")
        time.sleep(1.5)
        both = self.notices(token)
        self.assertEqual(len(both), 2, "one delay notice and one failure notice")
        failed = [m for m in both if b"Action: failed" in m]
        self.assertEqual(len(failed), 1)
        msg, rcpt = report_of(failed[0])
        self.assertIn("Undelivered Mail", msg["Subject"])
        self.assertEqual(str(rcpt["Status"]).strip(), "5.4.7")
        self.assertIn("451 4.7.1 greylisted", " ".join(str(rcpt["Diagnostic-Code"]).split()),
                      "the last reply is in the bounce")
        [returned] = [p for p in msg.iter_parts() if p.get_content_type() == "message/rfc822"]
        self.assertIn(f"body {token}", returned.as_string(), "the message comes back whole")
        self.assertGreaterEqual(self.mx.transactions, 3, "it was retried on the schedule")
        ternlib.wait_for(lambda: "slow.test" not in self.srv.admin("queue", "list").stdout.decode(),
                         what="the queue to let go of it")

    def test_notify_never_gets_no_notice(self):
        token = uuid.uuid4().hex[:12]
        self.send(token, rcpt_options=["NOTIFY=NEVER"])
        ternlib.wait_for(lambda: "slow.test" not in self.srv.admin("queue", "list").stdout.decode(),
                         timeout=LIFETIME + 15, what="the message to fail and leave the queue")
        time.sleep(1.5)
        self.assertEqual(self.notices(token), [])


if __name__ == "__main__":
    ternlib.main()
