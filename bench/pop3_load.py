#!/usr/bin/env python3
"""pop3_load.py - load generator and helpers for bench/pop3_bench.sh (stdlib only).

  pop3_load.py mbox FILE [-n COUNT] [-s SIZE]
      write COUNT messages of SIZE octets (as sent over POP3, CRLF line ends)
      as an mboxrd file, for `ternd import mbox`
  pop3_load.py maildir DIR [-n COUNT] [-s SIZE]
      write the same messages into the Maildir DIR (cur/, S= and W= in the
      file names, flags already ":2,S")
  pop3_load.py hash PASSWORD
      print a yescrypt ($y$) hash of PASSWORD made by libcrypt, the scheme
      and default cost `ternd user add` uses (for Dovecot's {CRYPT})
  pop3_load.py retr -p PORT -u USER1,USER2,... [-w PASSWORD] [-e EXPECT]
      one process per user, released together: connect, USER/PASS, STAT,
      RETR 1..n, QUIT (no DELE); prints one line of key=value figures
  pop3_load.py idle --pop3 PORT --smtp PORT -c COUNT --pid PID
      open COUNT POP3 then COUNT SMTP connections, read each greeting, hold
      them; prints the memory of process PID (and its descendants) before,
      after the POP3 connections and after the SMTP ones

Every network operation has a timeout (-t, default 60 s).
"""
import argparse
import multiprocessing as mp
import os
import poplib
import resource
import socket
import sys
import time

LINE = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcde"


def message(i, size):
    """Message i as text with LF line ends; len + number of lines == size."""
    head = ("From: sender@bench.test\n"
            "To: bench@bench.test\n"
            f"Subject: bench message {i}\n"
            "Date: Sat, 21 Nov 2026 11:21:27 +0000\n"
            f"Message-ID: <bench.{i}@bench.test>\n"
            "\n")
    wire = len(head) + head.count("\n")
    body = []
    while True:
        left = size - wire
        if left <= 0:
            break
        # A line of k characters costs k + 2 octets on the wire.
        k = min(len(LINE), max(left - 2, 0))
        if left - (k + 2) == 1:  # a line can't cost 1 octet: shorten this one
            k -= 1
        body.append(LINE[:k] + "\n")
        wire += k + 2
    text = head + "".join(body)
    if len(text) + text.count("\n") != size:
        raise SystemExit(f"cannot build a message of exactly {size} octets")
    return text


def cmd_mbox(a):
    with open(a.file, "w", encoding="ascii", newline="\n") as f:
        for i in range(1, a.count + 1):
            # No body line starts with "From " or ">From ", so no quoting.
            f.write("From sender@bench.test Sat Nov 21 11:21:27 2026\n")
            f.write(message(i, a.size))
            f.write("\n")


def cmd_maildir(a):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(a.dir, sub), exist_ok=True)
    t0 = 1795000000
    for i in range(1, a.count + 1):
        text = message(i, a.size).encode("ascii")
        # S= is the file size, W= the size with CRLF line ends: with both in
        # the name, Dovecot need not open the file to learn them.
        name = f"{t0 + i}.M{i}P1.bench,S={len(text)},W={a.size}:2,S"
        path = os.path.join(a.dir, "cur", name)
        with open(path, "wb") as f:
            f.write(text)
        os.utime(path, (t0 + i, t0 + i))


def cmd_hash(a):
    import ctypes
    import ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt_gensalt_ra.restype = ctypes.c_void_p
    lib.crypt_gensalt_ra.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lib.crypt_gensalt_ra(b"$y$", 0, None, 0)
    if not salt:
        raise SystemExit("crypt_gensalt_ra($y$) failed")
    h = lib.crypt(a.password.encode(), ctypes.c_char_p(salt))
    if not h or not h.startswith(b"$y$"):
        raise SystemExit("crypt() failed")
    print(h.decode())


# ------------------------------------------------------------------- retr --
END = b"\r\n.\r\n"


def retr_bulk(p, i):
    """RETR i, reading the multi-line reply in large chunks instead of line by
    line (poplib's way). Returns the octets after the status line, the final
    ".CRLF" excluded, as poplib counts them (CRLF included, dot-stuffing not
    undone)."""
    p._putcmd(f"RETR {i}")
    status = p.file.readline(poplib._MAXLINE + 1)
    if not status.startswith(b"+OK"):
        raise poplib.error_proto(status.rstrip())
    f = p.file
    n = 0
    tail = b""
    while True:
        chunk = f.read1(65536)
        if not chunk:
            raise EOFError("connection closed during RETR")
        n += len(chunk)
        tail = (tail + chunk)[-5:]
        if tail.endswith(END) or (n == 3 and tail == b".\r\n"):
            return n - 3


def retr_worker(port, user, password, expect, timeout, barrier, out, bulk=False):
    res = {"user": user, "ok": 0, "msgs": 0, "octets": 0, "err": ""}
    try:
        barrier.wait(timeout)
        c0 = os.times()
        res["t0"] = time.monotonic()
        p = poplib.POP3("127.0.0.1", port, timeout=timeout)
        p.user(user)
        p.pass_(password)
        n, _ = p.stat()
        res["t_login"] = time.monotonic()
        if expect and n != expect:
            raise RuntimeError(f"STAT says {n} messages, expected {expect}")
        for i in range(1, n + 1):
            if bulk:
                octets = retr_bulk(p, i)
            else:
                _, _, octets = p.retr(i)
            res["octets"] += octets
            res["msgs"] += 1
        p.quit()
        res["t1"] = time.monotonic()
        c1 = os.times()
        res["cpu"] = (c1.user - c0.user) + (c1.system - c0.system)
        res["ok"] = 1
    except Exception as e:  # reported by the parent
        res["err"] = f"{type(e).__name__}: {e}"
        res.setdefault("t0", time.monotonic())
        res["t1"] = time.monotonic()
    out.put(res)


def cmd_retr(a):
    users = [u for u in a.users.split(",") if u]
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(len(users) + 1)
    out = ctx.Queue()
    procs = [ctx.Process(target=retr_worker,
                         args=(a.port, u, a.password, a.expect, a.timeout, barrier, out,
                               a.reader == "bulk"))
             for u in users]
    for p in procs:
        p.start()
    barrier.wait(a.timeout)
    results = []
    deadline = time.monotonic() + a.deadline
    for _ in procs:
        try:
            results.append(out.get(timeout=max(1.0, deadline - time.monotonic())))
        except Exception:
            break
    for p in procs:
        p.join(1)
        if p.is_alive():
            p.kill()
            p.join(1)
    ok = [r for r in results if r["ok"]]
    for r in results:
        if not r["ok"]:
            print(f"pop3_load: {r['user']}: {r['err']}", file=sys.stderr)
    if len(ok) != len(users):
        print(f"pop3_load: {len(ok)} of {len(users)} clients finished", file=sys.stderr)
        print("ok=0")
        return 1
    t0 = min(r["t0"] for r in ok)
    t1 = max(r["t1"] for r in ok)
    wall = t1 - t0
    msgs = sum(r["msgs"] for r in ok)
    octets = sum(r["octets"] for r in ok)
    login = max(r["t_login"] - r["t0"] for r in ok)
    cpu = sum(r["cpu"] for r in ok)
    print(f"ok=1 clients={len(ok)} msgs={msgs} octets={octets} wall={wall:.4f} "
          f"msg_s={msgs / wall:.1f} mb_s={octets / wall / 1e6:.2f} "
          f"max_login_s={login:.4f} client_cpu_s={cpu:.2f}")
    return 0


# ------------------------------------------------------------------- idle --
def tree_pids(root):
    par = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    s = f.read()
                par[int(d)] = int(s[s.rindex(")") + 2:].split()[1])
            except OSError:
                pass
    out = []
    for p in par:
        q, n = p, 0
        while q not in (0, 1, root) and n < 64:
            q, n = par.get(q, 0), n + 1
        if q == root:
            out.append(p)
    return out


def mem_kb(root):
    """(RSS, PSS, process count) of root and its descendants, in kB."""
    rss = pss = n = 0
    for p in tree_pids(root):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            n += 1
        except OSError:
            pass
    return rss, pss, n


def vmrss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_idle(port, count, timeout, proto):
    socks = []
    for i in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        greeting = b""
        while not greeting.endswith(b"\n"):
            chunk = s.recv(512)
            if not chunk:
                raise RuntimeError(f"{proto} connection {i + 1}: closed before the greeting")
            greeting += chunk
        want = b"+OK" if proto == "pop3" else b"220"
        if not greeting.startswith(want):
            raise RuntimeError(f"{proto} connection {i + 1}: greeting {greeting[:80]!r}")
        socks.append(s)
    return socks


def cmd_idle(a):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * a.count + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, soft), hard), hard))

    def sample(label, conns):
        time.sleep(a.settle)
        rss, pss, n = mem_kb(a.pid)
        print(f"{label} conns={conns} vmrss_kb={vmrss_kb(a.pid)} tree_rss_kb={rss} "
              f"tree_pss_kb={pss} procs={n}", flush=True)

    held = []
    try:
        # One warm-up connection of each kind, closed again, so one-time
        # allocations (first session, TLS context...) are in the baseline.
        for port, proto in ((a.pop3, "pop3"), (a.smtp, "smtp")):
            if port:
                for s in open_idle(port, 1, a.timeout, proto):
                    s.close()
        time.sleep(a.settle)
        sample("before", 0)
        if a.pop3:
            held += open_idle(a.pop3, a.count, a.timeout, "pop3")
            sample("pop3", len(held))
        if a.smtp:
            held += open_idle(a.smtp, a.count, a.timeout, "smtp")
            sample("smtp", len(held))
        # Still connected? A server that dropped idle sessions would make the
        # figures meaningless.
        alive = 0
        for s in held:
            s.setblocking(False)
            try:
                alive += s.recv(1, socket.MSG_PEEK) != b""
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        print(f"alive conns={alive}", flush=True)
    except Exception as e:
        print(f"pop3_load: idle: {type(e).__name__}: {e} (after {len(held)} connections)",
              file=sys.stderr)
        return 1
    finally:
        for s in held:
            s.close()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-t", "--timeout", type=float, default=60.0,
                    help="seconds for each network operation")
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mbox")
    m.add_argument("file")
    m.add_argument("-n", "--count", type=int, default=2000)
    m.add_argument("-s", "--size", type=int, default=4096)
    m.set_defaults(fn=cmd_mbox)
    d = sub.add_parser("maildir")
    d.add_argument("dir")
    d.add_argument("-n", "--count", type=int, default=2000)
    d.add_argument("-s", "--size", type=int, default=4096)
    d.set_defaults(fn=cmd_maildir)
    h = sub.add_parser("hash")
    h.add_argument("password")
    h.set_defaults(fn=cmd_hash)
    r = sub.add_parser("retr")
    r.add_argument("-p", "--port", type=int, required=True)
    r.add_argument("-u", "--users", required=True)
    r.add_argument("-w", "--password", default="password")
    r.add_argument("-e", "--expect", type=int, default=0)
    r.add_argument("-r", "--reader", choices=("lines", "bulk"), default="lines",
                   help="lines: poplib's retr(); bulk: read each reply in large chunks")
    r.add_argument("-D", "--deadline", type=float, default=600.0,
                   help="seconds for the whole run")
    r.set_defaults(fn=cmd_retr)
    i = sub.add_parser("idle")
    i.add_argument("--pop3", type=int, default=0)
    i.add_argument("--smtp", type=int, default=0)
    i.add_argument("-c", "--count", type=int, default=1000)
    i.add_argument("--pid", type=int, required=True)
    i.add_argument("--settle", type=float, default=1.0,
                   help="seconds to wait before each memory sample")
    i.set_defaults(fn=cmd_idle)
    a = ap.parse_args()
    sys.exit(a.fn(a) or 0)


if __name__ == "__main__":
    main()
