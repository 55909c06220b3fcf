# A private Dovecot (Debian's dovecot-imapd, -pop3d, -lmtpd) on free loopback ports for the `tern`
# client's end-to-end tests: IMAP+STARTTLS, IMAPS, POP3+STLS, POP3S, LMTP, an auth socket for Postfix.
# Needs root (the master drops to dovecot/dovenull); never reads /etc/dovecot, never binds the
# system's ports, is always stopped at exit. Stdlib only.
#
# API (everything below is what tests may rely on):
#
#   dovecotlib.unavailable() -> reason str for skipTest (not root), or None
#   d = Dovecot(domain="dovecot.test")            # temp dir, free ports, self-signed cert
#   d.add_user("alice", "pw", scheme="PLAIN")     # before or after start(); -> "alice@dovecot.test"
#                                                 # scheme: PLAIN (stored as-is) or any `doveadm pw -s`
#                                                 # scheme (SHA512-CRYPT, ARGON2I...); stored hashed
#   d.start() / d.stop() / d.cleanup(); `with Dovecot() as d:` starts it and cleans up
#   d.port("imap"|"imaps"|"pop3"|"pop3s"|"lmtp")  # ints, all on 127.0.0.1
#   d.fingerprint()   -> "AB:CD:..." SHA-256 of the certificate (for `tern account add --fingerprint`)
#   d.cert, d.key     -> PEM paths (d.tls_context() -> ssl context that trusts exactly that cert)
#   d.auth_socket     -> unix socket for Postfix (smtpd_sasl_type = dovecot), owned by postfix
#   d.lmtp_target     -> "inet:127.0.0.1:PORT", a Postfix lmtp(8) destination
#   d.save(user, message_bytes, folder="INBOX", flags=()) -> uid   (doveadm save, then flags)
#   d.count(user, folder="INBOX") -> int;  d.wait_count(user, n, folder, timeout)
#   d.messages(user, folder="INBOX") -> [{"uid": int, "flags": [str], "size": int, "guid": str}]
#                                       (UID order; size = RFC822.SIZE, i.e. CRLF line ends;
#                                       \\Recent left out: it is per session, not stored)
#   d.text(user, uid, folder="INBOX") -> bytes of the message as IMAP serves it (CRLF)
#   d.set_flags(user, uid, flags, folder="INBOX");  d.expunge(user, folder="INBOX")  (all)
#   d.folders(user, subscribed=False) -> [names];  d.special_use(user) -> {"\\Sent": "Sent", ...}
#   d.lmtp(message, [users], sender) -> delivery through Dovecot's LMTP (as from Postfix)
#   d.pop3(user) / d.imap(user, starttls=False) -> logged-in poplib.POP3_SSL / imaplib client on
#       IMAPS (or IMAP + STARTTLS); the caller closes it
#   d.doveadm(*args) -> stdout str; d.log() -> log text; d.address(user) -> user@domain
#   d.postfix_submission(**kw) -> postfixlib.Postfix in front of this Dovecot (submission with
#       STARTTLS + smtps, SASL through d.auth_socket, mail for the domain delivered over LMTP);
#       its recipient list is the users added so far, so add users first. Then pf.start(), and
#       pf.submission_port (STARTTLS, AUTH only after it), pf.smtps_port, pf.port (25's role).
#
# Dovecot 2.3 counts a loopback client as "secured", so it accepts passwords on the plain IMAP and
# POP3 ports even before STARTTLS (disable_plaintext_auth cannot prevent that here); tests about
# refusing cleartext must check the client side (tern --trace), not Dovecot's answer. After a failed
# login Dovecot's auth penalty (per client IP, 2 s doubling up to 15 s, not configurable) delays the
# next attempts from 127.0.0.1 by seconds until one succeeds: keep wrong-password tests few.
#
# Users are "<name>@<domain>" with userdb static (uid/gid of nobody) and Maildir under
# <tmp>/mail/<user>/Maildir; Sent, Drafts, Trash, Junk and Archive carry their special-use flags
# and are created and subscribed on first login. CONDSTORE/QRESYNC: Dovecot 2.3 advertises both
# by default (no plugin needed); test_tern_dovecot.py checks the capability.
import atexit
import grp
import imaplib
import os
import poplib
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
_running = []

NOT_ROOT = "a private Dovecot needs root (its master switches users; CI runs the tests as root)"
SPECIAL = (("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"), ("Junk", "\\Junk"),
           ("Archive", "\\Archive"))


def unavailable():
    """Why a private Dovecot cannot run here (a reason for skipTest), or None. Dovecot missing is
    not a skip: scripts/deps.sh installs it, so its absence fails the test instead."""
    if os.geteuid() != 0:
        return NOT_ROOT
    return None


def _free_ports(n):
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


CONF = """\
# Private Dovecot for Tern's end-to-end tests (tests/e2e/dovecotlib.py). Nothing from
# /etc/dovecot is read: settings not named here are Dovecot's built-in defaults (`doveconf -d`).
instance_name = {instance}
base_dir = {d}/run
state_dir = {d}/state
protocols = imap pop3 lmtp
listen = 127.0.0.1

ssl = yes
ssl_cert = <{d}/etc/cert.pem
ssl_key = <{d}/etc/key.pem
ssl_min_protocol = TLSv1.2
# Passwords only over TLS (Dovecot counts loopback-to-loopback as secured too).
disable_plaintext_auth = yes
auth_mechanisms = plain login

# Started as root; the master drops to these package-created users.
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull

log_path = {d}/log/dovecot.log
info_log_path = {d}/log/dovecot.log
auth_verbose = yes
# Tests try wrong passwords on purpose; Dovecot's 2 s penalty would only slow them down.
auth_failure_delay = 0

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/etc/passwd
}}
# Static userdb: an unknown user is still refused (LMTP RCPT too), since allow_all_users = no
# makes Dovecot check the passdb.
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100

namespace inbox {{
  inbox = yes
  separator = /
{mailboxes}}}

protocol lmtp {{
  postmaster_address = postmaster@{domain}
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0600
  }}
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0600
  }}
  # Postfix's smtpd (user postfix) asks here (smtpd_sasl_type = dovecot).
  unix_listener auth-postfix {{
    mode = 0660
    user = {auth_user}
    group = {auth_group}
  }}
}}
"""


class Dovecot:
    """One private instance; see the module comment for the API."""

    def __init__(self, domain="dovecot.test", hostname=None):
        if not os.access(DOVECOT, os.X_OK):
            raise AssertionError("dovecot missing: run scripts/deps.sh test")
        for exe in ("imap", "pop3", "lmtp"):
            if not os.access(f"/usr/lib/dovecot/{exe}", os.X_OK):
                raise AssertionError(f"/usr/lib/dovecot/{exe} missing: run scripts/deps.sh test")
        self.domain = domain
        self.hostname = hostname or "imap." + domain
        self.tmp = tempfile.mkdtemp(prefix="tern-dovecot-")
        os.chmod(self.tmp, 0o755)      # dovecot, dovenull, nobody and postfix traverse it
        for sub in ("etc", "run", "state", "log", "mail"):
            os.mkdir(os.path.join(self.tmp, sub))
        os.chmod(os.path.join(self.tmp, "etc"), 0o750)   # the auth worker (group dovecot) reads passwd
        os.chown(os.path.join(self.tmp, "etc"), 0, pwd.getpwnam("dovecot").pw_gid)
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        os.chown(os.path.join(self.tmp, "mail"), self.uid, self.gid)
        self.ports = dict(zip(("imap", "imaps", "pop3", "pop3s", "lmtp"), _free_ports(5)))
        self.passwords = {}            # address -> plaintext (kept for the helpers' logins)
        self._passwd_lines = []
        self.proc = None
        self._conf_path = os.path.join(self.tmp, "etc", "dovecot.conf")
        self._write_passwd()
        self._make_cert()

    # -- files

    @property
    def conf(self):
        return self._conf_path

    @property
    def cert(self):
        return os.path.join(self.tmp, "etc", "cert.pem")

    @property
    def key(self):
        return os.path.join(self.tmp, "etc", "key.pem")

    @property
    def auth_socket(self):
        return os.path.join(self.tmp, "run", "auth-postfix")

    @property
    def lmtp_target(self):
        return f"inet:127.0.0.1:{self.ports['lmtp']}"

    def port(self, name):
        return self.ports[name]

    def address(self, user):
        return user if "@" in user else f"{user}@{self.domain}"

    def _make_cert(self):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2",
                        "-subj", "/CN=" + self.hostname,
                        "-addext", f"subjectAltName=DNS:{self.hostname},IP:127.0.0.1"],
                       check=True, capture_output=True)
        os.chmod(self.key, 0o600)

    def fingerprint(self):
        """SHA-256 of the certificate as `openssl x509 -fingerprint -sha256` prints it: AB:CD:..."""
        out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", self.cert],
                             check=True, capture_output=True, text=True).stdout
        fp = out.strip().split("=", 1)[1].upper()
        assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", fp), out
        return fp

    def tls_context(self):
        """A client context trusting exactly this instance's certificate (hostname not checked)."""
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        return ctx

    def add_user(self, user, password, scheme="PLAIN"):
        """Adds user@domain to the passwd-file (Dovecot rereads it on change). Returns the address."""
        addr = self.address(user)
        if scheme.upper() == "PLAIN":
            stored = "{PLAIN}" + password
        else:
            stored = subprocess.run([DOVEADM, "pw", "-s", scheme, "-p", password], check=True,
                                    capture_output=True, text=True).stdout.strip()
        if ":" in addr or ":" in stored or "\n" in stored:
            raise ValueError("passwd-file fields cannot hold ':' or newlines")
        self.passwords[addr] = password
        self._passwd_lines.append(f"{addr}:{stored}::::::\n")
        self._write_passwd()
        return addr

    def _write_passwd(self):
        path = os.path.join(self.tmp, "etc", "passwd")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.writelines(self._passwd_lines)
        os.chmod(tmp, 0o640)
        os.chown(tmp, 0, pwd.getpwnam("dovecot").pw_gid)   # the auth worker reads it as dovecot
        os.rename(tmp, path)

    # -- lifecycle

    def start(self, timeout=30.0):
        mailboxes = "".join(f"  mailbox {name} {{\n    special_use = {flag}\n    auto = subscribe\n  }}\n"
                            for name, flag in SPECIAL)
        try:     # Postfix's smtpd (user postfix) is the auth socket's only client
            auth_user = pwd.getpwnam("postfix")
        except KeyError:
            auth_user = pwd.getpwnam("dovecot")
        auth_user, auth_group = auth_user.pw_name, grp.getgrgid(auth_user.pw_gid).gr_name
        with open(self.conf, "w") as f:
            f.write(CONF.format(d=self.tmp, instance="tern-e2e-" + os.path.basename(self.tmp),
                                uid=self.uid, gid=self.gid, domain=self.domain, mailboxes=mailboxes,
                                auth_user=auth_user, auth_group=auth_group, **self.ports))
        check = subprocess.run(["doveconf", "-c", self.conf, "-n"], capture_output=True, text=True)
        if check.returncode != 0:
            raise AssertionError(f"doveconf refused {self.conf}:\n{check.stderr}")
        self._stdout = open(os.path.join(self.tmp, "log", "stdout.log"), "wb")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=self._stdout, stderr=subprocess.STDOUT, start_new_session=True)
        _running.append(self)
        deadline = time.monotonic() + timeout
        pending = dict(self.ports)
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"dovecot exited ({self.proc.returncode}):\n{self._stdout_text()}\n{self.log()}")
            for name, port in list(pending.items()):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        del pending[name]
                except OSError:
                    pass
            if not pending and os.path.exists(self.auth_socket):
                return self
            if time.monotonic() >= deadline:
                raise AssertionError(f"dovecot not listening on {pending} after {timeout}s:\n{self.log()}")
            time.sleep(0.05)

    def stop(self):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)   # the master stops its children, then exits
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)   # its own session, started above
                except OSError:
                    pass
                proc.wait(timeout=5)
        self._stdout.close()
        if self in _running:
            _running.remove(self)

    def cleanup(self):
        self.stop()
        if not os.environ.get("TERN_E2E_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    def log(self):
        try:
            with open(os.path.join(self.tmp, "log", "dovecot.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _stdout_text(self):
        try:
            with open(os.path.join(self.tmp, "log", "stdout.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- mailbox access (doveadm, in-process storage access as the user's uid)

    def doveadm(self, *args, input=None, timeout=30):
        cmd = [DOVEADM, "-c", self.conf] + [str(a) for a in args]
        p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
        if p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} -> {p.returncode}: {p.stderr.decode(errors='replace')}\n"
                                 f"{self.log()[-2000:]}")
        return p.stdout.decode("utf-8", "replace")

    def save(self, user, message, folder="INBOX", flags=()):
        """Stores message (bytes; CRLF or LF) in user's folder and returns its UID."""
        addr = self.address(user)
        before = {m["uid"] for m in self.messages(addr, folder)}
        self.doveadm("save", "-u", addr, "-m", folder, input=message)
        new = sorted({m["uid"] for m in self.messages(addr, folder)} - before)
        assert len(new) == 1, f"doveadm save: new uids {new}"
        if flags:
            self.set_flags(addr, new[0], flags, folder)
        return new[0]

    def set_flags(self, user, uid, flags, folder="INBOX"):
        """Replaces the flags of one message (flags like "\\Seen", "$Label")."""
        self.doveadm("flags", "replace", "-u", self.address(user), " ".join(flags) if flags else "",
                     "mailbox", folder, "uid", uid)

    def expunge(self, user, folder="INBOX"):
        self.doveadm("expunge", "-u", self.address(user), "mailbox", folder, "all")

    def messages(self, user, folder="INBOX"):
        out = self.doveadm("-f", "tab", "fetch", "-u", self.address(user), "uid flags size.virtual guid",
                           "mailbox", folder, "all")
        rows = out.splitlines()[1:]      # first line: the field names
        result = []
        for row in rows:
            if not row.strip():
                continue
            uid, flags, size, guid = row.split("\t")
            result.append({"uid": int(uid), "flags": [f for f in flags.split() if f != "\\Recent"],
                           "size": int(size), "guid": guid})
        return sorted(result, key=lambda m: m["uid"])

    def count(self, user, folder="INBOX"):
        out = self.doveadm("-f", "tab", "mailbox", "status", "-u", self.address(user), "messages", folder)
        return int(out.splitlines()[1].split("\t")[-1])   # "mailbox<TAB>messages" rows

    def wait_count(self, user, n, folder="INBOX", timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            got = self.count(user, folder)
            if got >= n:
                return got
            if time.monotonic() >= deadline:
                raise AssertionError(f"dovecot: {got} of {n} messages in {self.address(user)} {folder} "
                                     f"after {timeout}s; log:\n{self.log()[-3000:]}")
            time.sleep(0.1)

    def folders(self, user, subscribed=False):
        args = ["mailbox", "list", "-u", self.address(user)] + (["-s"] if subscribed else [])
        return [line for line in self.doveadm(*args).splitlines() if line]

    def special_use(self, user):
        """{"\\Sent": "Sent", ...} as the server announces it (IMAP LIST RETURN (SPECIAL-USE))."""
        out = {}
        with self.imap(user) as m:
            typ, data = m.list('""', "*")
            assert typ == "OK", data
            for line in data:
                fm = re.match(rb'\(([^)]*)\) "?[^ "]*"? "?([^"]*)"?$', line)
                if not fm:
                    continue
                for flag in fm.group(1).split():
                    if flag.decode() in dict((f, n) for n, f in SPECIAL):
                        out[flag.decode()] = fm.group(2).decode()
        return out

    def text(self, user, uid, folder="INBOX"):
        with self.imap(user) as m:
            typ, data = m.select(_quote(folder), readonly=True)
            assert typ == "OK", data
            typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[])")
            assert typ == "OK" and data and isinstance(data[0], tuple), data
            return data[0][1]

    # -- logged-in clients

    def pop3(self, user):
        addr = self.address(user)
        p = poplib.POP3_SSL("127.0.0.1", self.ports["pop3s"], context=self.tls_context(), timeout=20)
        p.user(addr)
        p.pass_(self.passwords[addr])
        return p

    def imap(self, user, starttls=False):
        """Logged in on IMAPS, or with starttls=True on the IMAP port after STARTTLS."""
        addr = self.address(user)
        if starttls:
            m = imaplib.IMAP4("127.0.0.1", self.ports["imap"], timeout=20)
            m.starttls(ssl_context=self.tls_context())
        else:
            m = imaplib.IMAP4_SSL("127.0.0.1", self.ports["imaps"], ssl_context=self.tls_context(), timeout=20)
        m.login(addr, self.passwords[addr])
        return m

    def lmtp(self, message, recipients, sender="sender@remote.example"):
        """Delivers like Postfix would (Dovecot's LMTP adds Return-Path, Delivered-To, Received)."""
        with smtplib.LMTP("127.0.0.1", self.ports["lmtp"], timeout=20) as c:
            refused = c.sendmail(sender, [self.address(r) for r in recipients], message)
        assert not refused, refused

    # -- Postfix in front

    def postfix_submission(self, **kw):
        """A postfixlib.Postfix (not started) taking submissions with SASL through this Dovecot and
        delivering mail for its domain over LMTP; TLS with this instance's certificate."""
        import postfixlib
        users = [a.split("@", 1)[0] for a in self.passwords if a.endswith("@" + self.domain)]
        return postfixlib.Postfix.submission(self.domain, users=users, lmtp=self.lmtp_target,
                                             sasl_path=self.auth_socket, cert=self.cert, key=self.key, **kw)


def _quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@atexit.register
def _stop_all():
    for d in list(_running):
        try:
            d.cleanup()
        except Exception:
            pass
