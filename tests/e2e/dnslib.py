# A private dnsmasq for e2e tests: serves given MX and A/AAAA records on 127.0.0.1 and a free
# UDP+TCP port (the flags of tests/unit/net/dns_test.cpp), for `dns.resolver` / `--resolver`.
# Never touches the system resolver or forwards anything (--no-resolv, --no-hosts, no upstream);
# always stopped at exit. Plus a minimal DNS query (A, MX) to wait for it and to check answers.
import atexit
import os
import random
import socket
import struct
import subprocess
import tempfile
import time

DNSMASQ = "/usr/sbin/dnsmasq"
_running = []


def free_udp_tcp_port():
    """A port free on 127.0.0.1 for both UDP and TCP (dnsmasq binds both)."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                t.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
            finally:
                t.close()
        finally:
            u.close()
    raise OSError("no free UDP+TCP port on 127.0.0.1")


def _name(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.rstrip(".").split(".") if p) + b"\0"


def _read_name(msg, off):
    labels, jumped, end = [], False, off
    for _ in range(128):
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off, jumped = ((n & 0x3F) << 8) | msg[off + 1], True
            continue
        if n == 0:
            return ".".join(labels), (end if jumped else off + 1)
        labels.append(msg[off + 1:off + 1 + n].decode())
        off += 1 + n
    raise ValueError("name loop")


def query(port, name, qtype="A", host="127.0.0.1", timeout=1.0):
    """(rcode, answers) for one UDP query: A -> ["1.2.3.4"], MX -> [(pref, "host")] (Null MX: ".")."""
    t = {"A": 1, "MX": 15, "AAAA": 28}[qtype]
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + _name(name) + struct.pack(">HH", t, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, (host, port))
        msg = s.recv(4096)
    rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    if rid != qid:
        raise ValueError("wrong DNS id")
    off = 12
    for _ in range(qd):
        _, off = _read_name(msg, off)
        off += 4
    out = []
    for _ in range(an):
        _, off = _read_name(msg, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        if rtype == 1 and t == 1:
            out.append(socket.inet_ntoa(rdata))
        elif rtype == 28 and t == 28:
            out.append(socket.inet_ntop(socket.AF_INET6, rdata))
        elif rtype == 15 and t == 15:
            out.append((struct.unpack(">H", rdata[:2])[0], _read_name(msg, off + 2)[0] or "."))
        off += rdlen
    return flags & 0xF, out


class Dnsmasq:
    """dnsmasq --no-daemon on 127.0.0.1:<port>. mx: {domain: [(host, preference)]} (host "." =
    Null MX, RFC 7505); hosts: {name: [address, ...]} (IPv4 and/or IPv6). Names under `local`
    that are not listed get NXDOMAIN instead of being forwarded."""

    def __init__(self, mx=None, hosts=None, local=("test",), ttl=300):
        self.mx, self.hosts, self.local, self.ttl = dict(mx or {}), dict(hosts or {}), local, ttl
        self.proc, self.port = None, None
        self.log_path = os.path.join(tempfile.gettempdir(), f"tern-dnsmasq-{os.getpid()}-{id(self)}.log")

    def args(self):
        a = [DNSMASQ, "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
             f"--port={self.port}", "--listen-address=127.0.0.1", "--bind-interfaces",
             f"--local-ttl={self.ttl}"]
        a += [f"--local=/{d}/" for d in self.local]
        for domain, targets in self.mx.items():
            for host, pref in targets:
                a.append(f"--mx-host={domain},{host},{pref}")
        for name, addrs in self.hosts.items():
            a.append(f"--host-record={name}," + ",".join(addrs))
        return a

    @property
    def resolver(self):
        """The value for `dns.resolver` / `ternd serve --resolver`."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout=10.0):
        if not os.access(DNSMASQ, os.X_OK):
            raise AssertionError("dnsmasq missing: run scripts/deps.sh test")
        for _ in range(5):
            self.port = free_udp_tcp_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT)
            _running.append(self)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    query(self.port, "probe.invalid", "A", timeout=0.2)
                    return self
                except (OSError, ValueError):
                    time.sleep(0.05)
            self.stop()          # exited (port taken meanwhile?) or silent: try another port
        raise AssertionError("dnsmasq did not start; log:\n" + self.log())

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in _running:
            _running.remove(self)

    def cleanup(self):
        self.stop()
        try:
            os.unlink(self.log_path)
        except OSError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


@atexit.register
def _stop_all():
    for d in list(_running):
        d.cleanup()
