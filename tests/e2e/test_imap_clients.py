#!/usr/bin/env python3
# IMAP against a real ternd with real clients from Debian (RFC 9051/3501): isync's mbsync syncing
# a 1,000-message mailbox both ways over imaps (flags, deletions and a new message on either side,
# Expunge Both), offlineimap3 syncing a flag change and a new local message back, mutt reading a
# message in batch mode; and the server defects those clients and Dovecot's imaptest showed
# (close after LOGOUT, FLAGS for new keywords, EXPUNGEISSUED, a maximal ID before login, LSUB's
# \Noselect parents). Must never leave a client or a server running: every client runs with a
# timeout, and ternlib kills ternd at exit.
import email
import email.parser
import hashlib
import imaplib
import os
import pty
import re
import select
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN, tls_context  # noqa: E402

PASSWORD = "imap-secret-pw"
CLIENT_TIMEOUT = 180   # seconds any one client run may take (1,000 messages take a few)

# Maildir info flags (https://cr.yp.to/proto/maildir.html) and their IMAP system flags.
MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}


def need(*programs):
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        raise unittest.SkipTest(f"{', '.join(missing)} not installed (scripts/deps.sh test)")


def make_mbox(path, count, tag):
    """An mbox of `count` messages with Message-IDs <tag-N@example.test>."""
    with open(path, "w") as f:
        for i in range(count):
            f.write(f"From sender@remote.example Mon Dec  7 08:00:00 2026\n"
                    f"From: Sender <sender@remote.example>\n"
                    f"To: someone@{DOMAIN}\n"
                    f"Subject: {tag} message {i}\n"
                    f"Date: Mon, 07 Dec 2026 08:00:00 +0000\n"
                    f"Message-ID: <{tag}-{i}@example.test>\n"
                    f"\n"
                    f"Body of {tag} message {i}.\n\n")


def message_id(raw):
    msg = email.parser.BytesParser().parsebytes(raw, headersonly=True)
    return (msg.get("Message-ID") or "").strip()


class Maildir:
    """A Maildir folder seen as {Message-ID: (path, set of IMAP flags)}."""

    def __init__(self, path):
        self.path = path

    def files(self):
        for sub in ("new", "cur"):
            d = os.path.join(self.path, sub)
            for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                yield os.path.join(d, name)

    def messages(self):
        out = {}
        for p in self.files():
            with open(p, "rb") as f:
                mid = message_id(f.read())
            name = os.path.basename(p)
            info = name.split(":2,", 1)[1] if ":2," in name else ""
            flags = {MAILDIR_FLAGS[c] for c in info if c in MAILDIR_FLAGS}
            assert mid not in out, f"Message-ID {mid} twice in {self.path}"
            out[mid] = (p, flags)
        return out

    def set_flags(self, path, letters):
        """Renames a message file to carry these Maildir flags (moving it to cur/)."""
        base = os.path.basename(path).split(":2,", 1)[0]
        new = os.path.join(self.path, "cur", base + ":2," + "".join(sorted(letters)))
        os.rename(path, new)
        return new

    def add(self, raw, unique):
        tmp = os.path.join(self.path, "tmp", unique)
        with open(tmp, "wb") as f:
            f.write(raw)
        os.rename(tmp, os.path.join(self.path, "new", unique))


class ImapClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(protos=("smtp", "imap", "imaps"))
        cls.srv.add_domain(DOMAIN)
        for user in ("mbsync", "oimap", "mutt", "plain"):
            cls.srv.add_user(f"{user}@{DOMAIN}", PASSWORD)
        cls.srv.start()
        cls.cert = os.path.join(cls.srv.data, "tls", "cert.pem")
        cls.work = tempfile.mkdtemp(prefix="tern-imap-clients-")
        os.chmod(cls.work, 0o755)   # `ternd import` runs as the unprivileged user when root

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        if not os.environ.get("TERN_E2E_KEEP"):
            shutil.rmtree(cls.work, ignore_errors=True)

    # -- helpers

    def imap(self, user):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.port("imaps"), ssl_context=tls_context(), timeout=30)
        m.login(f"{user}@{DOMAIN}", PASSWORD)
        return m

    def server_messages(self, user, folder="INBOX"):
        """{Message-ID: set of flags} of a folder, read over IMAP."""
        m = self.imap(user)
        try:
            typ, data = m.select(folder, readonly=True)
            self.assertEqual(typ, "OK", data)
            out = {}
            if int(data[0]) == 0:
                return out
            typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            self.assertEqual(typ, "OK", data)
            for item in data:
                if not isinstance(item, tuple):
                    continue
                flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
                mid = message_id(item[1])
                self.assertNotIn(mid, out, f"Message-ID {mid} twice on the server")
                out[mid] = set(flags) - {"\\Recent"}
            return out
        finally:
            m.logout()

    def run_client(self, argv, **kw):
        p = subprocess.run(argv, capture_output=True, timeout=CLIENT_TIMEOUT, **kw)
        if p.returncode != 0:
            self.fail(f"{' '.join(argv)} -> exit {p.returncode}\nstdout: {p.stdout.decode(errors='replace')[-3000:]}\n"
                      f"stderr: {p.stderr.decode(errors='replace')[-3000:]}\nternd log:\n{self.srv.log_tail(60)}")
        return p

    def assert_same(self, local, server):
        local_view = {mid: flags for mid, (_, flags) in local.items()}
        self.assertEqual(len(local_view), len(server))
        self.assertEqual(set(local_view), set(server), "the same messages on both sides")
        diff = {mid: (local_view[mid], server[mid]) for mid in server if local_view[mid] != server[mid]}
        self.assertEqual(diff, {}, "flags per Message-ID (local, server)")

    # -- the connection ends after LOGOUT

    def test_logout_closes_connection(self):
        # RFC 9051 §6.1.3: after the tagged OK of LOGOUT the server closes the connection
        # (it used to wait for the client to hang up; imaptest hung on every test).
        raw = socket.create_connection(("127.0.0.1", self.srv.port("imaps")), timeout=10)
        with tls_context().wrap_socket(raw) as sock:
            f = sock.makefile("rb")
            self.assertTrue(f.readline().startswith(b"* OK"))
            sock.sendall(f"a LOGIN plain@{DOMAIN} {PASSWORD}\r\n".encode())
            self.assertTrue(f.readline().startswith(b"a OK"))
            sock.sendall(b"b LOGOUT\r\n")
            self.assertTrue(f.readline().startswith(b"* BYE"))
            self.assertTrue(f.readline().startswith(b"b OK"))
            try:
                rest = f.read()   # until the server closes; a timeout if it never does
            except OSError as e:
                self.fail(f"the server did not close the connection after LOGOUT: {e}")
            self.assertEqual(rest, b"")

    def test_largest_valid_id_before_login(self):
        # RFC 2971 §3.3: up to 30 field-value pairs, fields of 30 and values of 1024 octets: about
        # 31,800 octets, allowed before login (it used to end the session with [TOOBIG]).
        pairs = " ".join(f'"{i:02d}{"f" * 28}" "{"v" * 1024}"' for i in range(30))
        raw = socket.create_connection(("127.0.0.1", self.srv.port("imaps")), timeout=10)
        with tls_context().wrap_socket(raw) as sock:
            f = sock.makefile("rb")
            self.assertTrue(f.readline().startswith(b"* OK"))
            sock.sendall(f"a ID ({pairs})\r\n".encode())
            self.assertTrue(f.readline().startswith(b"* ID "))
            self.assertEqual(f.readline(), b"a OK ID completed\r\n")
            sock.sendall(b"b LOGOUT\r\n")
            self.assertTrue(f.readline().startswith(b"* BYE"))

    def test_lsub_percent_returns_unsubscribed_parent_as_noselect(self):
        # RFC 3501 §6.3.9: "foo/bar" subscribed, "foo" not: LSUB "" "foo/%"-like patterns return
        # "foo" flagged \Noselect (mutt and other rev1 clients browse folders this way).
        address = f"lsub@{DOMAIN}"
        self.srv.add_user(address, PASSWORD)
        m = self.imap("lsub")
        try:
            for box in ("top", "top/a", "top/b", "top/b/c"):
                self.assertEqual(m.create(box)[0], "OK")
            self.assertEqual(m.subscribe("top/a")[0], "OK")
            self.assertEqual(m.subscribe("top/b/c")[0], "OK")
            typ, data = m.lsub('""', "top/%")
            self.assertEqual(typ, "OK")
            self.assertEqual(sorted(d for d in data if d), sorted([b'(\\HasNoChildren) "/" "top/a"',
                                                                  b'(\\Noselect) "/" "top/b"']))
            typ, data = m.lsub('""', "top/*")
            self.assertEqual(sorted(d for d in data if d), sorted([b'(\\HasNoChildren) "/" "top/a"',
                                                                  b'(\\HasNoChildren) "/" "top/b/c"']))
        finally:
            m.logout()

    def deliver(self, address, *subjects):
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), timeout=10) as s:
            for subject in subjects:
                s.sendmail("sender@remote.example", [address], f"Subject: {subject}\r\n\r\nbody\r\n")
        self.srv.wait_count(address, len(subjects))

    def test_new_keyword_updates_flags(self):
        # RFC 9051 §7.3.5: FLAGS lists the keywords in use; a STORE (this session's or another's)
        # that brings a new one sends FLAGS again before the FETCH that shows it (imaptest:
        # "Keyword used without being in FLAGS").
        address = f"kw@{DOMAIN}"
        self.srv.add_user(address, PASSWORD)
        self.deliver(address, "kw 1", "kw 2")
        a, b = self.imap("kw"), self.imap("kw")
        try:
            self.assertEqual(a.select("INBOX")[0], "OK")
            self.assertEqual(b.select("INBOX")[0], "OK")
            self.assertNotIn(b"$Custom1", b" ".join(a.untagged_responses.get("FLAGS", [])))
            a.untagged_responses.clear()
            typ, data = a.store("1", "+FLAGS", "($Custom1)")
            self.assertEqual(typ, "OK", data)
            flags = a.untagged_responses.get("FLAGS", [])
            self.assertTrue(any(b"$Custom1" in f for f in flags), f"FLAGS after STORE: {flags!r}")
            b.untagged_responses.clear()
            self.assertEqual(b.noop()[0], "OK")
            flags = b.untagged_responses.get("FLAGS", [])
            self.assertTrue(any(b"$Custom1" in f for f in flags), f"FLAGS in the other session: {flags!r}")
        finally:
            a.logout()
            b.logout()

    def test_fetch_of_message_expunged_elsewhere(self):
        # Another session expunged message 1; a (non-UID) FETCH may not send EXPUNGE, so it fails
        # with NO [EXPUNGEISSUED] (RFC 9051 §7.1) in the words Dovecot uses, which imaptest knows.
        address = f"gone@{DOMAIN}"
        self.srv.add_user(address, PASSWORD)
        self.deliver(address, "gone 1", "gone 2")
        a, b = self.imap("gone"), self.imap("gone")
        try:
            self.assertEqual(a.select("INBOX")[0], "OK")
            self.assertEqual(b.select("INBOX")[0], "OK")
            self.assertEqual(b.store("1", "+FLAGS", "(\\Deleted)")[0], "OK")
            self.assertEqual(b.expunge()[0], "OK")
            typ, data = a.fetch("1", "(BODY[])")
            self.assertEqual(typ, "NO")
            self.assertIn(b"[EXPUNGEISSUED] Some of the requested messages no longer exist", data[-1])
        finally:
            a.logout()
            b.logout()

    # -- isync / mbsync

    def test_mbsync_1000_messages_both_ways(self):
        need("mbsync")
        user = "mbsync"
        box = os.path.join(self.work, "mbsync")
        os.makedirs(box)
        mbox = os.path.join(box, "seed.mbox")
        make_mbox(mbox, 1000, "sync")
        self.srv.import_mbox(mbox, f"{user}@{DOMAIN}")
        self.assertEqual(self.srv.count(f"{user}@{DOMAIN}"), 1000)
        maildir = os.path.join(box, "Mail")
        os.makedirs(maildir)
        rc = os.path.join(box, "mbsyncrc")
        with open(rc, "w") as f:
            f.write(f"""IMAPAccount tern
Host 127.0.0.1
Port {self.srv.port("imaps")}
User {user}@{DOMAIN}
Pass {PASSWORD}
SSLType IMAPS
CertificateFile {self.cert}
AuthMechs LOGIN
Timeout 60

IMAPStore tern-remote
Account tern

MaildirStore tern-local
Path {maildir}/
Inbox {maildir}/INBOX

Channel tern
Far :tern-remote:
Near :tern-local:
Patterns INBOX
Create Near
Expunge Both
Sync All
SyncState *
""")
        sync = ["mbsync", "-c", rc, "-q", "tern"]
        self.run_client(sync)
        local = Maildir(os.path.join(maildir, "INBOX"))
        self.assert_same(local.messages(), self.server_messages(user))
        self.assertEqual(len(local.messages()), 1000)

        # Server side (another IMAP client): flag 0-9, mark 10-19 seen, delete 20-24.
        m = self.imap(user)
        m.select("INBOX")

        def uids_of(indexes):
            out = []
            for i in indexes:
                typ, data = m.uid("SEARCH", None, "HEADER", "Message-ID", f"<sync-{i}@example.test>")
                self.assertEqual(typ, "OK")
                out += data[0].decode().split()
            self.assertEqual(len(out), len(indexes))
            return ",".join(out)
        self.assertEqual(m.uid("STORE", uids_of(range(0, 10)), "+FLAGS", "(\\Flagged)")[0], "OK")
        self.assertEqual(m.uid("STORE", uids_of(range(10, 20)), "+FLAGS", "(\\Seen)")[0], "OK")
        self.assertEqual(m.uid("STORE", uids_of(range(20, 25)), "+FLAGS", "(\\Deleted)")[0], "OK")
        self.assertEqual(m.expunge()[0], "OK")
        m.logout()

        # Maildir side: flag 100-109 answered+seen, flag 110-119, delete 120-124, one new message.
        msgs = local.messages()
        for i in range(100, 110):
            path, _ = msgs[f"<sync-{i}@example.test>"]
            local.set_flags(path, "RS")
        for i in range(110, 120):
            path, _ = msgs[f"<sync-{i}@example.test>"]
            local.set_flags(path, "F")
        for i in range(120, 125):
            os.unlink(msgs[f"<sync-{i}@example.test>"][0])
        local.add(f"From: Local <local@{DOMAIN}>\r\nTo: {user}@{DOMAIN}\r\nSubject: written offline\r\n"
                  f"Message-ID: <local-new@example.test>\r\n\r\nNew on the Maildir side.\r\n".encode(),
                  "1700000000.tern-test.local")

        self.run_client(sync)
        server = self.server_messages(user)
        self.assert_same(local.messages(), server)
        self.assertEqual(len(server), 1000 - 5 - 5 + 1)
        for i in range(0, 10):
            self.assertEqual(server[f"<sync-{i}@example.test>"], {"\\Flagged"})
        for i in range(10, 20):
            self.assertEqual(server[f"<sync-{i}@example.test>"], {"\\Seen"})
        for i in list(range(20, 25)) + list(range(120, 125)):
            self.assertNotIn(f"<sync-{i}@example.test>", server)
        for i in range(100, 110):
            self.assertEqual(server[f"<sync-{i}@example.test>"], {"\\Answered", "\\Seen"})
        for i in range(110, 120):
            self.assertEqual(server[f"<sync-{i}@example.test>"], {"\\Flagged"})
        self.assertIn("<local-new@example.test>", server)

        # A third run with nothing changed changes nothing.
        self.run_client(sync)
        self.assert_same(local.messages(), self.server_messages(user))
        self.assertEqual(self.srv.count(f"{user}@{DOMAIN}"), 991)

    # -- offlineimap3

    def test_offlineimap_flag_and_new_local_message(self):
        need("offlineimap")
        user = "oimap"
        address = f"{user}@{DOMAIN}"
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), timeout=10) as s:
            for i in range(3):
                s.sendmail("sender@remote.example", [address],
                           f"Subject: oimap {i}\r\nMessage-ID: <oimap-{i}@example.test>\r\n\r\nbody {i}\r\n")
        self.srv.wait_count(address, 3)
        box = os.path.join(self.work, "offlineimap")
        os.makedirs(os.path.join(box, "mail"))
        with open(self.cert) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        rc = os.path.join(box, "offlineimaprc")
        with open(rc, "w") as f:
            # The server's certificate is pinned by its fingerprint (its name is not 127.0.0.1).
            f.write(f"""[general]
accounts = tern
metadata = {box}/meta

[Account tern]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {box}/mail

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = {self.srv.port("imaps")}
remoteuser = {address}
remotepass = {PASSWORD}
ssl = yes
cert_fingerprint = {hashlib.sha256(der).hexdigest()}
folderfilter = lambda f: f == 'INBOX'
""")
        sync = ["offlineimap", "-c", rc, "-o", "-u", "basic"]

        def run():
            p = self.run_client(sync)
            out = (p.stdout + p.stderr).decode(errors="replace")
            self.assertNotIn("ERROR", out, out[-3000:])
        run()
        local = Maildir(os.path.join(box, "mail", "INBOX"))
        self.assert_same(local.messages(), self.server_messages(user))
        self.assertEqual(len(local.messages()), 3)

        msgs = local.messages()
        local.set_flags(msgs["<oimap-1@example.test>"][0], "FS")
        local.add(f"From: Local <local@{DOMAIN}>\r\nTo: {address}\r\nSubject: from offlineimap\r\n"
                  f"Message-ID: <oimap-local@example.test>\r\n\r\nWritten offline.\r\n".encode(),
                  "1700000001.tern-test.oimap")
        run()
        server = self.server_messages(user)
        self.assertEqual(server["<oimap-1@example.test>"], {"\\Flagged", "\\Seen"})
        self.assertIn("<oimap-local@example.test>", server, "the new local message was appended")
        self.assertEqual(self.srv.count(address), 4)
        self.assert_same(local.messages(), server)
        appended = self.srv.wait_message_with(address, "Written offline.")
        self.assertIn(b"Subject: from offlineimap", appended)

    # -- mutt

    def run_in_pty(self, argv, cwd, timeout=60):
        """Runs a full-screen program on a pseudo-terminal (mutt needs one even when driven by
        `push`); returns (exit code, everything it drew)."""
        master, slave = pty.openpty()
        env = dict(os.environ, TERM="xterm", LINES="24", COLUMNS="100", HOME=cwd)
        proc = subprocess.Popen(argv, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env,
                                start_new_session=True)
        os.close(slave)
        screen = b""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                r, _, _ = select.select([master], [], [], 0.2)
                if r:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:   # EIO: the program closed the terminal
                        chunk = b""
                    if not chunk:
                        break
                    screen += chunk
                elif proc.poll() is not None:
                    break
            else:
                self.fail(f"{argv[0]} did not finish within {timeout}s; screen: {screen[-2000:]!r}")
            return proc.wait(timeout=10), screen.decode(errors="replace")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            os.close(master)

    def test_mutt_lists_and_reads_over_imaps(self):
        need("mutt")
        user = "mutt"
        address = f"{user}@{DOMAIN}"
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), timeout=10) as s:
            for i in range(3):
                s.sendmail("sender@remote.example", [address],
                           f"Subject: mutt subject {i}\r\nMessage-ID: <mutt-{i}@example.test>\r\n"
                           f"Date: Mon, 07 Dec 2026 08:0{i}:00 +0000\r\n\r\nmutt body {i} marker\r\n")
        self.srv.wait_count(address, 3)
        box = os.path.join(self.work, "mutt")
        os.makedirs(box)
        # mutt trusts the certificates in certificate_file: the server's own; its name is not
        # 127.0.0.1, hence ssl_verify_host = no.
        shutil.copy(self.cert, os.path.join(box, "certs.pem"))
        with open(os.path.join(box, "muttrc"), "w") as f:
            f.write(f"""set folder = "imaps://127.0.0.1:{self.srv.port("imaps")}/"
set spoolfile = "+INBOX"
set imap_user = "{address}"
set imap_pass = "{PASSWORD}"
set certificate_file = "{box}/certs.pem"
set ssl_verify_host = no
set ssl_force_tls = yes
set wait_key = no
set quit = yes
set pipe_split = yes
set header_cache = ""
set message_cachedir = ""
set timeout = 10
set sort = date-sent
set tmpdir = "{box}"
""")
        # Read the first message (piped to one.txt), then every message of the index (all.txt).
        keys = ("<pipe-message>cat > one.txt<enter>"
                "<tag-pattern>~A<enter><tag-prefix><pipe-message>cat >> all.txt<enter><quit>")
        rc, screen = self.run_in_pty(["mutt", "-n", "-F", "muttrc", "-e", f'push "{keys}"'], cwd=box)
        self.assertEqual(rc, 0, screen[-2000:])
        self.assertIn("Msgs:3", screen, "the index lists the three messages")
        for i in range(3):
            self.assertIn(f"mutt subject {i}", screen)
        with open(os.path.join(box, "one.txt"), "rb") as f:
            one = f.read()
        self.assertIn(b"Subject: mutt subject 0", one)
        self.assertIn(b"mutt body 0 marker", one)
        self.assertNotIn(b"mutt body 1", one)
        with open(os.path.join(box, "all.txt"), "rb") as f:
            everything = f.read()
        for i in range(3):
            self.assertIn(f"mutt body {i} marker".encode(), everything)
        self.assertEqual(everything.count(b"Message-ID: <mutt-"), 3)


if __name__ == "__main__":
    ternlib.main()
