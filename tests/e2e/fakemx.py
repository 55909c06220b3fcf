# A scripted fake SMTP server (the far side of Tern's relay in e2e tests): listens on a loopback
# address, answers each connection as its Behaviour says (failure codes, greetings, stalls, closes
# mid-DATA, which extensions it advertises) and records every message byte-exact after dot-unstuffing.
# Test scaffolding only: must never be a real MTA (no delivery, no relaying, loopback use). Stdlib only.
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

DEFAULT_EXTENSIONS = ("PIPELINING", "8BITMIME", "SIZE", "ENHANCEDSTATUSCODES", "DSN", "SMTPUTF8")
ALL_EXTENSIONS = DEFAULT_EXTENSIONS + ("STARTTLS", "CHUNKING")

# MAIL/RCPT parameters and the extension that makes them legal (RFC 1870, 6152, 3461, 6531, 3030).
_PARAM_EXTENSION = {"SIZE": "SIZE", "BODY": "8BITMIME", "RET": "DSN", "ENVID": "DSN",
                    "NOTIFY": "DSN", "ORCPT": "DSN", "SMTPUTF8": "SMTPUTF8"}


@dataclass
class Behaviour:
    """How one connection is answered. A reply is (code, text); `rcpt` and `data_reply` may also be
    callables: rcpt(address, message) -> reply, data_reply(message) -> reply."""
    greeting: tuple = (220, "fakemx ESMTP ready")
    # 554 greeting: every later command but QUIT gets 503 (RFC 5321 §3.1). 421: closed at once.
    extensions: tuple = DEFAULT_EXTENSIONS    # advertised in the EHLO reply
    size_limit: int = 52428800                # advertised with SIZE; a larger SIZE= gets 552
    ehlo: bool = True                         # False: EHLO gets 502 (client must fall back to HELO)
    mail_reply: tuple = (250, "2.1.0 ok")
    rcpt: object = (250, "2.1.5 ok")          # default RCPT reply, or a callable
    rcpt_replies: dict = field(default_factory=dict)   # address (lower case) -> reply
    data_start: tuple = (354, "go ahead")
    data_reply: object = (250, "2.0.0 queued")         # reply after the final dot / BDAT LAST
    close_mid_data: bool = False              # close the socket after the first data octets arrive
    stall: str = ""                           # "greeting", "ehlo", "mail", "rcpt", "data", "dot":
                                              # never answer from that point on (connection held)


@dataclass
class Message:
    conn: int                 # connection number (0-based)
    helo: str
    tls: bool
    mail_from: str
    mail_params: dict
    rcpts: list               # [(address, {param: value})] accepted recipients only
    data: bytes = b""         # content after dot-unstuffing (DATA) or the BDAT chunks joined
    reply: tuple = None       # what fakemx answered at the end of the data
    chunked: bool = False     # arrived by BDAT

    @property
    def bare_lf(self):
        """True if the data holds an LF not preceded by CR or a CR not followed by LF."""
        d = self.data
        return d.replace(b"\r\n", b"").count(b"\n") > 0 or d.replace(b"\r\n", b"").count(b"\r") > 0

    @property
    def accepted(self):
        return self.reply is not None and 200 <= self.reply[0] < 300


def port_free_on(*hosts):
    """A TCP port free on every given loopback address (e.g. "127.0.0.2", "127.0.0.3": fake MX
    hosts or ternd instances sharing one relay.port)."""
    for _ in range(50):
        socks = []
        try:
            first = socket.socket()
            socks.append(first)
            first.bind((hosts[0], 0))
            port = first.getsockname()[1]
            for h in hosts[1:]:
                s = socket.socket()
                socks.append(s)
                s.bind((h, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise OSError(f"no port free on all of {hosts}")


def make_self_signed(directory, cn="fakemx.test"):
    """(cert_path, key_path) of a new self-signed certificate (the openssl command line tool)."""
    cert, key = os.path.join(directory, "fakemx-cert.pem"), os.path.join(directory, "fakemx-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn],
                   check=True, capture_output=True)
    return cert, key


class Switch:
    """A script whose behaviour a test changes while connections are open: every connection, new
    or already open (a client reusing it), follows the current `behaviour` from its next command."""

    def __init__(self, behaviour=None):
        self.behaviour = behaviour or Behaviour()


class Blackhole:
    """A destination that blackholes connections: a socket listening with backlog 0 that never
    accepts. The kernel completes at most one connection into the accept queue (never answered)
    and drops every later SYN, so connects hang until the client's connect timeout."""

    def __init__(self, host="127.0.0.1", port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, port))
        self.host, self.port = host, self.sock.getsockname()[1]
        self.sock.listen(0)

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def stop(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class _Closed(Exception):
    pass


class FakeMX:
    """`script` is one Behaviour for every connection, a list (connection i gets script[i], the
    last one repeats), a callable(conn_index) -> Behaviour, or a Switch (changed by the test, in
    force at once on open connections too). Use as a context manager or
    start()/stop(). Thread-safe counters: connections, transactions (MAIL accepted), messages."""

    def __init__(self, script=None, host="127.0.0.1", port=0, hostname="fakemx.test", tls_cert=None,
                 tls_key=None):
        self.script = script if script is not None else Behaviour()
        self.host, self.hostname = host, hostname
        self.lock = threading.Condition()
        self.connections = 0
        self.transactions = 0
        self.messages = []          # every Message that reached the end of its data, any reply
        self.transcripts = []       # per connection: ["C: ...", "S: ..."]
        self.errors = []            # exceptions in connection threads (tests may assert it empty)
        self._socks = set()
        self._threads = []
        self._tmp = None
        self._tls_ctx = None
        self._cert = (tls_cert, tls_key)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.port = self.listener.getsockname()[1]
        self._stopping = False
        self._acceptor = None

    # -- lifecycle

    def start(self):
        self.listener.listen(128)
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True, name="fakemx-accept")
        self._acceptor.start()
        return self

    def stop(self):
        self._stopping = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._acceptor:
            self._acceptor.join(5)
        for t in list(self._threads):
            t.join(5)
        if self._tmp:
            import shutil
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def accepted(self):
        with self.lock:
            return [m for m in self.messages if m.accepted]

    def wait_messages(self, n, timeout=20.0):
        """Waits until n messages were accepted; returns them (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                got = [m for m in self.messages if m.accepted]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fakemx: {len(got)} of {n} messages after {timeout}s; "
                                         f"{self.connections} connections")
                self.lock.wait(left)

    def wait_message_with(self, token, timeout=20.0):
        """Waits until exactly one accepted message contains `token` (bytes or str); returns it.
        Other tests' messages may arrive at the same fake MX before or after it."""
        tok = token.encode() if isinstance(token, str) else token
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                got = [m for m in self.messages if m.accepted and tok in m.data]
                if got:
                    if len(got) > 1:
                        raise AssertionError(f"fakemx: {len(got)} messages with {token!r}, expected one")
                    return got[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fakemx: no message with {token!r} after {timeout}s")
                self.lock.wait(left)

    def wait_connections(self, n, timeout=20.0):
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.connections < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fakemx: {self.connections} of {n} connections after {timeout}s")
                self.lock.wait(left)
            return self.connections

    # -- internals

    def _behaviour(self, i):
        s = self.script
        if isinstance(s, Switch):
            return s.behaviour
        if callable(s) and not isinstance(s, Behaviour):
            return s(i)
        if isinstance(s, (list, tuple)):
            return s[min(i, len(s) - 1)]
        return s

    def _tls_context(self):
        with self.lock:
            if self._tls_ctx is None:
                cert, key = self._cert
                if not cert:
                    self._tmp = tempfile.mkdtemp(prefix="fakemx-")
                    cert, key = make_self_signed(self._tmp, self.hostname)
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(cert, key)
                self._tls_ctx = ctx
            return self._tls_ctx

    def _accept_loop(self):
        while not self._stopping:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                i = self.connections
                self.connections += 1
                self.transcripts.append([])
                self._socks.add(sock)
                self.lock.notify_all()
            t = threading.Thread(target=self._serve, args=(sock, i), daemon=True, name=f"fakemx-{i}")
            self._threads.append(t)
            t.start()

    def _serve(self, sock, i):
        try:
            _Conn(self, sock, i, self._behaviour(i)).run()
        except (_Closed, OSError, ssl.SSLError):
            pass
        except Exception as e:   # a bug in fakemx itself: keep it for the test to see
            with self.lock:
                self.errors.append(repr(e))
        finally:
            with self.lock:
                self._socks.discard(sock)
            try:
                sock.close()
            except OSError:
                pass


class _Conn:
    def __init__(self, mx, sock, index, b):
        self.mx, self.sock, self.i, self._b = mx, sock, index, b
        self.buf = b""
        self.helo = ""
        self.tls = False
        self.msg = None
        self.transcript = mx.transcripts[index]

    @property
    def b(self):
        """The behaviour in force: a Switch's current one (read at every command), else fixed."""
        return self.mx.script.behaviour if isinstance(self.mx.script, Switch) else self._b

    # -- I/O

    def send(self, code, text, more=()):
        lines = list(more) + [text] if more else [text]
        out = b""
        for n, line in enumerate(lines):
            sep = " " if n == len(lines) - 1 else "-"
            out += f"{code}{sep}{line}\r\n".encode()
        self.transcript.append("S: " + out.decode("utf-8", "replace").rstrip())
        self.sock.sendall(out)

    def reply(self, r):
        self.send(r[0], r[1])

    def recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise _Closed()
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise _Closed()
            self.recv()
        line, self.buf = self.buf.split(b"\r\n", 1)
        self.transcript.append("C: " + line.decode("utf-8", "replace"))
        return line

    def hold(self):
        """Stall: keep the connection, never answer, until the client or stop() closes it."""
        while True:
            self.recv()
            self.buf = b""

    # -- protocol

    def run(self):
        b = self.b
        if b.stall == "greeting":
            self.hold()
        self.reply(b.greeting)
        if b.greeting[0] == 421:
            return
        refused = b.greeting[0] >= 500   # RFC 5321 §3.1: 554 greeting, then only QUIT
        while True:
            raw = self.line()
            text = raw.decode("utf-8", "replace")
            verb = text.split(" ", 1)[0].upper()
            arg = text[len(verb):].strip()
            if verb == "QUIT":
                self.send(221, "2.0.0 bye")
                return
            if refused:
                self.send(503, "5.5.1 no service")
                continue
            b = self.b
            if b.stall and b.stall == verb.lower() and verb != "DATA":
                self.hold()
            handler = getattr(self, "do_" + verb.lower(), None)
            if handler is None:
                self.send(500, "5.5.2 unknown command")
            else:
                handler(arg)

    def do_ehlo(self, arg):
        if not self.b.ehlo:
            self.send(502, "5.5.1 EHLO not implemented")
            return
        self.helo = arg
        exts = []
        for e in self.b.extensions:
            if e == "STARTTLS" and self.tls:
                continue
            exts.append(f"SIZE {self.b.size_limit}" if e == "SIZE" else e)
        self.send(250, (exts[-1] if exts else self.mx.hostname),
                  more=[self.mx.hostname] + exts[:-1] if exts else ())
        self.msg = None

    def do_helo(self, arg):
        self.helo = arg
        self.msg = None
        self.send(250, self.mx.hostname)

    def do_starttls(self, arg):
        if "STARTTLS" not in self.b.extensions or self.tls:
            self.send(503 if self.tls else 502, "5.5.1 STARTTLS not available")
            return
        self.send(220, "2.0.0 ready for TLS")
        # RFC 3207 §4.2 / CVE-2021-38371 style: anything pipelined after STARTTLS is discarded.
        self.buf = b""
        self.sock = self.mx._tls_context().wrap_socket(self.sock, server_side=True)
        self.tls = True
        self.helo = ""
        self.msg = None

    def do_noop(self, arg):
        self.send(250, "2.0.0 ok")

    def do_rset(self, arg):
        self.msg = None
        self.send(250, "2.0.0 ok")

    def do_vrfy(self, arg):
        self.send(252, "2.5.0 cannot verify")

    def _params(self, rest):
        """{NAME: value} of ESMTP parameters, or a (code, text) error for an unadvertised one."""
        params = {}
        for p in rest.split():
            k, _, v = p.partition("=")
            k = k.upper()
            ext = _PARAM_EXTENSION.get(k)
            if ext is None or ext not in self.b.extensions:
                return (555, f"5.5.4 {k} parameter not recognised")
            params[k] = v
        return params

    @staticmethod
    def _path(arg, prefix):
        if not arg.upper().startswith(prefix):
            return None, None
        rest = arg[len(prefix):].strip()
        if not rest.startswith("<") or ">" not in rest:
            return None, None
        end = rest.index(">")
        return rest[1:end], rest[end + 1:].strip()

    def do_mail(self, arg):
        if self.helo == "":
            self.send(503, "5.5.1 EHLO/HELO first")
            return
        if self.msg is not None:
            self.send(503, "5.5.1 nested MAIL")
            return
        addr, rest = self._path(arg, "FROM:")
        if addr is None:
            self.send(501, "5.5.4 syntax: MAIL FROM:<address>")
            return
        params = self._params(rest)
        if isinstance(params, tuple):
            self.reply(params)
            return
        if "SIZE" in params and params["SIZE"].isdigit() and int(params["SIZE"]) > self.b.size_limit:
            self.send(552, "5.3.4 message size exceeds fixed limit")   # RFC 1870 §6.1
            return
        self.reply(self.b.mail_reply)
        if self.b.mail_reply[0] == 250:
            self.msg = Message(conn=self.i, helo=self.helo, tls=self.tls, mail_from=addr,
                               mail_params=params, rcpts=[])
            with self.mx.lock:
                self.mx.transactions += 1

    def do_rcpt(self, arg):
        if self.msg is None:
            self.send(503, "5.5.1 MAIL first")
            return
        addr, rest = self._path(arg, "TO:")
        if addr is None:
            self.send(501, "5.5.4 syntax: RCPT TO:<address>")
            return
        params = self._params(rest)
        if isinstance(params, tuple):
            self.reply(params)
            return
        r = self.b.rcpt_replies.get(addr.lower())
        if r is None:
            r = self.b.rcpt(addr, self.msg) if callable(self.b.rcpt) else self.b.rcpt
        self.reply(r)
        if r[0] == 250 or r[0] == 251:
            self.msg.rcpts.append((addr, params))

    def _finish(self, data, chunked):
        m = self.msg
        m.data, m.chunked = data, chunked
        if self.b.stall == "dot":
            self.hold()
        r = self.b.data_reply(m) if callable(self.b.data_reply) else self.b.data_reply
        m.reply = tuple(r)
        with self.mx.lock:
            self.mx.messages.append(m)
            self.mx.lock.notify_all()
        self.msg = None
        self.reply(r)

    def do_data(self, arg):
        if self.msg is None or not self.msg.rcpts:
            self.send(503 if self.msg is None else 554, "5.5.1 no valid recipients")
            return
        if self.b.stall == "data":
            self.hold()
        self.reply(self.b.data_start)
        if self.b.data_start[0] != 354:
            self.msg = None
            return
        if self.b.close_mid_data:
            while not self.buf:
                self.recv()
            raise _Closed()
        # RFC 5321 §4.5.2: a line is up to CRLF; ".\r\n" ends the data; one leading dot is removed.
        out = []
        while True:
            while b"\r\n" not in self.buf:
                self.recv()
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line == b".":
                break
            out.append(line[1:] if line.startswith(b".") else line)
            out.append(b"\r\n")
        self.transcript.append(f"C: <{sum(len(x) for x in out)} octets of data>")
        self._finish(b"".join(out), chunked=False)

    def do_bdat(self, arg):
        # RFC 3030 §2: BDAT size [LAST]; the chunk octets follow the command line as they are.
        parts = arg.split()
        if "CHUNKING" not in self.b.extensions or not parts or not parts[0].isdigit():
            self.send(502 if "CHUNKING" not in self.b.extensions else 501, "5.5.1 BDAT not available")
            return
        n, last = int(parts[0]), len(parts) > 1 and parts[1].upper() == "LAST"
        if self.b.close_mid_data:
            while not self.buf:
                self.recv()
            raise _Closed()
        while len(self.buf) < n:
            self.recv()
        chunk, self.buf = self.buf[:n], self.buf[n:]
        if self.msg is None or not self.msg.rcpts:
            self.send(503, "5.5.1 no valid recipients")
            return
        self.msg.data += chunk
        if last:
            self._finish(self.msg.data, chunked=True)
        else:
            self.send(250, f"2.0.0 {n} octets received")
