#!/usr/bin/env python3
"""imap_summary_bench.py - a header listing, FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE), over one
mailbox of N messages (default 10,000): Tern with its per-message summaries off (imap.summaries =
false: every message read and parsed), Tern with them (the first listing computes and keeps them,
later ones read only the store's summary rows), and Dovecot 2.3 (dovecot-imapd, a private instance
on loopback, Maildir; its first listing fills dovecot.index.cache) on the same messages.

    sudo python3 bench/imap_summary_bench.py [-n 10000] [-r 3] [--ternd build/ternd] [--no-dovecot]

Runs as root (ternd drops to the user `tern-bench`, which `ternd setup` creates; Dovecot's mail
belongs to nobody). Prints seconds per listing: the first one ("cold") and the best of the next
-r ("warm"). Also checks that Tern's answers with and without summaries are byte for byte equal.
Packages: python3, dovecot-imapd (scripts/deps.sh bench). Leaves nothing behind unless -k.
"""
import argparse
import base64
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

DOMAIN = "bench.test"
USER = "user1@" + DOMAIN
PASSWORD = "password"
FETCH = b"(UID FLAGS ENVELOPE BODYSTRUCTURE)"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} during startup")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listening on {port} after {timeout}s")


# ---------------------------------------------------------------- messages --

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


def message(i, rnd):
    """Varied shapes: plain text, multipart/alternative, mixed with a base64 attachment, a reply."""
    words = lambda n: " ".join(rnd.choice(WORDS) for _ in range(n))
    text = "\r\n".join(words(12) for _ in range(rnd.randint(5, 60))) + "\r\n"
    head = (f"Date: Mon, {1 + i % 28:d} Dec 2026 {i % 24:02d}:{i % 60:02d}:00 +0100\r\n"
            f"From: \"Sender {i % 97}\" <sender{i % 97}@example.net>\r\n"
            f"To: {USER}\r\n"
            + (f"Cc: =?utf-8?q?J=C3=B6rg_{i % 13}?= <cc{i % 13}@example.org>\r\n" if i % 3 == 0 else "")
            + f"Subject: {words(rnd.randint(2, 8))} #{i}\r\n"
            f"Message-ID: <m{i}@example.net>\r\n"
            + (f"In-Reply-To: <m{i - 1}@example.net>\r\nReferences: <m{i - 2}@example.net> <m{i - 1}@example.net>\r\n"
               if i % 4 == 1 and i > 1 else "")
            + "MIME-Version: 1.0\r\n")
    kind = i % 3
    if kind == 0:
        return head + "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + text
    if kind == 1:
        return (head + 'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
                "--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                + text + "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>"
                + text.replace("\r\n", "</p>\r\n<p>") + "</p></body></html>\r\n--alt--\r\n")
    blob = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(2000, 30000)))
    b64 = base64.encodebytes(blob).decode().replace("\n", "\r\n")
    return (head + 'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n'
            "--mix\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + text
            + f'--mix\r\nContent-Type: application/pdf; name="doc{i}.pdf"\r\n'
            f'Content-Disposition: attachment; filename="doc{i}.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + b64 + "--mix--\r\n")


def messages(n):
    rnd = random.Random(9)
    return [message(i, rnd) for i in range(1, n + 1)]


# ------------------------------------------------------------------ client --

class Imap:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=600)
        self.buf = b""
        self.n = 0
        self.read_until(b"\r\n")
        self.buf = b"\r\n" + self.buf  # every reply line then follows a CRLF in buf

    def read_until(self, marker):
        # Only the bytes that arrived since the last look are searched (linear in the reply).
        parts, tail = [], self.buf
        while True:
            i = tail.find(marker)
            if i >= 0:
                i += len(marker)
                parts.append(tail[:i])
                self.buf = tail[i:]
                return b"".join(parts)
            keep = max(0, len(tail) - len(marker) + 1)
            parts.append(tail[:keep])
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise SystemExit("connection closed")
            tail = tail[keep:] + chunk

    def cmd(self, line):
        self.n += 1
        tag = b"zq%d" % self.n
        self.s.sendall(tag + b" " + line + b"\r\n")
        # Tagged reply at the start of a line; the tag never appears in message data here.
        out = self.read_until(b"\r\n" + tag + b" ")
        status = self.read_until(b"\r\n")
        self.buf = b"\r\n" + self.buf
        if not status.startswith(b"OK"):
            raise SystemExit(f"{line!r}: {status!r}")
        return out

    def timed_fetch(self):
        t0 = time.perf_counter()
        out = self.cmd(b"FETCH 1:* " + FETCH)
        return time.perf_counter() - t0, out


def listing_times(port, runs):
    c = Imap(port)
    c.cmd(b"LOGIN " + USER.encode() + b" " + PASSWORD.encode())
    c.cmd(b"SELECT INBOX")
    cold, out = c.timed_fetch()
    warm = min(c.timed_fetch()[0] for _ in range(runs))
    c.cmd(b"LOGOUT")
    c.s.close()
    return cold, warm, out


# -------------------------------------------------------------------- tern --

def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, **kw)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))}: exit {p.returncode}\n{p.stderr.decode(errors='replace')}")
    return p


def tern_prepare(work, ternd, msgs):
    data = os.path.join(work, "tern", "data")
    os.makedirs(os.path.dirname(data))
    os.chmod(work, 0o711)
    os.chmod(os.path.dirname(data), 0o711)
    run([ternd, "--data", data, "setup", "--user", "tern-bench"])
    run([ternd, "--data", data, "domain", "add", DOMAIN])
    run([ternd, "--data", data, "user", "add", USER], input=(PASSWORD + "\n").encode())
    mbox = os.path.join(work, "msgs.mbox")
    with open(mbox, "w", newline="") as f:
        for m in msgs:  # mboxrd: the importer takes "From " lines as separators
            body = m.replace("\r\n", "\n")
            body = "\n".join(">" + l if l.lstrip(">").startswith("From ") else l for l in body.split("\n"))
            f.write("From bench@example.net Mon Dec  7 10:00:00 2026\n" + body + "\n")
    run([ternd, "--data", data, "import", "mbox", mbox, "--to", USER])
    return data


def tern_listing(work, ternd, data, summaries, runs):
    cfg = os.path.join(work, f"tern-{summaries}.toml")
    with open(cfg, "w") as f:
        f.write(f"[auth]\nallow_plaintext = true\n\n[imap]\nsummaries = {'true' if summaries else 'false'}\n")
    port = free_port()
    log = open(os.path.join(work, f"tern-{summaries}.log"), "wb")
    proc = subprocess.Popen([ternd, "serve", "--data", data, "--config", cfg, "--user", "tern-bench",
                             "--listen", f"imap=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc)
        return listing_times(port, runs)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ----------------------------------------------------------------- dovecot --

DOVECOT_CONF = """instance_name = tern-imap-bench-{pid}
base_dir = {d}/run
state_dir = {d}/state
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
log_path = {d}/log/dovecot.log
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/etc/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def dovecot_listing(work, msgs, runs):
    if not shutil.which("dovecot"):
        raise SystemExit("dovecot is not installed (scripts/deps.sh bench installs dovecot-imapd)")
    d = os.path.join(work, "dovecot")
    for sub in ("etc", "run", "state", "log", "mail"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    os.chmod(d, 0o755)
    with open(os.path.join(d, "etc", "passwd"), "w") as f:
        f.write(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    md = os.path.join(d, "mail", USER, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub))
    base = 1796637600
    for i, m in enumerate(msgs, 1):
        name = os.path.join(md, "cur", f"{base + i}.M{i}P1.bench,S={len(m.encode())}:2,")
        with open(name, "w", newline="") as f:
            f.write(m)  # as Tern stores it: CRLF
        os.utime(name, (base + i, base + i))
    uid, gid = 65534, 65534
    for root, dirs, files in os.walk(os.path.join(d, "mail")):
        for x in dirs + files:
            os.chown(os.path.join(root, x), uid, gid)
    os.chown(os.path.join(d, "mail"), uid, gid)
    port = free_port()
    conf = os.path.join(d, "etc", "dovecot.conf")
    with open(conf, "w") as f:
        f.write(DOVECOT_CONF.format(pid=os.getpid(), d=d, uid=uid, gid=gid, port=port))
    log = open(os.path.join(d, "log", "stdout.log"), "wb")
    proc = subprocess.Popen(["dovecot", "-F", "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc)
        return listing_times(port, runs)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=10000, help="messages (default 10000)")
    ap.add_argument("-r", type=int, default=3, help="warm runs, the best counts (default 3)")
    ap.add_argument("--ternd", default="./build/ternd")
    ap.add_argument("--no-dovecot", action="store_true")
    ap.add_argument("-k", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (ternd setup creates its user; Dovecot starts as root)")
    ternd = os.path.abspath(a.ternd)
    work = tempfile.mkdtemp(prefix="tern-imap-bench-", dir=os.environ.get("BENCH_TMPDIR", "/var/tmp"))
    try:
        msgs = messages(a.n)
        total = sum(len(m) for m in msgs)
        print(f"{a.n} messages, {total / 1e6:.1f} MB; FETCH 1:* {FETCH.decode()}; "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
        t0 = time.perf_counter()
        data = tern_prepare(work, ternd, msgs)
        print(f"tern: imported in {time.perf_counter() - t0:.1f} s", flush=True)
        rows = []
        off = tern_listing(work, ternd, data, False, a.r)
        rows.append(("tern, summaries off", off[0], off[1]))
        on = tern_listing(work, ternd, data, True, a.r)
        rows.append(("tern, summaries on", on[0], on[1]))
        # The first run's read-write SELECT claims \Recent (RFC 3501 §2.3.2): the second never sees it.
        if off[2].replace(b" \\Recent", b"").replace(b"\\Recent ", b"").replace(b"\\Recent", b"") != \
                on[2].replace(b" \\Recent", b"").replace(b"\\Recent ", b"").replace(b"\\Recent", b""):
            print("MISMATCH: Tern's listing differs with and without summaries", flush=True)
        if not a.no_dovecot:
            dv = dovecot_listing(work, msgs, a.r)
            rows.append(("dovecot 2.3", dv[0], dv[1]))
        print(f"{'server':<22} {'cold s':>8} {'warm s':>8} {'msgs/s warm':>12}")
        for name, cold, warm in rows:
            print(f"{name:<22} {cold:8.3f} {warm:8.3f} {a.n / warm:12.0f}")
        print(f"warm: summaries on vs off {off[1] / on[1]:.1f}x"
              + (f"; tern (on) vs dovecot {rows[2][2] / on[1]:.2f}x" if not a.no_dovecot else ""))
    finally:
        if a.k:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
