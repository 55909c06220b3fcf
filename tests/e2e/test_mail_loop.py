#!/usr/bin/env python3
# Mail-loop detection at intake against a real ternd (RFC 5321 §6.3): a message with
# limits.max_hops or more Received: fields is refused at the end of DATA with 554 5.4.6 and never
# delivered; one under the limit is delivered; the key comes from the config file. Uses smtplib.
import os
import smtplib
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402


def message(hops, token):
    received = "".join(f"Received: from hop{i}.example.net\r\n\tby relay.example.net; "
                       f"Mon, 7 Dec 2026 05:00:00 +0000\r\n" for i in range(hops))
    return (received + f"From: a@client.test\r\nSubject: loop-{token}\r\n\r\nround and round\r\n").encode()


class MailLoop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(protos=("smtp",), config="[limits]\nmax_hops = 10\n")
        cls.srv.add_domain(DOMAIN)
        cls.srv.add_user(f"alice@{DOMAIN}")
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def send(self, hops):
        token = uuid.uuid4().hex[:10]
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), timeout=15) as s:
            s.ehlo("client.test")
            try:
                s.sendmail("a@client.test", [f"alice@{DOMAIN}"], message(hops, token))
                return token, None
            except smtplib.SMTPDataError as e:
                return token, e

    def test_too_many_hops_is_refused_and_not_delivered(self):
        token, err = self.send(10)
        self.assertIsNotNone(err, "a message with 10 Received: fields was accepted with max_hops = 10")
        self.assertEqual(err.smtp_code, 554)
        self.assertIn(b"5.4.6 too many hops (10 Received: header fields)", err.smtp_error)
        ok_token, ok_err = self.send(9)  # ours makes ten: still within the limit
        self.assertIsNone(ok_err)
        self.srv.wait_message_with(f"alice@{DOMAIN}", f"loop-{ok_token}")
        self.assertEqual(self.srv.messages_with(f"alice@{DOMAIN}", f"loop-{token}"), [])


if __name__ == "__main__":
    ternlib.main()
