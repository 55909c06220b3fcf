#!/usr/bin/env python3
# IMAP SEARCH against a real ternd, cross-checked by brute force (issue 9): ~240 generated messages
# (RFC 2047 B/Q words, raw UTF-8, folded headers, base64/QP/8bit bodies in UTF-8, ISO-8859-1,
# windows-1252, multiparts with attachments and message/rfc822) delivered by SMTP and APPEND, some
# flags STOREd, then ~300 random keys (single, NOT/OR/AND nested; text from the messages and from
# nowhere, flags, dates, sizes, UID and sequence sets) whose UID SEARCH results must equal a Python
# evaluation over the messages as FETCHed, decoded with the email package. Must never pass on an
# oracle that disagrees with what it generated, and must stop by itself in seconds.
#
# `--emit-cases DIR` writes the same kind of messages, metadata and expected results without a
# server: tests/unit/session/search_match_test.cpp evaluates them with the C++ matcher.
import base64
import email
import email.header
import email.policy
import email.utils
import imaplib
import os
import quopri
import random
import re
import smtplib
import socket
import sys
import time
import unittest
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "unit", "session"))
from fold_table import RANGES, simple_fold  # noqa: E402  the fold the server uses
import ternlib  # noqa: E402
from ternlib import DOMAIN  # noqa: E402

SEED = 9
N_SMTP = 200
N_APPEND = 40
N_KEYS = 300
PASSWORD = "search-secret-pw"
CONFIG = "[auth]\nallow_plaintext = true\n"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# ---------------------------------------------------------------- word pools per charset

ASCII_WORDS = ("report budget meeting invoice project update review schedule garden coffee river "
               "mountain window letter orange planet silver doctor engine harbor lemon quiet").split()
LATIN1_WORDS = ("café crème brûlée élève naïve façade Müller señor año Ærø ÉCOLE déjà "
                "Ångström fjörður Zoë garçon").split()
CP1252_WORDS = ["\u201cquoted\u201d", "\u20acuro", "\u2014dash", "\u0153uvre", "\u0160\u00e1rka",
                "\u0178vonne", "\u2026more"]
UTF8_WORDS = ("Σοφία ΣΙΣΥΦΟΣ Ελλάδα θάλασσα Дарья МОСКВА привет Дом 日本語 中文 Łódź Ğüneş "
              "Ŝi ĳssel").split()
POOLS = {
    "us-ascii": ASCII_WORDS,
    "iso-8859-1": ASCII_WORDS + LATIN1_WORDS,
    "windows-1252": ASCII_WORDS + LATIN1_WORDS + CP1252_WORDS,
    "utf-8": ASCII_WORDS + LATIN1_WORDS + CP1252_WORDS + UTF8_WORDS,
}
NAMES = ["Alice Archer", "Bob Baker", "Zoë Zähringer", "François Müller", "Σοφία Παππά",
         "Дарья Иванова", "Carol Chen", "Łukasz Nowak", "Dave O'Neil"]
TAGS = ["alpha", "beta", "gamma", "delta"]
KEYWORDS = ["work", "$Label1", "Junk", "$Forwarded"]
SYSTEM_FLAGS = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"]
SENT_DAYS = [datetime(2023, 11, 1, tzinfo=timezone.utc) + timedelta(days=3 * i) for i in range(40)]


def casing(rng, word):
    r = rng.random()
    return word.upper() if r < 0.2 else word.lower() if r < 0.4 else word.title() if r < 0.5 else word


def words(rng, pool, n):
    return " ".join(casing(rng, rng.choice(pool)) for _ in range(n))


# ---------------------------------------------------------------- message generation

def encode_words(text, charset, enc):
    """RFC 2047 encoded-words for `text`, a few characters each (never a character split), joined
    by folding white space (dropped on decoding, RFC 2047 §6.2)."""
    out = []
    for i in range(0, len(text), 9):
        raw = text[i:i + 9].encode(charset)
        if enc == "B":
            payload = base64.b64encode(raw).decode()
        else:
            payload = "".join(chr(b) if chr(b).isalnum() and b < 0x80 else "_" if b == 0x20 else f"={b:02X}"
                              for b in raw)
        out.append(f"=?{charset}?{enc}?{payload}?=")
    return "\r\n ".join(out)


def header_value(rng, text):
    """(raw header value, the text a reader decodes from it)."""
    ascii_only = all(ord(c) < 0x80 for c in text)
    style = rng.choice(["plain", "B", "Q", "mixed", "raw"]) if not ascii_only else rng.choice(["plain", "fold", "B"])
    if style == "plain" and not ascii_only:
        style = "B"
    if style == "plain":
        return text, text
    if style == "fold":  # a long value folded at its spaces, with a tab sometimes
        parts = text.split(" ")
        return "".join(p + (rng.choice(["\r\n ", "\r\n\t", " "]) if i < len(parts) - 1 else "")
                       for i, p in enumerate(parts)), text
    if style == "raw":  # RFC 6532 UTF-8 (8BITMIME on the wire)
        return text, text
    cs = "utf-8"
    if all(ord(c) < 0x100 for c in text) and rng.random() < 0.5:
        cs = "iso-8859-1"
    elif all(c in "".join(POOLS["windows-1252"]) + " " for c in text) and rng.random() < 0.5:
        cs = "windows-1252"
    if style == "mixed":  # plain prefix, encoded middle, plain suffix
        pre, post = rng.choice(ASCII_WORDS), rng.choice(ASCII_WORDS)
        return f"Re: {pre} {encode_words(text, cs, rng.choice('BQ'))} {post}", f"Re: {pre} {text} {post}"
    return encode_words(text, cs, style), text


def address(rng, name):
    local = re.sub(r"[^a-z]", "", name.lower().encode("ascii", "ignore").decode()) or "user"
    return f"{local}{rng.randrange(10)}@example.{rng.choice(['org', 'net', 'com'])}"


def mailbox(rng):
    name = rng.choice(NAMES)
    addr = address(rng, name)
    if rng.random() < 0.3:
        return addr, addr
    raw, text = header_value(rng, name)
    if raw == name and not all(ord(c) < 0x80 for c in name):
        raw = encode_words(name, "utf-8", "B")
    return f"{raw} <{addr}>", f"{text} <{addr}>"


def date_header(rng):
    r = rng.random()
    day = rng.choice(SENT_DAYS)
    zone = timezone(timedelta(minutes=rng.choice([-480, -300, 0, 60, 330, 600])))
    when = day.replace(hour=rng.randrange(24), minute=rng.randrange(60), tzinfo=zone)
    if r < 0.6:
        return email.utils.format_datetime(when)
    if r < 0.7:
        return when.strftime("%d %b %Y %H:%M:%S ") + email.utils.format_datetime(when)[-5:]
    if r < 0.8:
        return email.utils.format_datetime(when) + " (comment)"
    if r < 0.9:
        return None  # no Date: field
    return "sometime last week"


def text_body(rng, charset, lines=None):
    pool = POOLS[charset]
    return "\r\n".join(words(rng, pool, rng.randrange(3, 10)) for _ in range(lines or rng.randrange(2, 8))) + "\r\n"


def encode_body(rng, text, charset):
    """(Content-Transfer-Encoding, encoded bytes) for a text part."""
    raw = text.encode(charset)
    ascii_only = all(b < 0x80 for b in raw)
    cte = rng.choice(["7bit", "quoted-printable", "base64"] if ascii_only else ["8bit", "quoted-printable", "base64"])
    if cte in ("7bit", "8bit"):
        return cte, raw
    if cte == "base64":
        b = base64.encodebytes(raw).replace(b"\n", b"\r\n")
        return cte, b
    qp = quopri.encodestring(raw.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
    return cte, qp


def text_part(rng, subtype="plain", record=None):
    charset = rng.choice(["utf-8", "utf-8", "iso-8859-1", "windows-1252", "us-ascii"])
    text = text_body(rng, charset)
    if subtype == "html":
        text = "<html><body><p>" + text.replace("\r\n", "</p>\r\n<p>") + "</p></body></html>\r\n"
    if record is not None:
        record.append(text)
    cte, body = encode_body(rng, text, charset)
    head = f"Content-Type: text/{subtype}; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n"
    return head.encode(), body


# Message-ID -> (subject text, texts of the text parts) as generated: what the oracle must decode.
GENERATED = {}


def gen_message(rng, i):
    fields = []
    texts = []
    frm_raw, _ = mailbox(rng)
    fields.append(("From", frm_raw))
    fields.append(("To", ", ".join(mailbox(rng)[0] for _ in range(rng.randrange(1, 4)))))
    if rng.random() < 0.4:
        fields.append(("Cc", mailbox(rng)[0]))
    if rng.random() < 0.2:
        fields.append(("Bcc", mailbox(rng)[0]))
    subj_raw, subj_text = header_value(rng, words(rng, POOLS[rng.choice(list(POOLS))], rng.randrange(2, 12)))
    fields.append(("Subject", subj_raw))
    d = date_header(rng)
    if d is not None:
        fields.append(("Date", d))
    msgid = f"<gen{i}.{rng.randrange(10**6)}@example.org>"
    fields.append(("Message-ID", msgid))
    GENERATED[msgid] = (subj_text, texts)
    fields.append(("X-Tag", rng.choice(TAGS)))
    if rng.random() < 0.2:
        fields.append(("X-Empty", ""))
    fields.append(("MIME-Version", "1.0"))
    head = b"".join(f"{n}: {v}\r\n".encode() if v else f"{n}:\r\n".encode() for n, v in fields)

    shape = rng.random()
    if shape < 0.45:
        ph, pb = text_part(rng, record=texts)
        return head + ph + b"\r\n" + pb
    boundary = f"=_b{i}_{rng.randrange(10**6)}"
    parts = []
    if shape < 0.7:
        ctype = "multipart/alternative"
        parts.append(text_part(rng, record=texts))
        parts.append(text_part(rng, "html", record=texts))
    else:
        ctype = "multipart/mixed"
        parts.append(text_part(rng, record=texts))
        secret = f"attach{i}secret " + words(rng, ASCII_WORDS, 6) + "\r\n"
        attachment_head = (f"Content-Type: application/octet-stream; name=\"data{i}.bin\"\r\n"
                           f"Content-Disposition: attachment; filename=\"data{i}.bin\"\r\n"
                           "Content-Transfer-Encoding: base64\r\n")
        parts.append((attachment_head.encode(), base64.encodebytes(secret.encode()).replace(b"\n", b"\r\n")))
        if rng.random() < 0.5:
            inner_subj, _ = header_value(rng, words(rng, POOLS["utf-8"], 4))
            ih, ib = text_part(rng, record=texts)
            inner = (f"From: {mailbox(rng)[0]}\r\nSubject: {inner_subj}\r\nX-Inner: inner{i}\r\n"
                     "MIME-Version: 1.0\r\n").encode() + ih + b"\r\n" + ib
            parts.append((b"Content-Type: message/rfc822\r\n", inner))
    out = head + f"Content-Type: {ctype}; boundary=\"{boundary}\"\r\n\r\n".encode()
    out += b"This is a multi-part message in MIME format. preamblewords\r\n"
    for ph, pb in parts:
        out += f"--{boundary}\r\n".encode() + ph + b"\r\n" + pb
        if not out.endswith(b"\r\n"):
            out += b"\r\n"
    out += f"--{boundary}--\r\nepiloguewords\r\n".encode()
    return out


# ---------------------------------------------------------------- the oracle

def fold(s):
    """The server's case folding: Unicode simple folding in fold_table.RANGES, nothing else."""
    return "".join(chr(simple_fold(ord(c))) if any(a <= ord(c) <= b for a, b in RANGES) else c for c in s)


def compress(s, trim=True):
    s = re.sub(r"[ \t\r\n]+", " ", s)
    return s.strip(" ") if trim else s


def decode_charset(b, label):
    cs = (label or "us-ascii").strip().lower()
    if cs in ("us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin1", "windows-1252", "cp1252"):
        # WHATWG (and the server): these labels are windows-1252; octets it lacks are Latin-1.
        return "".join(bytes([x]).decode("cp1252", errors="ignore") or chr(x) for x in b)
    try:
        return b.decode(cs, errors="replace")
    except LookupError:
        return utf8_or_latin1(b)


def utf8_or_latin1(b):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")


def header_text(raw):
    """A raw compat32 header value as header keys see it: unfolded, RFC 2047 decoded, spaces
    compressed, folded."""
    v = re.sub(r"\r?\n(?=[ \t])", "", raw)
    if "=?" in v:
        out = []
        for part, cs in email.header.decode_header(v):
            out.append(part if isinstance(part, str) else decode_charset(part, cs) if cs else
                       utf8_or_latin1(part))
        text = "".join(out)
    else:
        text = utf8_or_latin1(v.encode("ascii", "surrogateescape"))
    return fold(compress(text))


def sent_day(raw):
    t = email.utils.parsedate_tz(raw) if raw is not None else None
    if t is None:
        return None
    return (datetime(t[0], t[1], t[2]) - datetime(1970, 1, 1)).days


class OracleMessage:
    def __init__(self, raw, uid, seq, internal, flags, modseq=0):
        self.raw, self.uid, self.seq, self.internal, self.modseq = raw, uid, seq, internal, modseq
        self.size = len(raw)
        self.flags = {f.lower() for f in flags}
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        self.top = [(n, header_text(v)) for n, v in msg.raw_items()]
        date = next((v for n, v in msg.raw_items() if n.lower() == "date"), None)
        self.sent = sent_day(re.sub(r"\r?\n(?=[ \t])", "", date) if date is not None else None)
        self.header_lines = []
        self.bodies = []
        for part in msg.walk():
            self.header_lines += [fold(n) + ": " + header_text(v) for n, v in part.raw_items()]
            if part.is_multipart() or part.get_content_maintype() not in ("text", "message"):
                continue
            payload = part.get_payload(decode=True) or b""
            self.bodies.append(fold(decode_charset(payload, part.get_content_charset())))
        self.internal_day = self.internal // 86400

    def sent_or_internal_day(self):
        return self.sent if self.sent is not None else self.internal_day


def check_oracle(msgs):
    """The oracle's decoding of every message against what was generated: its Subject, and the
    text of every text part (QP's line ends aside). Raises AssertionError on the first difference."""
    def lines(t):
        return t.replace("\r\n", "\n")
    checked = 0
    for m in msgs:
        msgid = next((t for n, t in m.top if n.lower() == "message-id"), None)
        want = next((v for k, v in GENERATED.items() if fold(k) == msgid), None)
        if want is None:
            continue
        subject = next(t for n, t in m.top if n.lower() == "subject")
        assert subject == fold(compress(want[0])), (m.uid, subject, want[0])
        bodies = [lines(b) for b in m.bodies]
        for text in want[1]:
            # The line break before a boundary delimiter belongs to it (RFC 2046 §5.1.1).
            want_text = lines(fold(text)).rstrip("\n")
            assert any(b.rstrip("\n") == want_text for b in bodies), (m.uid, text[:80], [b[:80] for b in bodies])
        checked += 1
    assert checked == len(msgs), f"only {checked} of {len(msgs)} messages were generated here"


def day_number(datestr):
    d, m, y = datestr.split("-")
    return (datetime(int(y), MONTHS.index(m) + 1, int(d)) - datetime(1970, 1, 1)).days


def in_set(setstr, n, star):
    for member in setstr.split(","):
        a, _, b = member.partition(":")
        lo = star if a == "*" else int(a)
        hi = lo if not b else star if b == "*" else int(b)
        if min(lo, hi) <= n <= max(lo, hi):
            return True
    return False


def evaluate(key, m, ctx):
    op = key[0]
    if op == "AND":
        return all(evaluate(k, m, ctx) for k in key[1])
    if op == "OR":
        return evaluate(key[1], m, ctx) or evaluate(key[2], m, ctx)
    if op == "NOT":
        return not evaluate(key[1], m, ctx)
    # The searching session selects after fill_and_fetch's, which claimed every message's
    # \Recent (RFC 3501 §2.3.2): for it none is recent.
    if op == "ALL" or op == "OLD":
        return True
    if op in ("NEW", "RECENT"):
        return False
    flag_keys = {"SEEN": "\\seen", "ANSWERED": "\\answered", "FLAGGED": "\\flagged", "DELETED": "\\deleted",
                 "DRAFT": "\\draft"}
    if op in flag_keys:
        return flag_keys[op] in m.flags
    if op.startswith("UN") and op[2:] in flag_keys:
        return flag_keys[op[2:]] not in m.flags
    if op == "KEYWORD":
        return key[1].lower() in m.flags
    if op == "UNKEYWORD":
        return key[1].lower() not in m.flags
    if op == "LARGER":
        return m.size > key[1]
    if op == "SMALLER":
        return m.size < key[1]
    if op == "MODSEQ":
        return m.modseq >= key[1]
    if op == "UID":
        return in_set(key[1], m.uid, ctx["max_uid"])
    if op == "SEQ":
        return in_set(key[1], m.seq, ctx["max_seq"])
    if op in ("BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"):
        day = m.sent_or_internal_day() if op.startswith("SENT") else m.internal_day
        want = day_number(key[1])
        base = op[4:] if op.startswith("SENT") else op
        return day < want if base == "BEFORE" else day == want if base == "ON" else day >= want
    if op in ("FROM", "TO", "CC", "BCC", "SUBJECT", "HEADER"):
        name, value = (key[1], key[2]) if op == "HEADER" else (op, key[1])
        needle = fold(compress(value, trim=False))
        return any(n.lower() == name.lower() and needle in text for n, text in m.top)
    if op in ("BODY", "TEXT"):
        if key[1] == "":
            return True
        if op == "TEXT":
            needle = fold(compress(key[1], trim=False))
            if any(needle in line for line in m.header_lines):
                return True
        needle = fold(key[1])
        return any(needle in b for b in m.bodies)
    raise ValueError(f"unknown key {key!r}")


# ---------------------------------------------------------------- random keys

def pick_text(rng, text):
    """A substring of one line of `text`: a word or two, sometimes cut, in some case."""
    lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
    if not lines:
        return "zz"
    ws = rng.choice(lines).split()
    if not ws:
        return "zz"
    i = rng.randrange(len(ws))
    s = " ".join(ws[i:i + rng.choice([1, 1, 2])])
    if len(s) > 4 and rng.random() < 0.4:
        a = rng.randrange(0, 2)
        s = s[a:len(s) - rng.randrange(0, 2)]
    r = rng.random()
    return s.upper() if r < 0.25 else s.lower() if r < 0.5 else s.swapcase() if r < 0.6 else s


def nowhere(rng):
    return rng.choice(["zqxjv", "nowhere-at-all", "Ωμέγαχψ", "кзщщш", "qüüx", "\u20ac\u20ac\u20ac"])


def random_set(rng, star):
    def num():
        return "*" if rng.random() < 0.1 else str(rng.randrange(1, star + 6))
    members = []
    for _ in range(rng.randrange(1, 4)):
        members.append(num() + (":" + num() if rng.random() < 0.5 else ""))
    return ",".join(members)


def fmt_day(day):
    d = datetime(1970, 1, 1) + timedelta(days=day)
    return f"{d.day}-{MONTHS[d.month - 1]}-{d.year}"


def random_leaf(rng, msgs, ctx):
    m = rng.choice(msgs)
    r = rng.random()
    if r < 0.12:
        return (rng.choice(["SEEN", "UNSEEN", "ANSWERED", "UNANSWERED", "FLAGGED", "UNFLAGGED", "DELETED",
                            "UNDELETED", "DRAFT", "UNDRAFT", "ALL", "NEW", "OLD", "RECENT"]),)
    if r < 0.17:
        return (rng.choice(["KEYWORD", "UNKEYWORD"]), rng.choice(KEYWORDS[:3] + ["nosuchflag"]))
    if r < 0.42:
        field = rng.choice(["FROM", "TO", "CC", "BCC", "SUBJECT"])
        texts = [t for n, t in m.top if n.lower() == field.lower()]
        if texts and rng.random() < 0.8:
            return (field, pick_text(rng, rng.choice(texts)))
        return (field, nowhere(rng) if rng.random() < 0.7 else "")
    if r < 0.5:
        name = rng.choice(["X-Tag", "X-Empty", "Message-ID", "Subject", "X-Inner", "Received", "x-tag"])
        texts = [t for n, t in m.top if n.lower() == name.lower()]
        value = "" if rng.random() < 0.3 else pick_text(rng, texts[0]) if texts else nowhere(rng)
        return ("HEADER", name, value)
    if r < 0.68:
        if m.bodies and rng.random() < 0.7:
            return ("BODY", pick_text(rng, rng.choice(m.bodies)))
        if rng.random() < 0.5:  # encoded octets of the message: must only match where decoded
            return ("BODY", pick_text(rng, m.raw.decode("ascii", "replace")))
        return ("BODY", nowhere(rng))
    if r < 0.78:
        src = rng.choice(m.header_lines + m.bodies) if rng.random() < 0.8 else nowhere(rng)
        return ("TEXT", pick_text(rng, src))
    if r < 0.84:
        op = rng.choice(["BEFORE", "ON", "SINCE"])
        return (op, fmt_day(m.internal_day + rng.choice([-1, 0, 0, 1])))
    if r < 0.9:
        op = rng.choice(["SENTBEFORE", "SENTON", "SENTSINCE"])
        return (op, fmt_day(m.sent_or_internal_day() + rng.choice([-1, 0, 0, 1])))
    if r < 0.94:
        return (rng.choice(["LARGER", "SMALLER"]), max(1, m.size + rng.choice([-1, 0, 1, -500, 500])))
    if r < 0.97:
        return ("UID", random_set(rng, ctx["max_uid"]))
    return ("SEQ", random_set(rng, ctx["max_seq"]))


def random_key(rng, msgs, ctx, depth=0):
    r = rng.random()
    if depth >= 3 or r < 0.6:
        return random_leaf(rng, msgs, ctx)
    if r < 0.7:
        return ("NOT", random_key(rng, msgs, ctx, depth + 1))
    if r < 0.85:
        return ("OR", random_key(rng, msgs, ctx, depth + 1), random_key(rng, msgs, ctx, depth + 1))
    return ("AND", [random_key(rng, msgs, ctx, depth + 1) for _ in range(rng.randrange(2, 4))])


def render(key, literal_8bit):
    """The key as IMAP tokens: str pieces, and bytes for strings sent as literals."""
    def string(s):
        if literal_8bit and any(ord(c) >= 0x80 for c in s):
            return [s.encode("utf-8")]
        return ['"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"']
    op = key[0]
    if op == "AND":
        out = ["("]
        for i, k in enumerate(key[1]):
            out += ([" "] if i else []) + render(k, literal_8bit)
        return out + [")"]
    if op == "OR":
        return ["OR "] + render(key[1], literal_8bit) + [" "] + render(key[2], literal_8bit)
    if op == "NOT":
        return ["NOT "] + render(key[1], literal_8bit)
    if op == "SEQ":
        return [key[1]]
    if op == "HEADER":
        return ["HEADER "] + string(key[1]) + [" "] + string(key[2])
    if len(key) == 1:
        return [op]
    if isinstance(key[1], int):
        return [f"{op} {key[1]}"]
    if op in ("UID",) or op.endswith("BEFORE") or op.endswith("ON") or op.endswith("SINCE") or "KEYWORD" in op:
        return [f"{op} {key[1]}"]
    return [op + " "] + string(key[1])


def show(key):
    return "".join(p if isinstance(p, str) else '"' + p.decode() + '"' for p in render(key, False))


# ---------------------------------------------------------------- offline cases for the C++ test

def emit_cases(directory):
    """Messages as generated with synthetic UIDs, dates, flags and modseqs, and the expected
    results of random keys: search_match_test.cpp's OracleAgrees evaluates them."""
    rng = random.Random(SEED)
    os.makedirs(directory, exist_ok=True)
    msgs = []
    for i in range(120):
        raw = gen_message(rng, i)
        internal = int(rng.choice(SENT_DAYS).timestamp()) + rng.randrange(86400)
        flags = [f for f in SYSTEM_FLAGS + KEYWORDS if rng.random() < 0.25]
        msgs.append(OracleMessage(raw, uid=3 * i + 2, seq=i + 1, internal=internal, flags=flags,
                                  modseq=rng.randrange(1, 50)))
    check_oracle(msgs)
    ctx = {"max_uid": msgs[-1].uid, "max_seq": len(msgs)}
    with open(os.path.join(directory, "meta.tsv"), "w") as meta:
        for m in msgs:
            with open(os.path.join(directory, f"{m.uid}.eml"), "wb") as f:
                f.write(m.raw)
            flags = " ".join(sorted(f for f in SYSTEM_FLAGS + KEYWORDS if f.lower() in m.flags))
            meta.write(f"{m.uid}\t{m.seq}\t{m.size}\t{m.internal}\t{m.modseq}\t{flags}\n")
    with open(os.path.join(directory, "cases.txt"), "w", encoding="utf-8") as cases:
        for _ in range(N_KEYS):
            key = random_key(rng, msgs, ctx)
            if rng.random() < 0.05:
                key = ("AND", [key, ("MODSEQ", rng.randrange(1, 50))])
            want = [m.uid for m in msgs if evaluate(key, m, ctx)]
            cases.write(",".join(map(str, want)) + "\t" + show(key) + "\n")


# ---------------------------------------------------------------- against the server

class RawImap:
    """A minimal IMAP client for SEARCH: synchronizing literals for 8-bit strings, untagged
    SEARCH lines collected."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.n = 0
        self.greeting = self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def command(self, pieces):
        self.n += 1
        tag = f"s{self.n}"
        out = tag.encode() + b" "
        untagged = []
        for p in pieces:
            if isinstance(p, str):
                out += p.encode()
                continue
            self.sock.sendall(out + b"{%d}\r\n" % len(p))
            out = b""
            while True:
                line = self.line()
                if line.startswith(b"+"):
                    break
                if line.startswith(tag.encode()):
                    raise AssertionError(f"literal refused: {line!r}")
                untagged.append(line)
            out = p
        self.sock.sendall(out + b"\r\n")
        while True:
            line = self.line()
            if line.startswith(tag.encode() + b" "):
                return line[len(tag) + 1:], untagged
            untagged.append(line)

    def search(self, key, uid=True):
        status, untagged = self.command(["UID SEARCH CHARSET UTF-8 " if uid else "SEARCH CHARSET UTF-8 "]
                                        + render(key, True))
        if not status.startswith(b"OK"):
            raise AssertionError(f"SEARCH {show(key)} -> {status!r}")
        found = set()
        for line in untagged:
            if line.upper().startswith(b"* SEARCH"):
                found |= {int(x) for x in line[8:].split()}
        return found


def parse_internaldate(s):
    return int(datetime.strptime(s, "%d-%b-%Y %H:%M:%S %z").timestamp())


def fill_and_fetch(port, user, password, rng, to_append, total):
    """APPENDs `to_append` (internal dates spread over months, in several zones, some flags),
    STOREs random flag changes, and returns every message of INBOX as FETCHed (the oracle's
    input: the octets, UID, flags, INTERNALDATE and RFC822.SIZE the server reports)."""
    M = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    M.login(user, password)
    for raw in to_append:
        day = rng.choice(SENT_DAYS)
        zone = timezone(timedelta(minutes=rng.choice([-600, -300, 0, 120, 540])))
        when = day.replace(hour=rng.randrange(24), minute=rng.randrange(60), tzinfo=zone)
        flags = " ".join(f for f in SYSTEM_FLAGS + KEYWORDS[:2] if rng.random() < 0.3)
        typ, data = M.append("INBOX", f"({flags})", imaplib.Time2Internaldate(when), raw)
        assert typ == "OK", data
    typ, data = M.select("INBOX")
    assert typ == "OK", data
    assert int(data[0]) == total, (data, total)
    for _ in range(60):  # flags changed after delivery
        uidset = random_set(rng, total)
        flag = rng.choice(SYSTEM_FLAGS + KEYWORDS)
        typ, data = M.uid("STORE", uidset, rng.choice(["+FLAGS.SILENT", "-FLAGS.SILENT"]), f"({flag})")
        assert typ == "OK", (uidset, data)
    typ, data = M.fetch("1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK", data
    msgs = []
    i = 0
    while i < len(data):
        item = data[i]
        i += 1
        if not isinstance(item, tuple):
            continue
        meta = item[0].decode()
        if i < len(data) and isinstance(data[i], bytes):  # attributes after the literal
            meta += data[i].decode()
        seq = int(meta.split()[0])
        uid = int(re.search(r"UID (\d+)", meta).group(1))
        # \Recent is this filling session's (it selected first): the searching session, a later
        # one, sees every message as old.
        flags = [f for f in re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split() if f != "\\Recent"]
        internal = parse_internaldate(re.search(r'INTERNALDATE "([^"]+)"', meta).group(1))
        size = int(re.search(r"RFC822\.SIZE (\d+)", meta).group(1))
        assert size == len(item[1]), (uid, size, len(item[1]))
        msgs.append(OracleMessage(item[1], uid=uid, seq=seq, internal=internal, flags=flags))
    M.logout()
    assert len(msgs) == total, len(msgs)
    return msgs


def search_client(port, user, password):
    imap = RawImap(port)
    status, _ = imap.command([f'LOGIN "{user}" "{password}"'])
    assert status.startswith(b"OK"), status
    status, _ = imap.command(["SELECT INBOX"])
    assert status.startswith(b"OK"), status
    return imap


INDEX_LINE = re.compile(r"SEARCH: index skipped (\d+) of (\d+) messages")


def index_skips(srv):
    """(skipped, total) of every SEARCH the search index pruned, from ternd's trace log."""
    return [(int(a), int(b)) for a, b in INDEX_LINE.findall(srv.log_text())]


def wait_for_index(srv, imap, total, timeout=30.0):
    """Until a BODY search for a string in no message skips every message: the index has them all."""
    deadline = time.monotonic() + timeout
    while True:
        before = len(index_skips(srv))
        found = imap.search(("BODY", "zqxjv-nowhere"))
        assert found == set(), found
        skips = index_skips(srv)[before:]
        if skips and skips[-1] == (total, total):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the search index did not catch up: {skips}")
        time.sleep(0.2)


class ImapSearch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ternlib.Server(protos=("smtp", "imap"), config=CONFIG)
        cls.srv.add_domain(DOMAIN)
        cls.user = f"searcher@{DOMAIN}"
        cls.srv.add_user(cls.user, PASSWORD)
        cls.srv.start()
        rng = random.Random(SEED)
        generated = [gen_message(rng, i) for i in range(N_SMTP + N_APPEND)]
        with smtplib.SMTP("127.0.0.1", cls.srv.port("smtp"), timeout=30) as s:
            s.ehlo()
            opts = ["BODY=8BITMIME"] if s.has_extn("8bitmime") else []
            for raw in generated[:N_SMTP]:
                s.sendmail("sender@remote.example", [cls.user], raw, mail_options=opts)
        cls.srv.wait_count(cls.user, N_SMTP, timeout=60)

        cls.rng = rng
        cls.msgs = fill_and_fetch(cls.srv.port("imap"), cls.user, PASSWORD, rng, generated[N_SMTP:],
                                  N_SMTP + N_APPEND)
        cls.ctx = {"max_uid": max(m.uid for m in cls.msgs), "max_seq": len(cls.msgs)}
        cls.imap = search_client(cls.srv.port("imap"), cls.user, PASSWORD)
        # The search index (imap.search_index, on by default) catches up in the background; the
        # keys below run once it has every message, so that they go through it.
        wait_for_index(cls.srv, cls.imap, len(cls.msgs))

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_oracle_decodes_what_was_generated(self):
        # The oracle's decoding checked on text it knows (subjects, text parts), and the
        # attachments' marker words in no searchable body.
        check_oracle(self.msgs)
        for m in self.msgs:
            self.assertFalse(any("secret" in b for b in m.bodies), m.uid)

    def test_uid_search_matches_brute_force(self):
        rng = random.Random(SEED + 1)
        failures = []
        for _ in range(N_KEYS):
            key = random_key(rng, self.msgs, self.ctx)
            want = {m.uid for m in self.msgs if evaluate(key, m, self.ctx)}
            got = self.imap.search(key)
            if got != want:
                failures.append(f"UID SEARCH {show(key)}\n    server only: {sorted(got - want)[:10]}"
                                f"\n    oracle only: {sorted(want - got)[:10]}")
        self.assertEqual(failures, [], f"{len(failures)} of {N_KEYS} keys differ:\n" + "\n".join(failures[:15]))

    def test_index_prunes_and_agrees(self):
        # The keys went through the index (trace lines), and it skipped messages for real needles.
        rng = random.Random(SEED + 3)
        before = len(index_skips(self.srv))
        for _ in range(40):
            m = rng.choice(self.msgs)
            key = ("BODY", pick_text(rng, rng.choice(m.bodies))) if m.bodies else ("TEXT", "budget")
            want = {x.uid for x in self.msgs if evaluate(key, x, self.ctx)}
            self.assertEqual(self.imap.search(key), want, show(key))
        skips = index_skips(self.srv)[before:]
        self.assertTrue(skips, "no SEARCH went through the index")
        self.assertTrue(any(skipped > 0 for skipped, _ in skips), skips)

    def test_search_gives_sequence_numbers(self):
        rng = random.Random(SEED + 2)
        for _ in range(30):
            key = random_key(rng, self.msgs, self.ctx)
            want = {m.seq for m in self.msgs if evaluate(key, m, self.ctx)}
            self.assertEqual(self.imap.search(key, uid=False), want, show(key))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--emit-cases":
        emit_cases(sys.argv[2])
        sys.exit(0)
    ternlib.main()
