#!/usr/bin/env python3
# Two `ternd serve` on one data directory: the second refuses to start with a clear message and
# the first keeps serving and delivering (two spool writers would corrupt each other's segments).
import os
import smtplib
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402


class OneServerPerDataDir(unittest.TestCase):
    def test_second_server_is_refused_and_the_first_keeps_working(self):
        first = ternlib.Server(protos=("smtp",), trace=False)
        self.addCleanup(first.cleanup)
        first.add_domain(DOMAIN)
        first.add_user(f"alice@{DOMAIN}")
        first.start()
        port = ternlib.free_ports(1)[0]
        cmd = [ternlib.TERND, "serve", "--data", first.data, "--listen", f"smtp=127.0.0.1:{port}"]
        if os.geteuid() == 0:
            cmd += ["--user", ternlib.RUN_AS]
        second = subprocess.run(cmd, capture_output=True, timeout=30)
        self.assertNotEqual(second.returncode, 0, "a second server on the same data directory must not run")
        err = (second.stdout + second.stderr).decode(errors="replace")
        self.assertRegex(err, r"(?i)in use|locked|already", err)
        self.assertTrue(first.running())
        with smtplib.SMTP("127.0.0.1", first.port("smtp"), timeout=10) as s:
            s.sendmail("bob@client.example", [f"alice@{DOMAIN}"], b"Subject: still here\r\n\r\nhi\r\n")
        first.wait_count(f"alice@{DOMAIN}", 1)


if __name__ == "__main__":
    ternlib.main()
