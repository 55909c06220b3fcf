#!/usr/bin/env python3
# IMAP against a real ternd with Python's imaplib (RFC 9051 / RFC 3501): every command imaplib
# has that Tern implements, over STARTTLS and imaps; IDLE by raw socket (new mail heard within a
# second); two connections seeing each other's changes; a large BODY[] and a partial one; limits;
# and UIDVALIDITY / UIDs / MODSEQ never going backwards across kill -9.
import email
import email.policy
import imaplib
import os
import re
import smtplib
import socket
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, tls_context  # noqa: E402

PASSWORD = "imap-secret-pw"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"


def deliver(srv, rcpt, messages):
    with smtplib.SMTP("127.0.0.1", srv.port("smtp"), timeout=10) as s:
        for m in messages:
            s.sendmail("sender@remote.example", [rcpt], m)


def msg(subject, body="hello\r\n", extra=""):
    return (f"From: Sender <sender@remote.example>\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@remote.example>\r\n{extra}\r\n{body}")


class Imap(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(protos=("smtp", "imap", "imaps"))
        cls.srv.add_domain(DOMAIN)
        cls.srv.add_user(ALICE, PASSWORD)
        cls.srv.add_user(BOB, PASSWORD)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def connect(self, user=ALICE, implicit=True):
        if implicit:
            m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.port("imaps"), ssl_context=tls_context(), timeout=20)
        else:
            m = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=20)
            m.starttls(ssl_context=tls_context())
        m.login(user, PASSWORD)
        self.addCleanup(self.close, m)
        return m

    @staticmethod
    def close(m):
        try:
            m.logout()
        except Exception:
            pass

    def fresh_mailbox(self, m, name):
        m.delete(name)
        typ, _ = m.create(name)
        self.assertEqual(typ, "OK")
        return name

    def test_plaintext_login_refused_before_tls(self):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port("imap"), timeout=10)
        self.addCleanup(self.close, m)
        self.assertIn("LOGINDISABLED", m.capabilities)
        self.assertIn("STARTTLS", m.capabilities)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login(ALICE, PASSWORD)
        m.starttls(ssl_context=tls_context())
        self.assertNotIn("LOGINDISABLED", m.capabilities)
        self.assertEqual(m.login(ALICE, PASSWORD)[0], "OK")

    def test_wrong_password(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.port("imaps"), ssl_context=tls_context(), timeout=20)
        self.addCleanup(self.close, m)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login(ALICE, "wrong")
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))

    def test_authenticate_plain_and_cram_md5_refused(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.port("imaps"), ssl_context=tls_context(), timeout=20)
        self.addCleanup(self.close, m)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login_cram_md5(ALICE, PASSWORD)  # not offered: NO
        typ, _ = m.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{PASSWORD}".encode())
        self.assertEqual(typ, "OK")
        self.assertEqual(m.state, "AUTH")

    def test_mailbox_commands(self):
        m = self.connect(implicit=False)
        box = self.fresh_mailbox(m, "Projects/2026")
        typ, data = m.list('""', "Projects*")
        self.assertEqual(typ, "OK")
        self.assertEqual(data, [b'(\\HasChildren) "/" "Projects"', b'(\\HasNoChildren) "/" "Projects/2026"'])
        self.assertEqual(m.rename("Projects", "Work")[0], "OK")
        self.assertEqual(m.list('""', "Work/*")[1], [b'(\\HasNoChildren) "/" "Work/2026"'])
        self.assertEqual(m.subscribe("Work/2026")[0], "OK")
        self.assertIn(b'"Work/2026"', b" ".join(m.lsub('""', "*")[1]))
        self.assertEqual(m.unsubscribe("Work/2026")[0], "OK")
        self.assertEqual(m.status("Work/2026", "(MESSAGES UIDNEXT UNSEEN)")[1],
                         [b'"Work/2026" (MESSAGES 0 UIDNEXT 1 UNSEEN 0)'])
        typ, data = m.namespace()
        self.assertEqual(data, [b'(("" "/")) NIL NIL'])
        self.assertEqual(m.delete("Work/2026")[0], "OK")
        self.assertEqual(m.delete("Work")[0], "OK")
        self.assertEqual(m.delete("INBOX")[0], "NO")
        self.assertEqual(m.select("Nope")[0], "NO")
        self.assertEqual(box, "Projects/2026")

    def test_utf8_mailbox_names(self):
        m = self.connect()
        # imaplib does not encode: the client sends modified UTF-7 itself (RFC 3501 §5.1.3).
        m.delete('"Caf&AOk-"')
        self.assertEqual(m.create('"Caf&AOk-"')[0], "OK")
        self.assertIn(b'"Caf&AOk-"', b" ".join(m.list('""', "Caf*")[1]))
        self.assertEqual(m.enable("UTF8=ACCEPT")[0], "OK")
        m._encoding = "utf-8"
        self.assertIn('"Café"'.encode(), b" ".join(m.list('""', "Caf*")[1]))

    def test_append_fetch_store_search_copy_move_expunge(self):
        m = self.connect()
        box = self.fresh_mailbox(m, "Flow")
        raw = msg("flow one", "first body\r\n").encode()
        typ, data = m.append(box, "(\\Flagged)", imaplib.Time2Internaldate(1796637600), raw)
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"^\[APPENDUID \d+ 1\]")
        m.append(box, None, None, msg("flow two", "second body caf\xe9\r\n".encode("latin-1").decode("latin-1")).encode("utf-8"))
        m.append(box, None, None, msg("flow three", "third\r\n").encode())
        typ, data = m.select(box)
        self.assertEqual(data, [b"3"])
        # RFC 3501 §2.3.2: this rev1 session is the first to see them, so they are \Recent here.
        self.assertEqual(m.response("RECENT")[1], [b"3"])
        typ, data = m.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
        self.assertIn(b"\\Flagged", data[0][0])
        self.assertIn(b"RFC822.SIZE %d" % len(raw), data[0][0])
        self.assertEqual(data[0][1], raw)
        typ, data = m.fetch("1:3", "(ENVELOPE)")
        self.assertEqual(len(data), 3)
        self.assertIn(b'"flow two"', data[1])
        # BODY[] (not PEEK) sets \Seen and reports the new flags.
        typ, data = m.fetch("2", "(BODY[TEXT])")
        self.assertIn(b"\\Seen", b" ".join(x if isinstance(x, bytes) else x[0] for x in data))
        self.assertEqual(m.search(None, "SEEN")[1], [b"2"])
        self.assertEqual(m.search(None, "UNSEEN")[1], [b"1 3"])
        self.assertEqual(m.search(None, '(OR SUBJECT "flow one" BODY third)')[1], [b"1 3"])
        self.assertEqual(m.uid("SEARCH", None, "FLAGGED")[1], [b"1"])
        self.assertEqual(m.store("3", "+FLAGS", "(\\Answered $Label1)")[0], "OK")
        self.assertEqual(m.fetch("3", "(FLAGS)")[1], [b"3 (FLAGS (\\Recent $Label1 \\Answered))"])
        typ, data = m.copy("1:2", "Archive")
        self.assertRegex(data[0], rb"^\[COPYUID \d+ 1:2 \d+:\d+\]")
        typ, data = m.uid("MOVE", "3", "Trash")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.select(box)[1], [b"2"])
        m.store("1", "+FLAGS", "\\Deleted")
        typ, data = m.expunge()
        self.assertEqual(data, [b"1"])
        self.assertEqual(m.fetch("1", "(UID)")[1], [b"1 (UID 2)"])
        self.assertEqual(m.check()[0], "OK")
        self.assertEqual(m.unselect()[0], "OK")
        self.assertEqual(m.select(box, readonly=True)[0], "OK")
        self.assertEqual(m.store("1", "+FLAGS", "\\Seen")[0], "NO")
        self.assertEqual(m.close()[0], "OK")

    def test_partial_and_large_fetch(self):
        m = self.connect()
        box = self.fresh_mailbox(m, "Big")
        body = "".join(f"line {i:07d} " + "x" * 60 + "\r\n" for i in range(80000))  # ~6 MB
        raw = msg("big one", body).encode()
        self.assertEqual(m.append(box, None, None, raw)[0], "OK")
        m.select(box)
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], raw)
        typ, data = m.fetch("1", "(BODY.PEEK[TEXT]<100.50>)")
        self.assertEqual(data[0][1], body.encode()[100:150])
        self.assertIn(b"BODY[TEXT]<100>", data[0][0])
        with self.assertRaises(imaplib.IMAP4.error):  # RFC 1730's PARTIAL is gone since IMAP4rev1
            m.partial("1", "RFC822", "0", "20")

    def test_mime_fetch_and_search_decoded(self):
        m = self.connect()
        box = self.fresh_mailbox(m, "Mime")
        raw = ("From: =?utf-8?q?Ren=C3=A9e?= <renee@remote.example>\r\nTo: " + ALICE + "\r\n"
               "Subject: =?iso-8859-1?q?r=E9sum=E9?=\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
               "--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               "w4l0w6kgZW4gTm9ybWFuZGll\r\n"
               "--XX\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               "JVBERi0xLjQK\r\n--XX--\r\n").encode()
        m.append(box, None, None, raw)
        m.select(box)
        typ, data = m.fetch("1", "(BODYSTRUCTURE)")
        self.assertIn(b'("text" "plain" ("charset" "utf-8") NIL NIL "base64" 24 0', data[0])
        self.assertIn(b'"mixed" ("boundary" "XX")', data[0])
        typ, data = m.fetch("1", "(BINARY.PEEK[2] BINARY.SIZE[1])")
        self.assertEqual(data[0][1], b"%PDF-1.4\n")
        self.assertIn(b"BINARY.SIZE[1] 18", data[1] if isinstance(data[1], bytes) else data[0][0] + data[1])
        m._encoding = "utf-8"
        self.assertEqual(m.search("UTF-8", "BODY", '"été en normandie"'.encode())[1], [b"1"])
        self.assertEqual(m.search("UTF-8", "SUBJECT", '"RÉSUMÉ"'.encode())[1], [b"1"])
        self.assertEqual(m.search("UTF-8", "FROM", '"renée"'.encode())[1], [b"1"])
        self.assertEqual(m.search(None, "BODY", "w4l0w6kg")[1], [b""], "never on base64 text")

    def test_two_connections_see_each_others_changes(self):
        a = self.connect()
        b = self.connect()
        box = self.fresh_mailbox(a, "Shared")
        for i in range(3):
            a.append(box, None, None, msg(f"shared {i}").encode())
        a.select(box)
        b.select(box)
        b.store("1", "+FLAGS", "(\\Deleted \\Seen)")
        b.expunge()
        b.append(box, None, None, msg("shared new").encode())
        typ, data = a.noop()
        untagged = a.untagged_responses
        self.assertEqual(untagged.get("EXPUNGE"), [b"1"])
        self.assertEqual(untagged.get("EXISTS")[-1], b"3")
        self.assertEqual(a.fetch("3", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1], b"Subject: shared new\r\n\r\n")

    def test_idle_hears_new_mail_within_a_second(self):
        m = self.connect()
        m.select("INBOX")
        typ, data = m.status("INBOX", "(MESSAGES)")
        before = int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))
        tag = m._new_tag()
        m.send(tag + b" IDLE\r\n")
        self.assertTrue(m.readline().startswith(b"+ "))
        t0 = time.monotonic()
        deliver(self.srv, ALICE, [msg("idle wake")])
        sock = m.socket()
        sock.settimeout(10)
        line = m.readline()
        heard = time.monotonic() - t0
        self.assertEqual(line, b"* %d EXISTS\r\n" % (before + 1))
        print(f"IDLE heard the SMTP delivery after {heard * 1000:.0f} ms", file=sys.stderr)
        self.assertLess(heard, 3.0, "IDLE must hear of a delivery promptly (SMTP included)")
        m.send(b"DONE\r\n")
        rest = b""
        while not rest.startswith(tag):
            rest = m.readline()
        self.assertTrue(rest.startswith(tag + b" OK"), rest)

    def test_limits(self):
        raw = socket.create_connection(("127.0.0.1", self.srv.port("imaps")), timeout=10)
        s = tls_context().wrap_socket(raw)
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"* OK [CAPABILITY"))
        # A literal over the limit is refused before its octets are sent; the session goes on.
        s.sendall(b"c LOGIN {100000}\r\n")
        self.assertTrue(f.readline().startswith(b"c BAD [TOOBIG]"))
        # A NUL in a quoted string is refused.
        s.sendall(b'd LOGIN "a\0b" "c"\r\n')
        self.assertTrue(f.readline().startswith(b"d BAD"))
        # A line longer than the pre-login limit (32 KiB) cannot be resynchronised: BYE, close.
        s.sendall(b"e NOOP " + b"x" * 40000 + b"\r\n")
        self.assertEqual(f.readline(), b"* BYE [TOOBIG] Command line too long\r\n")
        self.assertEqual(f.readline(), b"")

    def test_five_connections_of_one_client(self):
        # Thunderbird opens five connections per account; a household has several clients.
        conns = [self.connect() for _ in range(12)]
        for c in conns:
            self.assertEqual(c.noop()[0], "OK")


class ImapCrash(unittest.TestCase):
    def server(self):
        """A server of its own (the tests kill it)."""
        srv = ternlib.Server(protos=("smtp", "imaps"))
        self.addCleanup(srv.cleanup)
        srv.add_domain(DOMAIN)
        srv.add_user(ALICE, PASSWORD)
        return srv.start()

    @staticmethod
    def login(srv):
        m = imaplib.IMAP4_SSL("127.0.0.1", srv.port("imaps"), ssl_context=tls_context(), timeout=20)
        m.login(ALICE, PASSWORD)
        return m

    def test_uids_and_modseq_never_go_back_after_kill9(self):
        srv = self.server()
        login = lambda: self.login(srv)  # noqa: E731

        m = login()
        for i in range(5):
            m.append("INBOX", None, None, msg(f"crash {i}").encode())
        m.select("INBOX")
        m.store("1:3", "+FLAGS", "\\Deleted")
        m.expunge()
        typ, data = m.status("INBOX", "(UIDVALIDITY UIDNEXT HIGHESTMODSEQ MESSAGES)")
        before = {k: int(v) for k, v in re.findall(rb"([A-Z]+) (\d+)", data[0])}
        srv.kill9()
        srv.start()
        m = login()
        typ, data = m.status("INBOX", "(UIDVALIDITY UIDNEXT HIGHESTMODSEQ MESSAGES)")
        after = {k: int(v) for k, v in re.findall(rb"([A-Z]+) (\d+)", data[0])}
        self.assertEqual(after, before)
        m.append("INBOX", None, None, msg("after crash").encode())
        typ, data = m.status("INBOX", "(UIDNEXT HIGHESTMODSEQ)")
        later = {k: int(v) for k, v in re.findall(rb"([A-Z]+) (\d+)", data[0])}
        self.assertEqual(later[b"UIDNEXT"], before[b"UIDNEXT"] + 1)
        self.assertGreater(later[b"HIGHESTMODSEQ"], before[b"HIGHESTMODSEQ"])
        m.logout()

    def test_kill9_during_moves_and_appends_loses_nothing_duplicates_nothing(self):
        # RFC 6851 MOVE is one store transaction: a crash leaves each message in exactly one
        # mailbox. An APPEND answered OK is durable; one cut off by the crash is there at most once.
        srv = self.server()
        login = lambda: self.login(srv)  # noqa: E731

        m = login()
        m.create("Other")
        n = 40
        for i in range(n):
            m.append("INBOX", None, None, msg(f"mover {i}").encode())
        acked = []
        moves = []
        import threading
        stop = threading.Event()

        def mover():
            try:
                a = login()
                src, dst = "INBOX", "Other"
                while not stop.is_set():
                    a.select(src)
                    if a.uid("MOVE", "1:*", dst)[0] == "OK":
                        moves.append(dst)
                    src, dst = dst, src
            except Exception:
                pass

        def appender():
            try:
                a = login()
                i = 0
                while not stop.is_set():
                    typ, _ = a.append("Archive", None, None, msg(f"appended {i}").encode())
                    if typ == "OK":
                        acked.append(i)
                    i += 1
            except Exception:
                pass

        threads = [threading.Thread(target=mover), threading.Thread(target=appender)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        srv.kill9()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        srv.start()
        m = login()
        seen = []
        for box in ("INBOX", "Other", "Archive"):
            m.select(box)
            typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            if data and data[0] is not None:
                seen += [x[1].decode().strip() for x in data if isinstance(x, tuple)]
        movers = [s for s in seen if s.startswith("Subject: mover")]
        self.assertEqual(sorted(movers), sorted(f"Subject: mover {i}" for i in range(n)))
        appended = [s for s in seen if s.startswith("Subject: appended")]
        self.assertEqual(len(appended), len(set(appended)), "no APPEND stored twice")
        for i in acked:
            self.assertIn(f"Subject: appended {i}", appended)
        self.assertGreater(len(acked), 0)
        self.assertGreater(len(moves), 0, "the crash came while messages were being moved")
        m.logout()


if __name__ == "__main__":
    ternlib.main()
