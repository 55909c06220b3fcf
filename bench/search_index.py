#!/usr/bin/env python3
"""search_index.py - the IMAP search index (issue 9): its size and SEARCH time with and without it.

  bench/search_index.py [--ternd build/ternd] [-n 10000] [-s 4096] [-r 3]

Two mailboxes, each imported with `ternd import mbox` into a fresh data directory:
  corpus  the ~240 messages of tests/e2e/test_imap_search.py (MIME, charsets, encodings)
  big     N generated messages of about S octets of text (Zipf-distributed words from a
          20,000-word vocabulary; 60% 8bit, 25% quoted-printable, 15% base64; a few rare words)
For each: the store's size, the index's size once the indexer has caught up (search.db after a
clean stop, i.e. checkpointed) and the time that took. For `big`: UID SEARCH BODY / TEXT for a
rare, a middling and a common word, and a two-key AND, first with imap.search_index = 0 then = 1,
median of 2 x R runs each (two rounds of without/with), side by side. Prints figures; asserts only that both give the same UIDs.
"""
import argparse
import base64
import os
import quopri
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import ternlib  # noqa: E402

PASSWORD = "bench-search-pw"
USER = "big@" + ternlib.DOMAIN
CONFIG = "[auth]\nallow_plaintext = true\n[imap]\nsearch_index = {on}\n"
RARE = "xylophonicity"


def vocabulary(rng, n=20000):
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(letters) for _ in range(rng.randrange(3, 11))))
    return sorted(words)


def big_messages(n, size, seed=9):
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    weights = [1.0 / (r + 1) for r in range(len(vocab))]  # Zipf
    rare_at = set(rng.sample(range(n), 5))
    for i in range(n):
        words = rng.choices(vocab, weights, k=size // 7)
        if i in rare_at:
            words[rng.randrange(len(words))] = RARE
        lines, line = [], []
        for w in words:
            line.append(w)
            if len(line) == 10:
                lines.append(" ".join(line))
                line = []
        lines.append(" ".join(line))
        text = "\n".join(lines) + "\n"
        r = rng.random()
        if r < 0.6:
            cte, body = "8bit", text
        elif r < 0.85:
            cte, body = "quoted-printable", quopri.encodestring(text.encode()).decode()
        else:
            cte, body = "base64", base64.encodebytes(text.encode()).decode()
        head = (f"From: sender{i % 97}@remote.example\nTo: {USER}\nSubject: {' '.join(words[:5])}\n"
                f"Date: Sat, 21 Nov 2026 11:21:27 +0000\nMessage-ID: <big.{i}@bench.test>\n"
                f"MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n"
                f"Content-Transfer-Encoding: {cte}\n\n")
        yield (head + body).encode()
    return vocab


def corpus_messages():
    import test_imap_search as t  # the e2e corpus generator
    rng = random.Random(t.SEED)
    return [t.gen_message(rng, i).replace(b"\r\n", b"\n") for i in range(t.N_SMTP + t.N_APPEND)]


def write_mbox(path, messages):
    total = 0
    with open(path, "wb") as f:
        for m in messages:
            total += len(m)
            f.write(b"From sender@bench.test Sat Nov 21 11:21:27 2026\n")
            for line in m.split(b"\n"):
                if re.match(rb">*From ", line):
                    line = b">" + line
                f.write(line + b"\n")
            f.write(b"\n")
    return total


def file_size(path):
    return sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))


def mib(n):
    return f"{n / 1048576:.1f} MiB"


class Imap:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=300)
        self.buf = b""
        self.n = 0
        self.line()
        self.cmd(f'LOGIN "{USER}" "{PASSWORD}"')
        self.cmd("SELECT INBOX")

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cmd(self, text):
        self.n += 1
        tag = f"b{self.n}"
        self.sock.sendall(f"{tag} {text}\r\n".encode())
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag.encode() + b" "):
                if not line[len(tag) + 1:].startswith(b"OK"):
                    raise RuntimeError(f"{text} -> {line!r}")
                return untagged
            untagged.append(line)

    def search(self, key):
        t0 = time.perf_counter()
        lines = self.cmd(f"UID SEARCH {key}")
        ms = (time.perf_counter() - t0) * 1000
        uids = [int(x) for l in lines if l.startswith(b"* SEARCH") for x in l[8:].split()]
        return ms, uids


def prepare(work, name, mbox, on):
    srv = ternlib.Server(protos=("imap",), config=CONFIG.format(on=on))
    srv.data = os.path.join(work, name)  # one data dir, used by both runs
    if not os.path.exists(srv.data):
        srv.add_domain(ternlib.DOMAIN)
        srv.add_user(USER, PASSWORD)
        subprocess.run([ternlib.TERND, "--data", srv.data, "import", "mbox", mbox, "--to", USER],
                       check=True, stdout=subprocess.DEVNULL)
    return srv


def wait_indexed(srv, n, timeout):
    """Seconds until the indexer's log lines add up to n messages."""
    t0 = time.monotonic()
    while True:
        done = sum(int(x) for x in re.findall(r"search index: \S+: (\d+) messages indexed", srv.log_text()))
        if done >= n:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"the index did not catch up in {timeout} s ({done} of {n})")
        time.sleep(0.1)


def sizes(label, srv, raw_bytes, n, index_secs):
    srv.stop()  # the last connection's close checkpoints the WAL
    store = file_size(os.path.join(srv.data, "store.db"))
    index = file_size(os.path.join(srv.data, "search.db"))
    print(f"{label:8} {n:6} messages  raw {mib(raw_bytes):>10}  store.db {mib(store):>10}  "
          f"search.db {mib(index):>10} = {index / store * 100:5.1f}% of store.db, "
          f"{index / max(raw_bytes, 1) * 100:5.1f}% of raw, {index / n:7.0f} B/message;  indexed in {index_secs:.1f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternd", default=os.environ.get("TERND", "build/ternd"))
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("-s", type=int, default=4096)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("-k", "--keep", action="store_true")
    a = ap.parse_args()
    ternlib.TERND = os.path.abspath(a.ternd)
    work = tempfile.mkdtemp(prefix="tern-search-bench-", dir=os.environ.get("BENCH_TMPDIR", "/var/tmp"))
    try:
        print(f"# search index bench: n={a.n} size~{a.s} runs={a.r} load={os.getloadavg()[0]:.2f}")
        # -- the e2e corpus: size only
        msgs = corpus_messages()
        mbox = os.path.join(work, "corpus.mbox")
        raw = write_mbox(mbox, msgs)
        srv = prepare(work, "corpus", mbox, 1)
        srv.start()
        secs = wait_indexed(srv, len(msgs), 120)
        sizes("corpus", srv, raw, len(msgs), secs)
        # -- the big mailbox
        mbox = os.path.join(work, "big.mbox")
        raw = write_mbox(mbox, big_messages(a.n, a.s))
        vocab = vocabulary(random.Random(9))
        keys = [("BODY rare", f"BODY {RARE}"), ("BODY mid", f"BODY {vocab[2000]}"),
                ("BODY common", f"BODY {vocab[0]}"), ("TEXT rare", f"TEXT {RARE}"),
                ("BODY 3 chars", f"BODY {vocab[500][:3]}"),
                ("AND 2 words", f"BODY {vocab[300]} BODY {vocab[700]}")]
        results = {}
        # Two rounds of (without, with), so that load from others on a shared machine falls on both.
        for rnd in range(2):
            for on in (0, 1):
                srv = prepare(work, "big", mbox, on)
                srv.start()
                secs = wait_indexed(srv, a.n, 1800) if on and rnd == 0 else 0
                imap = Imap(srv.port("imap"))
                for label, key in keys:
                    runs = [imap.search(key) for _ in range(a.r)]
                    ms, uids = results.setdefault((on, label), ([], runs[0][1]))
                    ms.extend(m for m, _ in runs)
                    assert uids == runs[0][1], label
                if on and rnd == 0:
                    sizes("big", srv, raw, a.n, secs)
                else:
                    srv.stop()
        results = {k: (statistics.median(ms), uids) for k, (ms, uids) in results.items()}
        print(f"{'UID SEARCH':14} {'hits':>6} {'no index ms':>12} {'index ms':>10} {'ratio':>7}")
        for label, _ in keys:
            (off_ms, off_uids), (on_ms, on_uids) = results[(0, label)], results[(1, label)]
            assert off_uids == on_uids, (label, len(off_uids), len(on_uids))
            print(f"{label:14} {len(on_uids):6} {off_ms:12.1f} {on_ms:10.1f} {off_ms / on_ms:6.1f}x")
    finally:
        if a.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
