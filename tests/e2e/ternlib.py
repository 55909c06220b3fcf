# End-to-end harness: starts the real `ternd serve` on free loopback ports with a temporary data
# directory, runs its admin commands, polls for asynchronous delivery and speaks raw SMTP.
# Must never leave a server running (killed at exit, even on failure) and never sleep a fixed
# time where a deadline-bounded poll will do. Python stdlib only.
import atexit
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

TERND = None          # path to the ternd binary, set by main() from --ternd
_servers = []         # every Server ever started, for cleanup and for logs on failure
_lock = threading.RLock()

DOMAIN = "example.test"


# ---------------------------------------------------------------- process and port helpers

def free_ports(n):
    """n distinct free loopback TCP ports (held open together, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_accepts(port, host="127.0.0.1", timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tls_context():
    """A client TLS context that accepts the server's certificate: on its first start ternd
    generates a self-signed one (tests that verify it pin <data>/tls/cert.pem themselves)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wait_for(predicate, timeout=20.0, interval=0.05, what="condition"):
    """Polls predicate() until it returns a truthy value (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


# ---------------------------------------------------------------- process memory

def status_kib(pid, field):
    """A field of /proc/<pid>/status in KiB (VmHWM, VmRSS, RssAnon, RssFile, ...)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def reset_peak_rss(pid):
    """VmHWM := VmRSS now (Linux >= 4.0), so the next peak is the test's own; False if not ours."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def without_asan_quarantine():
    """Under AddressSanitizer freed blocks are kept in a quarantine (256 MB by default) that would
    count every transient buffer in a peak RSS; turns it off for servers started afterwards.
    Ignored by a build without sanitizers."""
    os.environ["ASAN_OPTIONS"] = ":".join(
        x for x in (os.environ.get("ASAN_OPTIONS", ""), "quarantine_size_mb=0") if x)


class PeakSampler(threading.Thread):
    """The largest value of a /proc/<pid>/status field, sampled every few milliseconds until
    stop() (which returns it)."""

    def __init__(self, pid, field="RssAnon", interval=0.002):
        super().__init__(daemon=True)
        self.pid, self.field, self.interval = pid, field, interval
        self.peak_kib = status_kib(pid, field)
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                self.peak_kib = max(self.peak_kib, status_kib(self.pid, self.field))
            except (OSError, AssertionError):
                return
            time.sleep(self.interval)

    def stop(self):
        self.done.set()
        self.join()
        return self.peak_kib


RUN_AS = "tern-test"


class AdminError(AssertionError):
    pass


class Server:
    """One ternd instance. Ports stay the same across restart() so clients can reconnect."""

    def __init__(self, protos=("smtp", "submission"), config=None, hostname="mx.example.test",
                 trace=True, data_dir=None, extra_args=(), host="127.0.0.1", ports=None):
        self.tmp = tempfile.mkdtemp(prefix="tern-e2e-")
        self.data = data_dir or os.path.join(self.tmp, "data")
        self.protos = list(protos)
        self.ports = dict(zip(self.protos, free_ports(len(self.protos))))
        self.ports.update(ports or {})   # fixed ports, e.g. {"smtp": P} for relay.port tests
        self.host = host                 # listen address: 127.0.0.2, 127.0.0.3, ... for a 2nd MX
        self.hostname = hostname
        self.trace = trace
        self.extra_args = list(extra_args)
        self.config_path = None
        if config is not None:
            self.config_path = os.path.join(self.tmp, "ternd.toml")
            with open(self.config_path, "w") as f:
                f.write(config)
        self.log_path = os.path.join(self.tmp, "ternd.log")
        if os.geteuid() == 0:
            # As root, ternd runs as an unprivileged user: `ternd setup` creates it and hands it
            # the data directory; the temp dir must let it through.
            os.chmod(self.tmp, 0o711)
            subprocess.run([TERND, "--data", self.data, "setup", "--user", RUN_AS], check=True,
                           stdout=subprocess.DEVNULL)
        self.proc = None
        self.starts = 0
        with _lock:
            _servers.append(self)

    # -- lifecycle

    def command(self):
        cmd = [TERND, "serve", "--data", self.data, "--hostname", self.hostname]
        if os.geteuid() == 0:
            cmd += ["--user", RUN_AS]   # started as root, ternd drops to this user after binding
        for proto, port in self.ports.items():
            cmd += ["--listen", f"{proto}={self.host}:{port}"]
        if self.config_path:
            cmd += ["--config", self.config_path]
        if self.trace:
            cmd.append("--trace")
        return cmd + self.extra_args

    def start(self, timeout=20.0):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"ternd exited with {self.proc.returncode} during startup\n"
                                     + self.log_tail())
            # Listening sockets accept into their backlog as soon as they are bound; ternd is
            # ready once it has printed its "serving" banner for this start.
            if self.log_text().count(" serving ") < self.starts:
                return False
            return all(port_accepts(p, self.host) for p in self.ports.values())
        wait_for(ready, timeout=timeout, what="ternd to accept connections on " + str(self.ports))
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15.0):
        """SIGTERM and wait; returns the exit code (SIGKILL after timeout, then raises)."""
        if not self.running():
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"ternd did not exit within {timeout}s of SIGTERM")

    def kill9(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()

    def restart(self, timeout=20.0):
        self.kill9()
        return self.start(timeout=timeout)

    def cleanup(self):
        self.kill9()
        if not os.environ.get("TERN_E2E_KEEP"):   # TERN_E2E_KEEP=1 keeps data dirs and logs
            shutil.rmtree(self.tmp, ignore_errors=True)

    def port(self, proto="smtp"):
        return self.ports[proto]

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=200):
        text = self.log_text().splitlines()
        return "\n".join(text[-lines:])

    # -- admin commands (run against the same data dir, also while serving)

    def admin(self, *args, input=None, check=True, timeout=30):
        cmd = [TERND, "--data", self.data] + [str(a) for a in args]
        p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AdminError(f"{' '.join(cmd)} -> exit {p.returncode}\nstdout: {p.stdout!r}\n"
                             f"stderr: {p.stderr!r}")
        return p

    def add_domain(self, domain=DOMAIN):
        return self.admin("domain", "add", domain)

    def add_user(self, address, password="secret-pw"):
        return self.admin("user", "add", address, input=(password + "\n").encode())

    def add_alias(self, alias, *targets):
        return self.admin("alias", "add", alias, *targets)

    def export_mbox(self, address, folder=None):
        args = ["export", "mbox", address] + (["--folder", folder] if folder else [])
        return self.admin(*args).stdout

    def import_mbox(self, path, address, folder=None):
        args = ["import", "mbox", path, "--to", address] + (["--folder", folder] if folder else [])
        return self.admin(*args)

    def mailbox_list(self, address):
        """{folder: (messages, uidvalidity, uidnext)} from `mailbox list`."""
        out = {}
        for line in self.admin("mailbox", "list", address).stdout.decode().splitlines():
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 4:
                raise AdminError(f"bad mailbox list line: {line!r}")
            out[parts[0]] = (int(parts[1]), int(parts[2]), int(parts[3]))
        return out

    def count(self, address, folder="INBOX"):
        return self.mailbox_list(address).get(folder, (0, 0, 0))[0]

    def wait_count(self, address, n, folder="INBOX", timeout=20.0):
        """Waits until the folder holds at least n messages; returns the count."""
        return wait_for(lambda: (lambda c: c if c >= n else 0)(self.count(address, folder)),
                        timeout=timeout, what=f"{n} message(s) in {address}/{folder}")

    def wait_messages(self, address, n, folder="INBOX", timeout=20.0):
        """Waits for >= n messages, returns the parsed export [(from_line, message_bytes)]."""
        self.wait_count(address, n, folder, timeout)
        return parse_mbox(self.export_mbox(address, folder))

    def wait_message_with(self, address, token, folder="INBOX", timeout=20.0):
        """Waits until a message containing `token` (str or bytes) is in the folder; returns it."""
        tok = token.encode() if isinstance(token, str) else token

        def find():
            for _, msg in parse_mbox(self.export_mbox(address, folder)):
                if tok in msg:
                    return msg
            return None
        return wait_for(find, timeout=timeout, what=f"message {token!r} in {address}/{folder}")

    def messages_with(self, address, token, folder="INBOX"):
        tok = token.encode() if isinstance(token, str) else token
        return [m for _, m in parse_mbox(self.export_mbox(address, folder)) if tok in m]

    def settle_count(self, address, folder="INBOX", quiet=1.0, timeout=20.0):
        """The folder's count once it stopped changing for `quiet` seconds (for 'nothing more
        arrives' checks; only used after the server acknowledged everything it will deliver)."""
        deadline = time.monotonic() + timeout
        last, since = self.count(address, folder), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            c = self.count(address, folder)
            if c != last:
                last, since = c, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return c
        return last


def _cleanup_all():
    with _lock:
        for s in _servers:
            try:
                s.cleanup()
            except Exception:
                pass


atexit.register(_cleanup_all)


def _on_term(signum, frame):
    raise SystemExit(128 + signum)   # runs atexit, so no server outlives a ctest timeout


# ---------------------------------------------------------------- mbox (mboxrd) in Python

def parse_mbox(data):
    """Splits mboxrd bytes into [(from_line, message)], message with LF ends and unquoted."""
    entries = []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    cur = None
    prev_empty = True
    for line in lines:
        if prev_empty and line.startswith(b"From "):
            if cur is not None:
                if cur[1] and cur[1][-1] == b"":
                    cur[1].pop()
                entries.append(cur)
            cur = (line, [])
        elif cur is None:
            raise ValueError(f"mbox does not start with a From line: {line!r}")
        else:
            stripped = line.lstrip(b">")
            if line.startswith(b">") and stripped.startswith(b"From "):
                line = line[1:]
            cur[1].append(line)
        prev_empty = line == b""
    if cur is not None:
        if cur[1] and cur[1][-1] == b"":
            cur[1].pop()
        entries.append(cur)
    return [(f, b"".join(l + b"\n" for l in body)) for f, body in entries]


def header(message, name):
    """First value of a header field in a message (bytes, LF or CRLF), unfolded, or None."""
    head = message.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    want = name.lower().encode() + b":"
    value = None
    for line in head.split(b"\n"):
        if value is not None:
            if line[:1] in (b" ", b"\t"):
                value += b" " + line.strip()
                continue
            return value.decode("utf-8", "replace")
        if line.lower().startswith(want):
            value = line[len(want):].strip()
    return None if value is None else value.decode("utf-8", "replace")


def body(message):
    return message.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1] if b"\n\n" in message.replace(
        b"\r\n", b"\n") else b""


# ---------------------------------------------------------------- raw SMTP

class RawSMTP:
    """Byte-exact SMTP client for protocol edge cases."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.transcript = []

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.transcript.append("C: " + repr(data))
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def _line(self, timeout):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection; transcript:\n" + self.dump())
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def reply(self, timeout=10.0):
        """(code, text) of one complete (possibly multi-line) reply."""
        lines = []
        while True:
            line = self._line(timeout)
            self.transcript.append("S: " + line.decode("utf-8", "replace"))
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                break
        try:
            code = int(lines[-1][:3])
        except ValueError:
            raise AssertionError(f"malformed reply {lines!r}; transcript:\n" + self.dump())
        return code, "\n".join(l[4:].decode("utf-8", "replace") for l in lines)

    def pending(self, wait=0.5):
        """Whatever the server sends within `wait` seconds (b"" if nothing; None if closed)."""
        end = time.monotonic() + wait
        data = self.buf
        self.buf = b""
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                return data if data else None
            data += chunk
        if data:
            self.transcript.append("S(extra): " + repr(data))
        return data

    def expect(self, code, line=None):
        got = self.cmd(line) if line is not None else self.reply()
        if got[0] != code:
            raise AssertionError(f"expected {code}, got {got}; transcript:\n" + self.dump())
        return got

    def dump(self):
        return "\n".join(self.transcript)


# ---------------------------------------------------------------- unittest glue

class _LogOnFailure(unittest.TextTestResult):
    def _logs(self, test):
        with _lock:
            servers = list(_servers)
        for s in servers:
            self.stream.writeln(f"----- ternd log ({s.log_path}) for failing {test} -----")
            self.stream.writeln(s.log_tail())
            self.stream.writeln("----- end of ternd log -----")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._logs(test)

    def addError(self, test, err):
        super().addError(test, err)
        self._logs(test)


def config_keys():
    """The config keys this ternd build knows (from `ternd config reference`)."""
    out = subprocess.run([TERND, "config", "reference"], capture_output=True, check=True).stdout.decode()
    return {line.split("`")[1] for line in out.splitlines() if line.startswith("| `")}


def relay_missing():
    """None if this build relays remote mail (it knows `relay.routes`), else the reason to skip a
    relay test: until then remote recipients stay deferred "remote delivery not available yet"."""
    if "relay.routes" in config_keys():
        return None
    return "relay not available in this build (`ternd config reference` lists no relay.routes)"


def find_ternd():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    for cand in (os.environ.get("TERND"), os.path.join(root, "build", "ternd")):
        if cand and os.path.exists(cand):
            return cand
    return None


def main():
    """Strips --ternd PATH from argv, runs the module's unittest tests, exits nonzero on failure."""
    global TERND
    argv = [sys.argv[0]]
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        if args[i] == "--ternd" and i + 1 < len(args):
            TERND = args[i + 1]
            i += 2
        elif args[i].startswith("--ternd="):
            TERND = args[i].split("=", 1)[1]
            i += 1
        else:
            argv.append(args[i])
            i += 1
    TERND = os.path.abspath(TERND) if TERND else find_ternd()
    if not TERND or not os.access(TERND, os.X_OK):
        print(f"ternd binary not found or not executable: {TERND!r} (use --ternd PATH)", file=sys.stderr)
        sys.exit(2)
    signal.signal(signal.SIGTERM, _on_term)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=_LogOnFailure)
    prog = unittest.main(module="__main__", argv=argv, testRunner=runner, exit=False)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
