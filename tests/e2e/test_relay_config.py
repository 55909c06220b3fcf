#!/usr/bin/env python3
# ternd serve with a [relay] section: the relay starts its own thread (tern-relay) and stops with
# the server; a smarthost user without a readable password file is a clear startup error.
import glob
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402


def relay_config(password_file):
    port = ternlib.free_ports(1)[0]
    return (
        "[relay]\n"
        f'smarthost = "127.0.0.1:{port}"\n'
        'smarthost_tls = "required"\n'
        'smarthost_user = "relay-user"\n'
        f'smarthost_password_file = "{password_file}"\n'
        'routes = { "example.net" = "127.0.0.1:2" }\n'
        "connections = 5\n"
        "connect_timeout = 3\n"
        "idle_reuse = 1\n"
    )


class RelayConfig(unittest.TestCase):
    def test_relay_thread_runs_and_stops_with_the_server(self):
        server = ternlib.Server(protos=("smtp",), config=relay_config("PLACEHOLDER"))
        self.addCleanup(server.cleanup)
        password = os.path.join(server.tmp, "relay-password")
        with open(password, "w") as f:
            f.write("s3cret\n")
        os.chmod(password, 0o644)  # readable by the user ternd drops to when run as root
        with open(server.config_path, "w") as f:
            f.write(relay_config(password))
        server.start()
        names = []
        for comm in glob.glob(f"/proc/{server.proc.pid}/task/*/comm"):
            with open(comm) as f:
                names.append(f.read().strip())
        self.assertIn("tern-relay", names)
        server.stop()
        self.assertEqual(server.proc.returncode, 0, server.log_tail())

    def test_missing_password_file_is_a_startup_error(self):
        server = ternlib.Server(protos=("smtp",), config=relay_config("/nonexistent/relay-password"))
        self.addCleanup(server.cleanup)
        run = subprocess.run(server.command(), capture_output=True, timeout=30)
        self.assertNotEqual(run.returncode, 0)
        err = (run.stdout + run.stderr).decode(errors="replace")
        self.assertIn("relay.smarthost_password_file", err)


if __name__ == "__main__":
    ternlib.main()
