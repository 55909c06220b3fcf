#!/usr/bin/env python3
# IMAP COMPRESS=DEFLATE (RFC 4978) against a real ternd, over plain IMAP (auth.allow_plaintext)
# and over imaps: LOGIN, COMPRESS DEFLATE, then SELECT and FETCH of a ~2 MB text message through
# Python's zlib (raw deflate, wbits=-15), checking the bytes and that the wire carried far fewer;
# IDLE under compression (a delivery while idling arrives as EXISTS); a second COMPRESS is refused.
import os
import random
import re
import smtplib
import socket
import sys
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

PASSWORD = "compress-pw"
CONFIG = "[auth]\nallow_plaintext = true\n"
WORDS = ("the of and to in is that it for was on are with as his they be at one have this from or "
         "had by word but what some we can out other were all there when up use your how said an "
         "each she which do their time if will way about many then them write would like so these "
         "her long make thing see him two has look more day could go come did number sound no most "
         "people my over know water than call first who may down side been now find any new work "
         "part take get place made live where after back little only round man year came show every "
         "good me give our under name very through just form sentence great think say help low line "
         "differ turn cause much mean before move right boy old too same tell does set three want air "
         "well also play small end put home read hand port large spell add even land here must big "
         "high such follow act why ask men change went light kind off need house picture try us again "
         "animal point mother world near build self earth father head stand own page should country "
         "found answer school grow study still learn plant cover food sun four between state keep eye "
         "never last let thought city tree cross farm hard start might story saw far sea draw left late "
         "run while press close night real life few north open seem together next white children begin "
         "got walk example ease paper group always music those both mark often letter until mile river "
         "car feet care second book carry took science eat room friend began idea fish mountain stop "
         "once base hear horse cut sure watch color face wood main enough plain girl usual young ready "
         "above ever red list though feel talk bird soon body dog family direct pose leave song measure "
         "door product black short numeral class wind question happen complete ship area half rock order "
         "fire south problem piece told knew pass since top whole king space heard best hour better true "
         "during hundred five remember step early hold west ground interest reach fast verb sing listen "
         "six table travel less morning ten simple several vowel toward war lay against pattern slow "
         "center love person money serve appear road map rain rule govern pull cold notice voice unit "
         "power town fine certain fly fall lead cry dark machine note wait plan figure star box noun "
         "field rest correct able pound done beauty drive stood contain front teach week final gave "
         "green oh quick develop ocean warm free minute strong special mind behind clear tail produce "
         "fact street inch multiply nothing course stay wheel full force blue object decide surface deep "
         "moon island foot system busy test record boat common gold possible plane stead dry wonder "
         "laugh thousand ago ran check game shape equate hot miss brought heat snow tire bring yes "
         "distant fill east paint language among").split()


def make_text_message(size):
    """A plain-text message of ~size octets: lines of random common English words (CRLF)."""
    rng = random.Random(4978)
    head = (f"From: writer@remote.example\r\nTo: dana@{DOMAIN}\r\nSubject: a long letter\r\n"
            "Message-ID: <long@remote.example>\r\n\r\n").encode()
    lines, n = [head], len(head)
    while n < size:
        words, width = [], 0
        while width < 70:
            w = rng.choice(WORDS)
            words.append(w)
            width += len(w) + 1
        line = (" ".join(words)).capitalize().encode() + b".\r\n"
        lines.append(line)
        n += len(line)
    return b"".join(lines)


class Client:
    """A raw IMAP client that can switch to raw deflate both ways (RFC 4978 §3)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.comp = self.decomp = None
        self.wire_in = 0     # octets received from the socket since compression started
        self.plain_in = 0    # the same after inflating

    def start_compress(self):
        self.comp = zlib.compressobj(wbits=-15)
        self.decomp = zlib.decompressobj(wbits=-15)

    def send(self, data):
        if self.comp:
            data = self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise AssertionError("connection closed; had " + repr(self.buf[-200:]))
        if self.decomp:
            self.wire_in += len(data)
            data = self.decomp.decompress(data)
            self.plain_in += len(data)
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def exactly(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self, tag):
        """(untagged parts as [bytes], literals as [bytes], the tagged line) for `tag`."""
        untagged, literals = [], []
        while True:
            line = self.line()
            m = re.search(rb"\{(\d+)\}$", line)
            while m:  # a literal: its octets, then the rest of the response line
                literals.append(self.exactly(int(m.group(1))))
                line += b"<literal>" + self.line()
                m = re.search(rb"\{(\d+)\}$", line)
            if line.startswith(tag.encode() + b" "):
                return untagged, literals, line.decode()
            untagged.append(line)

    def command(self, tag, text):
        self.send(f"{tag} {text}\r\n".encode())
        return self.response(tag)


class ImapCompress(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(protos=("smtp", "imap", "imaps"), config=CONFIG)
        cls.srv.add_domain(DOMAIN)
        cls.addr = f"dana@{DOMAIN}"
        cls.srv.add_user(cls.addr, PASSWORD)
        cls.message = make_text_message(2 * 1000 * 1000)
        mbox = os.path.join(cls.srv.tmp, "long.mbox")
        with open(mbox, "wb") as f:
            f.write(b"From writer@remote.example Mon Dec  7 00:00:00 2026\n")
            f.write(cls.message.replace(b"\r\n", b"\n") + b"\n")
        cls.srv.import_mbox(mbox, cls.addr)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def connect(self, tls):
        sock = socket.create_connection(("127.0.0.1", self.srv.port("imaps" if tls else "imap")), timeout=20)
        if tls:
            sock = ternlib.tls_context().wrap_socket(sock)
        c = Client(sock)
        self.addCleanup(sock.close)
        greeting = c.line()
        self.assertTrue(greeting.startswith(b"* OK"), greeting)
        self.assertNotIn(b"COMPRESS", greeting, "not before login")
        return c

    def scenario(self, tls):
        c = self.connect(tls)
        _, _, ok = c.command("a", f"LOGIN {self.addr} {PASSWORD}")
        self.assertTrue(ok.startswith("a OK"), ok)
        self.assertIn(" COMPRESS=DEFLATE", ok)
        _, _, ok = c.command("b", "COMPRESS DEFLATE")
        self.assertEqual(ok, "b OK DEFLATE active")  # read uncompressed
        c.start_compress()
        _, _, ok = c.command("c", "COMPRESS DEFLATE")
        self.assertEqual(ok, "c NO [COMPRESSIONACTIVE] DEFLATE is active already")
        untagged, _, ok = c.command("d", "SELECT INBOX")
        self.assertTrue(ok.startswith("d OK"), ok)
        self.assertTrue(any(re.fullmatch(rb"\* \d+ EXISTS", u) for u in untagged), untagged)
        before_wire, before_plain = c.wire_in, c.plain_in
        _, literals, ok = c.command("e", "FETCH 1 BODY.PEEK[]")
        self.assertTrue(ok.startswith("e OK"), ok)
        self.assertEqual(len(literals), 1)
        self.assertEqual(literals[0], self.message)
        wire, plain = c.wire_in - before_wire, c.plain_in - before_plain
        ratio = plain / wire
        print(f"\n{'imaps' if tls else 'imap'}: FETCH of {plain} octets took {wire} on the wire "
              f"(ratio {ratio:.2f})", file=sys.stderr)
        self.assertGreater(ratio, 2.0, f"{plain} octets in {wire} compressed")

        # IDLE under compression: a delivery while idling arrives as an untagged EXISTS.
        c.send(b"f IDLE\r\n")
        self.assertEqual(c.line(), b"+ idling")
        token = f"idle-{'tls' if tls else 'plain'}"
        with smtplib.SMTP("127.0.0.1", self.srv.port("smtp"), timeout=10) as s:
            s.sendmail("x@remote.example", [self.addr], f"Subject: {token}\r\n\r\n{token}\r\n")
        seen = []
        while b"EXISTS" not in (seen[-1] if seen else b""):
            seen.append(c.line())
        self.assertRegex(seen[-1], rb"^\* \d+ EXISTS$")
        c.send(b"DONE\r\n")
        _, _, ok = c.response("f")
        self.assertEqual(ok, "f OK IDLE terminated")
        n = int(seen[-1].split()[1])
        _, literals, ok = c.command("g", f"FETCH {n} BODY.PEEK[TEXT]")
        self.assertTrue(ok.startswith("g OK"), ok)
        self.assertEqual(literals, [f"{token}\r\n".encode()])
        _, _, ok = c.command("h", "LOGOUT")
        self.assertEqual(ok, "h OK LOGOUT completed")

    def test_plain_imap(self):
        self.scenario(tls=False)

    def test_imaps(self):
        self.scenario(tls=True)

    def test_compress_before_login_is_refused(self):
        c = self.connect(tls=False)
        _, _, bad = c.command("a", "COMPRESS DEFLATE")
        self.assertEqual(bad, "a BAD COMPRESS needs authentication first")
        _, _, ok = c.command("b", "NOOP")  # still uncompressed
        self.assertEqual(ok, "b OK NOOP completed")


if __name__ == "__main__":
    ternlib.main()
