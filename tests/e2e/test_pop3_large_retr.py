#!/usr/bin/env python3
# POP3 RETR and TOP of a ~30 MB message against a real ternd (issue 7: memory must not grow with
# message size): the message arrives byte for byte (RFC 1939 §3 dot-stuffing undone by poplib),
# and ternd's anonymous memory grows by a few MiB while it sends it, not by a multiple of its size.
# RssAnon, not VmRSS: SQLite maps store.db, so the message's pages count in RSS as file pages.
import os
import poplib
import random
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

PASSWORD = "large-retr-pw"
SIZE = 30 * 1000 * 1000
LIMIT_KB = 25 * 1024          # allowed growth of anonymous memory during the RETR
CONFIG = "[auth]\nallow_plaintext = true\n"


def status_kb(pid):
    """{field: kB} from /proc/<pid>/status for the memory fields."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0])
    return out


def make_message(size):
    """CRLF lines below poplib's 2048-octet line limit, many starting with '.' (stuffed on the
    wire), none starting with 'From ' (mbox); ends with CRLF."""
    rng = random.Random(7)
    alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789 .-"
    parts = [b"From: big@remote.example\r\nTo: carol@" + DOMAIN.encode() +
             b"\r\nSubject: large retr\r\nMessage-ID: <large@remote.example>\r\n\r\n"]
    n = len(parts[0])
    i = 0
    while n < size:
        i += 1
        length = rng.randrange(0, 1500)
        body = bytes(rng.choice(alphabet) for _ in range(min(length, 40))) * (length // 40 + 1)
        line = body[:length]
        if i % 7 == 0:
            line = b"." + line          # stuffed: a line starting with the terminator octet
        if i % 101 == 0:
            line = b"."                 # a line that would end the response if not stuffed
        line += b"\r\n"
        parts.append(line)
        n += len(line)
    return b"".join(parts)


class LargeRetr(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ternlib.without_asan_quarantine()
        cls.srv = ternlib.Server(protos=("pop3",), config=CONFIG, trace=False)
        cls.srv.add_domain(DOMAIN)
        cls.addr = f"carol@{DOMAIN}"
        cls.srv.add_user(cls.addr, PASSWORD)
        cls.message = make_message(SIZE)
        # Imported by the admin command (another process), so that ternd never held the message
        # before the RETR and its heap has no freed room of that size to reuse unnoticed.
        mbox = os.path.join(cls.srv.tmp, "large.mbox")
        with open(mbox, "wb") as f:
            f.write(b"From big@remote.example Mon Dec  7 00:00:00 2026\n")
            f.write(cls.message.replace(b"\r\n", b"\n"))
            f.write(b"\n")
        cls.srv.import_mbox(mbox, cls.addr)
        os.unlink(mbox)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def stored(self):
        """The message exactly as the store holds it (per-copy prefix + body)."""
        db = sqlite3.connect(f"file:{os.path.join(self.srv.data, 'store.db')}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT m.prefix, b.data FROM messages m JOIN bodies b ON b.id = m.body_id").fetchall()
        finally:
            db.close()
        self.assertEqual(len(row), 1)
        return bytes(row[0][0]) + bytes(row[0][1])

    def login(self):
        p = poplib.POP3("127.0.0.1", self.srv.port("pop3"), timeout=60)
        p.user(self.addr)
        p.pass_(PASSWORD)
        return p

    def test_retr_is_exact_and_memory_stays_flat(self):
        stored = self.stored()
        self.assertTrue(stored.endswith(self.message), "the store holds the imported message")
        pid = self.srv.proc.pid
        p = self.login()
        self.assertEqual(p.stat()[0], 1)
        # A small RETR first, so that first-use allocations are not counted.
        top = p.top(1, 0)
        time.sleep(0.5)
        ternlib.reset_peak_rss(pid)    # if not ours to reset, the sampled figures still count
        before = status_kb(pid)
        sampler = ternlib.PeakSampler(pid, "RssAnon")
        sampler.start()
        try:
            resp, lines, octets = p.retr(1)
        finally:
            peak = {"RssAnon": sampler.stop()}
        after = status_kb(pid)
        p.quit()

        self.assertTrue(resp.startswith(b"+OK " + str(len(stored)).encode() + b" octets"), resp)
        got = b"\r\n".join(lines) + b"\r\n"
        self.assertEqual(len(got), len(stored))
        self.assertTrue(got == stored, "RETR returned other bytes than the store holds")
        # TOP 0 sent the header section and the empty line.
        header = stored[:stored.index(b"\r\n\r\n") + 2]
        self.assertEqual(b"\r\n".join(top[1]) + b"\r\n", header + b"\r\n")

        # The peak of anonymous memory: sampled, and bounded below by the high-water mark less the
        # file pages (store.db mapped) and shared memory still resident at the end.
        hwm_anon = after["VmHWM"] - after["RssFile"] - after["RssShmem"]
        growth = max(peak["RssAnon"], hwm_anon) - before["RssAnon"]
        print(f"\nRETR of {len(stored)} octets: RssAnon {before['RssAnon']} -> peak {peak['RssAnon']} kB "
              f"(HWM-based {hwm_anon} kB), growth {growth} kB; VmHWM {after['VmHWM']} kB, "
              f"RssFile {before['RssFile']} -> {after['RssFile']} kB", file=sys.stderr)
        self.assertLess(growth, LIMIT_KB,
                        f"ternd's anonymous memory grew by {growth // 1024} MiB for a "
                        f"{len(stored) // 1000000} MB RETR")

    def test_top_of_large_message(self):
        stored = self.stored()
        p = self.login()
        resp, lines, _ = p.top(1, 3)
        p.quit()
        body_at = stored.index(b"\r\n\r\n") + 4
        want = stored[:body_at]
        for _ in range(3):
            want = stored[:stored.index(b"\r\n", len(want)) + 2]
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", want)


if __name__ == "__main__":
    ternlib.main()
