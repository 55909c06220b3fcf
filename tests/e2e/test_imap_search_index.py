#!/usr/bin/env python3
# The IMAP search index (issue 9, <data>/search.db) as derived data: a ternd whose search.db is
# garbage or missing at start builds it anew and SEARCH answers the same, through the index again;
# imap.search_index = 0 keeps no index and answers the same. Must stop by itself in seconds.
import imaplib
import os
import re
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

PASSWORD = "index-secret-pw"
CONFIG = "[auth]\nallow_plaintext = true\n"
WORDS = "harbor lemon quiet planet Grüße Σοφία привет café".split()
INDEX_LINE = re.compile(r"SEARCH: index skipped (\d+) of (\d+) messages")


def message(i):
    w = [WORDS[(i * 7 + k) % len(WORDS)] for k in range(3)]
    return (f"From: sender{i}@remote.example\r\nSubject: note {i}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"{' '.join(w)} number{i:03d}\r\n").encode()


def expected(needle):
    return {i + 1 for i in range(30) if needle.lower() in message(i).decode().split("\r\n\r\n", 1)[1].lower()}


class SearchIndexFile(unittest.TestCase):
    def start(self, config=CONFIG):
        srv = ternlib.Server(protos=("imap",), config=config)
        srv.add_domain(DOMAIN)
        srv.add_user(self.user, PASSWORD)
        srv.start()
        return srv

    def setUp(self):
        self.user = f"indexed@{DOMAIN}"

    def imap(self, srv):
        M = imaplib.IMAP4("127.0.0.1", srv.port("imap"), timeout=30)
        M.login(self.user, PASSWORD)
        return M

    def fill(self, srv):
        M = self.imap(srv)
        for i in range(30):
            typ, data = M.append("INBOX", "", None, message(i))
            self.assertEqual(typ, "OK", data)
        M.logout()

    def search(self, M, needle):
        M.literal = needle.encode()  # sent as a literal after the last argument
        typ, data = M.uid("SEARCH", "CHARSET", "UTF-8", "BODY")
        self.assertEqual(typ, "OK", data)
        return {int(x) for x in data[0].split()}

    def wait_indexed(self, srv, M, timeout=20.0):
        """Until a search for a string in no message skips all 30 (the index has them all)."""
        deadline = time.monotonic() + timeout
        while True:
            self.assertEqual(self.search(M, "zqxjv-nowhere"), set())
            skips = INDEX_LINE.findall(srv.log_text())
            if skips and skips[-1] == ("30", "30"):
                return
            self.assertLess(time.monotonic(), deadline, f"index did not catch up: {skips[-3:]}")
            time.sleep(0.2)

    def check_answers(self, M):
        for needle in ["lemon", "GRÜ\u1e9eE", "ΣΟΦΊΑ", "number01", "quiet planet"]:
            want = expected(needle)
            self.assertTrue(want, needle)
            self.assertEqual(self.search(M, needle), want, needle)
        self.assertEqual(self.search(M, "lemon café"), expected("lemon café"))

    def test_damaged_or_missing_index_is_rebuilt(self):
        srv = self.start()
        try:
            self.fill(srv)
            M = self.imap(srv)
            M.select("INBOX")
            self.wait_indexed(srv, M)
            self.check_answers(M)
            M.logout()
            db = os.path.join(srv.data, "search.db")
            for damage in ("garbage", "missing"):
                srv.stop()
                self.assertTrue(os.path.getsize(db) > 0)
                if damage == "garbage":
                    with open(db, "r+b") as f:
                        f.write(b"this is not an SQLite file" * 400)
                else:
                    for suffix in ("", "-wal", "-shm"):
                        if os.path.exists(db + suffix):
                            os.remove(db + suffix)
                srv.start()
                M = self.imap(srv)
                M.select("INBOX")
                self.wait_indexed(srv, M)  # rebuilt from the store at start
                self.check_answers(M)
                M.logout()
            self.assertIn("building it anew", srv.log_text())
        finally:
            srv.stop()

    def test_index_off(self):
        srv = self.start(CONFIG + "[imap]\nsearch_index = 0\n")
        try:
            self.fill(srv)
            M = self.imap(srv)
            M.select("INBOX")
            self.check_answers(M)
            M.logout()
            self.assertFalse(os.path.exists(os.path.join(srv.data, "search.db")))
            self.assertEqual(INDEX_LINE.findall(srv.log_text()), [])
        finally:
            srv.stop()


if __name__ == "__main__":
    ternlib.main()
