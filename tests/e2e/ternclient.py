"""Running the `tern` client in tests: a private $HOME/XDG directories per Client, the binary
next to ternd (same build directory), and the server's TLS fingerprint from its start banner."""
import json
import os
import re
import shutil
import subprocess
import tempfile

import ternlib


def tern_binary():
    return os.path.join(os.path.dirname(os.path.abspath(ternlib.TERND)), "tern")


def fingerprint(server):
    """The SHA-256 fingerprint `ternd serve` printed at start."""
    m = re.search(r"SHA-256 ([0-9A-F:]{95})", server.log_text())
    assert m, "no fingerprint in ternd's banner:\n" + server.log_tail(20)
    return m.group(1)


class Client:
    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="tern-client-")
        self.env = dict(os.environ)
        self.env.update(HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, "config"),
                        XDG_DATA_HOME=os.path.join(self.home, "data"), COLUMNS="120")
        self.env.pop("EDITOR", None)

    def run(self, *args, input=None, check=True, timeout=120):
        cmd = [tern_binary()] + [str(a) for a in args]
        p = subprocess.run(cmd, input=input.encode() if isinstance(input, str) else input,
                           capture_output=True, env=self.env, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} -> exit {p.returncode}\nstdout: {p.stdout.decode(errors='replace')}\n"
                                 f"stderr: {p.stderr.decode(errors='replace')}")
        return p

    def json(self, *args):
        return json.loads(self.run("--json", *args).stdout)

    def account_dir(self, name):
        return os.path.join(self.home, "data", "tern", name)

    def maildir_files(self, account, folder="INBOX"):
        cur = os.path.join(self.account_dir(account), "mail", folder, "cur")
        return sorted(os.path.join(cur, f) for f in os.listdir(cur)) if os.path.isdir(cur) else []

    def cleanup(self):
        if not os.environ.get("TERN_E2E_KEEP"):
            shutil.rmtree(self.home, ignore_errors=True)
