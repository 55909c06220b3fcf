#!/usr/bin/env python3
"""imap_load.py - load generator for bench/imap_bench.sh (stdlib only; messages, Maildirs and
password hashes come from pop3_load.py beside it).

  imap_load.py fetch -p PORT -u USER1,USER2,... [-w PASSWORD] [-e EXPECT] [-b BATCH]
      one process per user, released together: connect, LOGIN, SELECT INBOX, the header list
      a client shows (UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)), then every
      message's BODY.PEEK[] in batches of BATCH, LOGOUT; prints one line of key=value figures
  imap_load.py idle -p PORT -c COUNT --pid PID [-u USER] [-w PASSWORD]
      open COUNT connections, each logged in with INBOX selected and in IDLE; prints the memory
      of process PID (and its descendants) before and after, and how many are still alive

Every network operation has a timeout (-t, default 60 s).
"""
import argparse
import imaplib
import multiprocessing as mp
import os
import re
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pop3_load  # noqa: E402  (mem_kb, vmrss_kb)


def fetch_worker(port, user, password, expect, batch, timeout, barrier, out):
    try:
        barrier.wait(timeout)
        t0 = time.monotonic()
        m = imaplib.IMAP4("127.0.0.1", port, timeout=timeout)
        m.login(user, password)
        login = time.monotonic() - t0
        typ, data = m.select("INBOX", readonly=True)
        n = int(data[0])
        if expect and n != expect:
            raise RuntimeError(f"{user}: {n} messages, expected {expect}")
        t1 = time.monotonic()
        typ, data = m.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)")
        if typ != "OK" or len([d for d in data if d]) < n:
            raise RuntimeError(f"{user}: header list failed: {typ}")
        headers = time.monotonic() - t1
        octets = 0
        for first in range(1, n + 1, batch):
            last = min(n, first + batch - 1)
            typ, data = m.fetch(f"{first}:{last}", "(BODY.PEEK[])")
            if typ != "OK":
                raise RuntimeError(f"{user}: FETCH {first}:{last}: {typ}")
            got = [d for d in data if isinstance(d, tuple)]
            if len(got) != last - first + 1:
                raise RuntimeError(f"{user}: FETCH {first}:{last} gave {len(got)} messages")
            octets += sum(len(d[1]) for d in got)
        m.logout()
        out.put((user, n, octets, login, headers, time.monotonic() - t0, None))
    except Exception as e:  # reported by the parent
        out.put((user, 0, 0, 0, 0, 0, f"{type(e).__name__}: {e}"))


def cmd_fetch(a):
    users = a.users.split(",")
    barrier = mp.Barrier(len(users) + 1)
    out = mp.Queue()
    procs = [mp.Process(target=fetch_worker,
                        args=(a.port, u, a.password, a.expect, a.batch, a.timeout, barrier, out))
             for u in users]
    for p in procs:
        p.start()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    barrier.wait(a.timeout)
    t0 = time.monotonic()
    results = [out.get(timeout=a.deadline) for _ in users]
    wall = time.monotonic() - t0
    for p in procs:
        p.join(a.timeout)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    errors = [r[6] for r in results if r[6]]
    if errors:
        print("imap_load: fetch: " + "; ".join(errors[:3]), file=sys.stderr)
        print("ok=0")
        return 1
    msgs = sum(r[1] for r in results)
    octets = sum(r[2] for r in results)
    cpu = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
    print(f"ok=1 users={len(users)} msgs={msgs} octets={octets} wall={wall:.3f} "
          f"msg_s={msgs / wall:.1f} mb_s={octets / wall / 1e6:.2f} "
          f"max_login_s={max(r[3] for r in results):.4f} "
          f"max_headers_s={max(r[4] for r in results):.4f} client_cpu_s={cpu:.2f}")
    return 0


def open_idle(port, count, user, password, timeout):
    socks = []
    for i in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        f = s.makefile("rb")
        if not f.readline().startswith(b"* OK"):
            raise RuntimeError(f"connection {i + 1}: no greeting")
        s.sendall(f'a LOGIN "{user}" "{password}"\r\nb SELECT INBOX\r\nc IDLE\r\n'.encode())
        while True:
            line = f.readline()
            if not line:
                raise RuntimeError(f"connection {i + 1}: closed")
            if re.match(rb"^[ab] (NO|BAD)", line):
                raise RuntimeError(f"connection {i + 1}: {line[:80]!r}")
            if line.startswith(b"+"):
                break
        socks.append((s, f))
    return socks


def cmd_idle(a):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.count + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, soft), hard), hard))

    def sample(label, conns):
        time.sleep(a.settle)
        rss, pss, n = pop3_load.mem_kb(a.pid)
        print(f"{label} conns={conns} vmrss_kb={pop3_load.vmrss_kb(a.pid)} tree_rss_kb={rss} "
              f"tree_pss_kb={pss} procs={n}", flush=True)

    held = []
    try:
        for s, f in open_idle(a.port, 1, a.user, a.password, a.timeout):  # warm-up
            s.close()
        time.sleep(a.settle)
        sample("before", 0)
        held = open_idle(a.port, a.count, a.user, a.password, a.timeout)
        sample("imap", len(held))
        alive = 0
        for s, f in held:
            s.setblocking(False)
            try:
                alive += s.recv(1, socket.MSG_PEEK) != b""
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        print(f"alive conns={alive}", flush=True)
    except Exception as e:
        print(f"imap_load: idle: {type(e).__name__}: {e} (after {len(held)} connections)", file=sys.stderr)
        return 1
    finally:
        for s, f in held:
            s.close()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-t", "--timeout", type=float, default=60.0)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch")
    f.add_argument("-p", "--port", type=int, required=True)
    f.add_argument("-u", "--users", required=True)
    f.add_argument("-w", "--password", default="password")
    f.add_argument("-e", "--expect", type=int, default=0)
    f.add_argument("-b", "--batch", type=int, default=100)
    f.add_argument("-D", "--deadline", type=float, default=600.0)
    i = sub.add_parser("idle")
    i.add_argument("-p", "--port", type=int, required=True)
    i.add_argument("-c", "--count", type=int, required=True)
    i.add_argument("--pid", type=int, required=True)
    i.add_argument("-u", "--user", default="user1@bench.test")
    i.add_argument("-w", "--password", default="password")
    i.add_argument("--settle", type=float, default=2.0)
    a = ap.parse_args()
    return cmd_fetch(a) if a.cmd == "fetch" else cmd_idle(a)


if __name__ == "__main__":
    sys.exit(main())
