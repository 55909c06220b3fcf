#!/usr/bin/env python3
"""memory_load.py - the clients of bench/memory_bench.sh (stdlib only).

  memory_load.py smtp -p PORT -t RCPT [-f FROM] [-n SESSIONS] [-s SIZE]
      SESSIONS sessions (one thread each), released together at a barrier;
      each sends one message of SIZE octets (CRLF line ends, as on the wire)
      to RCPT with EHLO, MAIL (SIZE=), RCPT, DATA over a raw socket; prints
      one line of key=value figures
  memory_load.py pop3 -p PORT -u USER [-w PASSWORD] [-s SIZE]
      USER/PASS, STAT (1 message expected), RETR 1 read to the end in large
      chunks, QUIT; checks that the reply holds SIZE octets. With -s 0 it
      logs in, checks STAT and quits (the warm-up)

The messages are pop3_load.py's (5 header lines, 67-character body lines, no
line starting with "."), so no dot-stuffing is needed and the octet counts
are exact. Every network operation has a timeout (-T, default 120 s). With --pid PID, a
thread samples the memory of PID and its descendants every --every s (default 0.02) during
the load and the line ends with peak_rss_kb= peak_pss_kb= peak_anon_kb= (sums, kB).
"""
import argparse
import os
import poplib
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pop3_load  # noqa: E402  (message(), retr_bulk())


class Sampler:
    """Samples the memory of process `root` and its descendants every `every` seconds in a
    thread, keeping the largest sums of Rss, Pss and Anonymous (kB, /proc/PID/smaps_rollup).
    The shell's sampler is too slow for a POP3 session that lives a fraction of a second
    (Dovecot's pop3 process); this one runs beside the client for the whole session."""

    def __init__(self, root, every):
        self.root, self.every = root, every
        self.peak = [0, 0, 0]
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def sample(self):
        tot = [0, 0, 0]
        for p in pop3_load.tree_pids(self.root):  # root included
            try:
                with open(f"/proc/{p}/smaps_rollup") as f:
                    for line in f:
                        for i, k in enumerate(("Rss:", "Pss:", "Anonymous:")):
                            if line.startswith(k):
                                tot[i] += int(line.split()[1])
            except OSError:
                pass
        self.peak = [max(a, b) for a, b in zip(self.peak, tot)]

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.every)

    def __enter__(self):
        if self.root:
            self.t.start()
        return self

    def __exit__(self, *exc):
        if self.root:
            self.stop.set()
            self.t.join()
            self.sample()

    def figures(self):
        if not self.root:
            return ""
        return " peak_rss_kb=%d peak_pss_kb=%d peak_anon_kb=%d" % tuple(self.peak)


def wire_message(size):
    """One message of exactly `size` octets with CRLF line ends."""
    data = pop3_load.message(1, size).replace("\n", "\r\n").encode("ascii")
    assert len(data) == size
    return data


class Smtp:
    def __init__(self, port, timeout):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def reply(self, want):
        lines = []
        while True:
            line = self.f.readline(4096)
            if not line:
                raise EOFError("connection closed")
            lines.append(line.decode("latin-1").rstrip())
            if len(line) < 4 or line[3:4] != b"-":
                break
        if not lines[-1].startswith(want):
            raise RuntimeError(" / ".join(lines))
        return lines

    def cmd(self, text, want):
        self.s.sendall(text.encode("ascii") + b"\r\n")
        return self.reply(want)

    def close(self):
        try:
            self.f.close()
            self.s.close()
        except OSError:
            pass


def smtp_worker(a, data, barrier, res):
    r = {"ok": 0, "err": ""}
    res.append(r)
    c = None
    try:
        barrier.wait(a.timeout)
        r["t0"] = time.monotonic()
        c = Smtp(a.port, a.timeout)
        c.reply("220")
        c.cmd("EHLO bench.test", "250")
        c.cmd(f"MAIL FROM:<{a.sender}> SIZE={len(data)}", "250")
        c.cmd(f"RCPT TO:<{a.rcpt}>", "250")
        c.cmd("DATA", "354")
        c.s.sendall(data)
        c.s.sendall(b".\r\n")
        c.reply("250")
        r["t_250"] = time.monotonic()
        c.cmd("QUIT", "221")
        r["ok"] = 1
    except Exception as e:  # reported by the main thread
        r["err"] = f"{type(e).__name__}: {e}"
    finally:
        r.setdefault("t0", time.monotonic())
        r.setdefault("t_250", time.monotonic())
        if c:
            c.close()


def cmd_smtp(a):
    data = wire_message(a.size)
    barrier = threading.Barrier(a.sessions + 1)
    res = []
    threads = [threading.Thread(target=smtp_worker, args=(a, data, barrier, res), daemon=True)
               for _ in range(a.sessions)]
    for t in threads:
        t.start()
    with Sampler(a.pid, a.every) as sampler:
        barrier.wait(a.timeout)
        t0 = time.monotonic()
        deadline = t0 + a.deadline
        for t in threads:
            t.join(max(0.1, deadline - time.monotonic()))
    ok = [r for r in res if r["ok"]]
    for r in res:
        if not r["ok"]:
            print(f"memory_load: smtp: {r['err']}", file=sys.stderr)
    if len(ok) != a.sessions:
        print(f"memory_load: {len(ok)} of {a.sessions} sessions got 250", file=sys.stderr)
        print("ok=0")
        return 1
    wall = max(r["t_250"] for r in ok) - t0
    print(f"ok=1 sessions={len(ok)} octets={len(data) * len(ok)} wall={wall:.3f}"
          + sampler.figures())
    return 0


def cmd_pop3(a):
    t0 = time.monotonic()
    sampler = Sampler(a.pid, a.every)
    try:
        with sampler:
            p = poplib.POP3("127.0.0.1", a.port, timeout=a.timeout)
            p.user(a.user)
            p.pass_(a.password)
            n, total = p.stat()
            if a.size == 0:
                p.quit()
                print(f"ok=1 msgs={n} wall={time.monotonic() - t0:.3f}")
                return 0
            if n != 1:
                raise RuntimeError(f"STAT says {n} messages, expected 1")
            octets = pop3_load.retr_bulk(p, 1)
            p.quit()
    except Exception as e:
        print(f"memory_load: pop3: {type(e).__name__}: {e}", file=sys.stderr)
        print("ok=0")
        return 1
    wall = time.monotonic() - t0
    if octets != a.size:
        print(f"memory_load: pop3: RETR 1 gave {octets} octets, expected {a.size} "
              f"(STAT said {total})", file=sys.stderr)
        print("ok=0")
        return 1
    print(f"ok=1 octets={octets} wall={wall:.3f}" + sampler.figures())
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-T", "--timeout", type=float, default=120.0,
                    help="seconds for each network operation")
    ap.add_argument("-D", "--deadline", type=float, default=900.0,
                    help="seconds for the whole run")
    ap.add_argument("--pid", type=int, default=0,
                    help="sample the memory of this process and its descendants meanwhile")
    ap.add_argument("--every", type=float, default=0.02, help="seconds between those samples")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("smtp")
    s.add_argument("-p", "--port", type=int, required=True)
    s.add_argument("-t", "--rcpt", required=True)
    s.add_argument("-f", "--sender", default="sender@bench.test")
    s.add_argument("-n", "--sessions", type=int, default=1)
    s.add_argument("-s", "--size", type=int, default=4096)
    s.set_defaults(fn=cmd_smtp)
    p = sub.add_parser("pop3")
    p.add_argument("-p", "--port", type=int, required=True)
    p.add_argument("-u", "--user", required=True)
    p.add_argument("-w", "--password", default="password")
    p.add_argument("-s", "--size", type=int, default=0)
    p.set_defaults(fn=cmd_pop3)
    a = ap.parse_args()
    sys.exit(a.fn(a) or 0)


if __name__ == "__main__":
    main()
