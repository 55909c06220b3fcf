#!/usr/bin/env python3
# Relay between two ternd instances, as between two sites on the Internet: one.test on 127.0.0.2
# and two.test on 127.0.0.3, both on the same SMTP port, with dnsmasq on a loopback port serving
# their MX and A records (dns.resolver, relay.port). Mail submitted at one.test for two.test
# arrives (body CRLF-only and dot-stuffed right); a 550 at the far end comes back to the sender as
# an RFC 3464 report, checked field by field with Python's email package; an MX that does not
# answer leaves the mail queued (`queue list`), and it arrives once that host is up and the
# operator says `queue retry`. Must never leave ternd or dnsmasq running.
import email
import email.policy
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import tls_context  # noqa: E402

DNSMASQ = "/usr/sbin/dnsmasq"
PASSWORD = "relay-test-pw"
HOSTS = {"one.test": "127.0.0.2", "two.test": "127.0.0.3", "three.test": "127.0.0.4"}


def token(kind):
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def free_udp_tcp_port():
    """A port free on 127.0.0.1 for both UDP and TCP (dnsmasq binds both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port for dnsmasq")


def port_free_everywhere(port):
    for addr in HOSTS.values():
        with socket.socket() as s:
            try:
                s.bind((addr, port))
            except OSError:
                return False
    return True


def relay_available():
    out = subprocess.run([ternlib.TERND, "config", "reference"], capture_output=True).stdout.decode()
    return "relay.port" in out


class Relay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not relay_available():
            raise unittest.SkipTest("this ternd has no relay (no relay.port in `ternd config reference`)")
        if not os.access(DNSMASQ, os.X_OK):
            raise AssertionError("dnsmasq missing: run scripts/deps.sh test")
        cls.tmp = tempfile.mkdtemp(prefix="tern-relay-")
        cls.dns_port = free_udp_tcp_port()
        args = [DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-daemon",
                "--listen-address=127.0.0.1", "--bind-interfaces", f"--port={cls.dns_port}",
                "--user=root" if os.geteuid() == 0 else f"--user={os.getlogin()}",
                f"--pid-file={cls.tmp}/dnsmasq.pid", "--log-facility=-"]
        for domain, addr in HOSTS.items():
            args += [f"--mx-host={domain},mx.{domain},10", f"--host-record=mx.{domain},{addr}"]
        cls.dns_log = open(os.path.join(cls.tmp, "dnsmasq.log"), "wb")
        cls.dns = subprocess.Popen(args, stdout=cls.dns_log, stderr=subprocess.STDOUT)
        ternlib.wait_for(lambda: cls.dns.poll() is not None or ternlib.port_accepts(cls.dns_port),
                         what="dnsmasq to listen")
        if cls.dns.poll() is not None:
            raise AssertionError("dnsmasq exited: " + open(os.path.join(cls.tmp, "dnsmasq.log")).read())
        # One SMTP port number for every site, as port 25 is on the Internet.
        while True:
            cls.smtp_port, cls.sub_port = ternlib.free_ports(2)
            if port_free_everywhere(cls.smtp_port) and port_free_everywhere(cls.sub_port):
                break
        cls.sites = {}
        for domain in ("one.test", "two.test"):
            cls.sites[domain] = cls.site(domain)
            cls.sites[domain].start()

    @classmethod
    def site(cls, domain):
        addr = HOSTS[domain]
        config = (f"[dns]\nresolver = \"127.0.0.1:{cls.dns_port}\"\n"
                  f"[relay]\nport = {cls.smtp_port}\nsource_address = \"{addr}\"\n"
                  # Retries only when the test asks (queue retry), not by the clock.
                  "[queue]\nfirst_retry = 3600\nretry_interval = 3600\n")
        srv = ternlib.Server(protos=("smtp", "submission"), config=config, hostname=f"mx.{domain}",
                             address=addr, ports={"smtp": cls.smtp_port, "submission": cls.sub_port})
        srv.add_domain(domain)
        for user in ("alice", "bob"):
            srv.add_user(f"{user}@{domain}", PASSWORD)
        return srv

    @classmethod
    def tearDownClass(cls):
        for srv in getattr(cls, "sites", {}).values():
            srv.cleanup()
        if getattr(cls, "dns", None):
            cls.dns.terminate()
            cls.dns.wait(timeout=10)
            cls.dns_log.close()
        if getattr(cls, "tmp", None):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def submit(self, site, sender, rcpts, message):
        srv = self.sites[site]
        with smtplib.SMTP(srv.address, srv.port("submission"), timeout=20) as s:
            s.starttls(context=tls_context())
            s.login(sender, PASSWORD)
            refused = s.sendmail(sender, rcpts, message)
            self.assertEqual(refused, {})

    def test_mail_reaches_the_other_site_intact(self):
        t = token("relay")
        body = (b"first line\r\n.leading dot\r\n..two dots\r\nbare LF here\nand \rbare CR\r\n"
                b"a dot between CRs \r.\r\nlast line\r\n")
        msg = (f"From: alice@one.test\r\nTo: bob@two.test\r\nSubject: {t}\r\n"
               f"Message-ID: <{t}@one.test>\r\n\r\n").encode() + body
        self.submit("one.test", "alice@one.test", ["bob@two.test"], msg)
        got = self.sites["two.test"].wait_message_with("bob@two.test", t, timeout=30)
        self.assertNotIn(b"\n", got.replace(b"\r\n", b""), "only CRLF line ends arrive")
        self.assertNotIn(b"\r", got.replace(b"\r\n", b""))
        self.assertIn(b"\r\n.leading dot\r\n..two dots\r\n", got, "dot-stuffing undone exactly once")
        self.assertIn(b"bare LF here\r\nand \r\nbare CR\r\n", got)
        self.assertIn(b"a dot between CRs \r\n.\r\nlast line\r\n", got, "'\\r.\\r\\n' did not end the message")
        received = re.findall(rb"(?m)^Received: from [^\r]*", got)
        self.assertGreaterEqual(len(received), 2, got[:600])
        self.assertIn(b"mx.one.test", got.split(b"\r\n\r\n")[0], "the relaying site's Received: line")
        self.assertEqual(len(self.sites["two.test"].messages_with("bob@two.test", t)), 1, "one message")

    def test_refusal_at_the_far_end_comes_back_as_a_report(self):
        t = token("bounce")
        msg = (f"From: alice@one.test\r\nTo: nobody@two.test\r\nSubject: {t}\r\n\r\nhello\r\n").encode()
        self.submit("one.test", "alice@one.test", ["nobody@two.test"], msg)
        raw = self.sites["one.test"].wait_message_with("alice@one.test", t, timeout=30)
        report = email.message_from_bytes(raw.split(b"\r\n", 1)[1] if raw.startswith(b"Return-Path") else raw,
                                          policy=email.policy.default)
        self.assertIn("MAILER-DAEMON", report["From"])
        self.assertEqual(report.get_content_type(), "multipart/report")
        self.assertEqual(report.get_param("report-type"), "delivery-status")
        self.assertIn("auto-replied", report["Auto-Submitted"])
        parts = list(report.iter_parts())
        self.assertGreaterEqual(len(parts), 2)
        self.assertEqual(parts[0].get_content_type(), "text/plain")
        self.assertIn("nobody@two.test", parts[0].get_content())
        self.assertEqual(parts[1].get_content_type(), "message/delivery-status")
        blocks = parts[1].get_payload()   # [per-message fields, per-recipient fields...]
        self.assertIn("mx.one.test", blocks[0]["Reporting-MTA"])
        rcpt = blocks[1]
        self.assertEqual(rcpt["Final-Recipient"].split(";")[1].strip(), "nobody@two.test")
        self.assertEqual(rcpt["Action"], "failed")
        self.assertEqual(rcpt["Status"], "5.1.1")
        self.assertIn("mx.two.test", rcpt["Remote-MTA"])
        self.assertTrue(rcpt["Diagnostic-Code"].lower().startswith("smtp;"), rcpt["Diagnostic-Code"])
        self.assertIn("550", rcpt["Diagnostic-Code"])
        if len(parts) > 2:
            self.assertIn(parts[2].get_content_type(), ("message/rfc822", "text/rfc822-headers"))
            self.assertIn(t, parts[2].as_string())
        # The report itself came from <>.
        self.assertIn(b"Return-Path: <>", raw.split(b"\r\n\r\n")[0])

    def test_unreachable_mx_keeps_the_mail_until_it_is_up_and_retried(self):
        t = token("later")
        msg = (f"From: alice@one.test\r\nTo: carol@three.test\r\nSubject: {t}\r\n\r\nwait for me\r\n").encode()
        self.submit("one.test", "alice@one.test", ["carol@three.test"], msg)
        one = self.sites["one.test"]

        def queued():
            out = one.admin("queue", "list").stdout.decode()
            return out if re.search(r"carol@three\.test  \(deferred, 1 attempt", out) else None
        out = ternlib.wait_for(queued, timeout=30, what="the message to show as deferred in queue list")
        self.assertRegex(out, r"carol@three\.test  \(deferred[^)]*\)  4\d\d 4\.\d+\.\d+ ")
        qid = re.search(r"(?m)^([0-9A-F]{16})  \S+  \d+  <alice@one\.test>$", out).group(1)

        three = self.site("three.test")
        self.sites["three.test"] = three
        three.add_user("carol@three.test", PASSWORD)
        three.start()
        one.admin("queue", "retry", qid)
        got = three.wait_message_with("carol@three.test", t, timeout=30)
        self.assertIn(b"wait for me", got)
        ternlib.wait_for(lambda: qid not in one.admin("queue", "list").stdout.decode(), timeout=20,
                         what="the message to leave the queue")


if __name__ == "__main__":
    ternlib.main()
