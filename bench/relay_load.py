#!/usr/bin/env python3
"""relay_load.py - the load generator of bench/relay_bench.sh (stdlib only).

  relay_load.py -p PORT -m MESSAGES -s SESSIONS -l SIZE -f FROM -t RCPT[,RCPT...]
                [-u USER -w PASSWORD] [-r PER_CONNECTION]

SESSIONS threads share MESSAGES messages of SIZE octets (CRLF lines of 76
characters, a unique Message-ID each); message i goes to the i-th recipient of
the list, cyclically (two recipients: half each). Each session sends
PER_CONNECTION messages per connection (1: a connection per message, like
smtp-source without -d): EHLO, AUTH PLAIN when -u is given (Tern relays only
for authenticated clients; Postfix relays for mynetworks), MAIL, RCPT, DATA,
QUIT. Like smtp-source it is what the server is fed with, so both servers get
the same clients. Prints one line: sent=N failed=F seconds=S; exit 1 if any
message failed.
"""
import argparse
import base64
import socket
import sys
import threading
import time


def reply(f):
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        if line[3:4] != b"-":
            return int(line[:3]), line


def body(size, n, sender):
    head = (f"From: <{sender}>\r\nSubject: relay bench {n}\r\n"
            f"Message-ID: <{n}.{time.time_ns()}@relay-load.test>\r\n\r\n").encode()
    line = b"x" * 76 + b"\r\n"
    out = head + line * max(0, (size - len(head)) // len(line))
    return out + b"y" * max(0, size - len(out) - 2) + b"\r\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", type=int, required=True)
    ap.add_argument("-H", default="127.0.0.1")
    ap.add_argument("-m", type=int, default=5000)
    ap.add_argument("-s", type=int, default=10)
    ap.add_argument("-l", type=int, default=4096)
    ap.add_argument("-f", required=True)
    ap.add_argument("-t", required=True)
    ap.add_argument("-u")
    ap.add_argument("-w", default="")
    ap.add_argument("-r", type=int, default=1)
    a = ap.parse_args()
    rcpts = a.t.split(",")
    lock = threading.Lock()
    state = {"next": 0, "sent": 0, "failed": 0}
    auth = None
    if a.u:
        auth = b"AUTH PLAIN " + base64.b64encode(b"\0" + a.u.encode() + b"\0" + a.w.encode()) + b"\r\n"

    def take():
        with lock:
            if state["next"] >= a.m:
                return None
            state["next"] += 1
            return state["next"] - 1

    def session():
        n = take()
        while n is not None:
            try:
                with socket.create_connection((a.H, a.p), timeout=120) as s:
                    f = s.makefile("rb")
                    if reply(f)[0] != 220:
                        raise ConnectionError("greeting")
                    s.sendall(b"EHLO relay-load.test\r\n")
                    reply(f)
                    if auth:
                        s.sendall(auth)
                        c, line = reply(f)
                        if c != 235:
                            raise ConnectionError(f"AUTH: {line!r}")
                    for _ in range(a.r):
                        if n is None:
                            break
                        data = body(a.l, n, a.f)
                        stuffed = data.replace(b"\r\n.", b"\r\n..")
                        s.sendall(f"MAIL FROM:<{a.f}>\r\n".encode())
                        c1, l1 = reply(f)
                        s.sendall(f"RCPT TO:<{rcpts[n % len(rcpts)]}>\r\n".encode())
                        c2, l2 = reply(f)
                        if c1 != 250 or c2 not in (250, 251):
                            s.sendall(b"RSET\r\n")
                            reply(f)
                            raise ConnectionError(f"MAIL/RCPT: {l1!r} {l2!r}")
                        s.sendall(b"DATA\r\n")
                        if reply(f)[0] != 354:
                            raise ConnectionError("DATA")
                        s.sendall(stuffed + b".\r\n")
                        c, line = reply(f)
                        if c != 250:
                            raise ConnectionError(f"end of data: {line!r}")
                        with lock:
                            state["sent"] += 1
                        n = take()
                    s.sendall(b"QUIT\r\n")
            except (OSError, ConnectionError) as e:
                with lock:
                    state["failed"] += 1
                    if state["failed"] <= 5:
                        print(f"relay_load: message {n}: {e}", file=sys.stderr)
                n = take()

    t0 = time.monotonic()
    threads = [threading.Thread(target=session) for _ in range(a.s)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"sent={state['sent']} failed={state['failed']} seconds={time.monotonic() - t0:.3f}")
    sys.exit(1 if state["failed"] else 0)


if __name__ == "__main__":
    main()
