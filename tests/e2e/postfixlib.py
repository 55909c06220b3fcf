# A private Postfix instance (Debian's postfix package) on a loopback port for interop tests, built
# like bench/smtp_bench.sh's (own config, queue and log directories, no chroot, file logging):
# as a sender relaying everything to host:port, or as a receiver delivering a domain into Maildirs,
# or as a submission server (STARTTLS/smtps, SASL through Dovecot) delivering over LMTP (dovecotlib).
# Needs root (Postfix's daemons change user); never touches the system instance (/etc/postfix) and
# is always stopped at exit. Stdlib only.
import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

POSTFIX = "/usr/sbin/postfix"
SENDMAIL = "/usr/sbin/sendmail"
_running = []

NOT_ROOT = "a private Postfix needs root (its daemons switch users; CI runs the tests as root)"


def unavailable():
    """Why a private Postfix cannot run here (a reason for skipTest), or None. Postfix missing is
    not a skip: scripts/deps.sh installs it, so its absence fails the test instead."""
    if os.geteuid() != 0:
        return NOT_ROOT
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pty(*args, timeout=60):
    """A postfix command under script(1): postfix's start/stop scripts report to a terminal (there
    is no syslog here). Returns (exit code, output)."""
    p = subprocess.run(["script", "-qec", " ".join(args), "/dev/null"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace").replace("\r", "")


MAIN_CF = """\
# Private Postfix for Tern's interop tests (tests/e2e/postfixlib.py).
compatibility_level = 3.6
config_directory = {d}/etc
queue_directory = {d}/spool
data_directory = {d}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = {hostname}
mydomain = {hostname}
myorigin = $myhostname
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
biff = no
append_dot_mydomain = no
alias_maps =
alias_database =
local_recipient_maps =
maillog_file_prefixes = {d}/log
maillog_file = {d}/log/maillog
# No DNS: routes are literal addresses.
disable_dns_lookups = yes
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_peername_lookup = no
default_process_limit = {proclimit}
message_size_limit = 52428800
# Tests want answers in seconds, not Postfix's minutes.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
"""

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:{port} inet n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """One private instance. Build it with sender() or receiver(), then start(); stop() or the
    atexit hook ends it. `port` is its smtpd on 127.0.0.1; `extra` adds main.cf lines."""

    def __init__(self, hostname="postfix.test", extra="", proclimit=100):
        if not os.access(POSTFIX, os.X_OK):
            raise AssertionError("postfix missing: run scripts/deps.sh test")
        self.tmp = tempfile.mkdtemp(prefix="tern-postfix-")
        os.chmod(self.tmp, 0o755)          # Postfix daemons (postfix, nobody) must traverse it
        self.port = _free_port()
        self.hostname = hostname
        self.extra = extra
        self.proclimit = proclimit
        self.domain = None
        self.started = False
        self.master_extra = ""         # master.cf lines after MASTER_CF (submission() adds services)
        self.submission_port = None    # submission(): STARTTLS + AUTH port (587's role)
        self.smtps_port = None         # submission(): TLS-on-connect port (465's role)
        for sub in ("etc", "spool", "data", "log", "mail"):
            os.mkdir(os.path.join(self.tmp, sub))
        pf = pwd.getpwnam("postfix")
        os.chown(os.path.join(self.tmp, "data"), pf.pw_uid, pf.pw_gid)
        nobody = pwd.getpwnam("nobody")
        self.vuid, self.vgid = nobody.pw_uid, nobody.pw_gid
        os.chown(os.path.join(self.tmp, "mail"), self.vuid, self.vgid)

    @property
    def conf(self):
        return os.path.join(self.tmp, "etc")

    # -- roles

    @classmethod
    def sender(cls, relay_host, relay_port, tls="may", **kw):
        """Relays every message (any recipient from loopback) to [relay_host]:relay_port, with
        smtp_tls_security_level = tls."""
        p = cls(**kw)
        p.extra += (f"relayhost = [{relay_host}]:{relay_port}\n"
                    f"smtp_tls_security_level = {tls}\n"
                    "smtp_tls_loglevel = 1\n")
        return p

    @classmethod
    def receiver(cls, domain, users=("user",), tls=False, **kw):
        """Delivers mail for users@domain into Maildirs under mail/<domain>/<user>/ (everything
        else is refused at RCPT). tls: offer STARTTLS with a self-signed certificate."""
        p = cls(**kw)
        p.domain = domain
        maps = ", ".join(f"{u}@{domain}={domain}/{u}/" for u in users)
        p.extra += (f"virtual_mailbox_domains = {domain}\n"
                    f"virtual_mailbox_base = {p.tmp}/mail\n"
                    f"virtual_mailbox_maps = inline:{{ {maps} }}\n"
                    f"virtual_uid_maps = static:{p.vuid}\n"
                    f"virtual_gid_maps = static:{p.vgid}\n"
                    "virtual_minimum_uid = 100\n"
                    "virtual_mailbox_limit = 0\n")
        if tls:
            cert, key = os.path.join(p.conf, "cert.pem"), os.path.join(p.conf, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "2", "-subj", "/CN=" + p.hostname], check=True, capture_output=True)
            p.extra += (f"smtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\n"
                        "smtpd_tls_security_level = may\nsmtpd_tls_received_header = yes\n")
        return p

    @classmethod
    def submission(cls, domain, users, lmtp, sasl_path, cert=None, key=None, **kw):
        """A submission server in front of a mailbox server: submission_port (STARTTLS required
        before AUTH) and smtps_port (TLS on connect) take mail from clients authenticated through
        Dovecot's auth socket (smtpd_sasl_type = dovecot, smtpd_sasl_path = sasl_path) and relay it
        anywhere; mail for users@domain is delivered over LMTP to `lmtp` (a Postfix lmtp(8)
        destination: "inet:127.0.0.1:24" or "unix:/path"). `port` (25's role) accepts mail only for
        the domain's users: no relaying for unauthenticated clients, loopback included. cert/key:
        PEM files (a self-signed pair is made when absent)."""
        p = cls(**kw)
        p.domain = domain
        if cert is None:
            cert, key = os.path.join(p.conf, "cert.pem"), os.path.join(p.conf, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "2", "-subj", "/CN=" + p.hostname], check=True, capture_output=True)
        p.submission_port, p.smtps_port = _free_port(), _free_port()
        while p.smtps_port in (p.port, p.submission_port):
            p.smtps_port = _free_port()
        while p.submission_port == p.port:
            p.submission_port = _free_port()
        maps = ", ".join(f"{u}@{domain}=ok" for u in users)
        p.extra += (f"virtual_mailbox_domains = {domain}\n"
                    f"virtual_mailbox_maps = inline:{{ {maps} }}\n"
                    f"virtual_transport = lmtp:{lmtp}\n"
                    # mynetworks (loopback) must not relay: only SASL-authenticated clients may.
                    "smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination\n"
                    "smtpd_sasl_type = dovecot\n"
                    f"smtpd_sasl_path = {sasl_path}\n"
                    "smtpd_sasl_auth_enable = no\n"
                    "smtpd_tls_auth_only = yes\n"
                    "smtpd_sasl_security_options = noanonymous\n"
                    "smtpd_sasl_authenticated_header = yes\n"
                    f"smtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\n"
                    "smtpd_tls_security_level = may\nsmtpd_tls_received_header = yes\n"
                    "smtpd_tls_loglevel = 1\n")
        opts = ("  -o smtpd_sasl_auth_enable=yes\n"
                "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
                "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n")
        p.master_extra += (f"127.0.0.1:{p.submission_port} inet n - n - - smtpd\n"
                           "  -o syslog_name=postfix/submission\n"
                           "  -o smtpd_tls_security_level=encrypt\n" + opts +
                           f"127.0.0.1:{p.smtps_port} inet n - n - - smtpd\n"
                           "  -o syslog_name=postfix/smtps\n"
                           "  -o smtpd_tls_wrappermode=yes\n" + opts)
        return p

    # -- lifecycle

    def start(self, timeout=30.0):
        d = self.tmp
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(d=d, hostname=self.hostname, proclimit=self.proclimit) + self.extra)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port) + self.master_extra)
        out = ""   # `postfix start` runs `postfix check` itself
        _running.append(self)
        self.started = True
        rc, out2 = _pty(POSTFIX, "-c", self.conf, "start")
        if rc != 0:
            raise AssertionError(f"postfix start failed ({rc}):\n{out}{out2}\n{self.log()}")
        deadline = time.monotonic() + timeout
        for port in [self.port] + [p for p in (self.submission_port, self.smtps_port) if p]:
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() >= deadline:
                        raise AssertionError(f"postfix smtpd not listening on {port}:\n{out}{out2}\n{self.log()}")
                    time.sleep(0.1)
        return self

    def master_pid(self):
        try:
            with open(os.path.join(self.tmp, "spool", "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        if not self.started:
            return
        self.started = False
        pid = self.master_pid()
        _pty(POSTFIX, "-c", self.conf, "stop")
        if pid and _alive(pid):
            _pty(POSTFIX, "-c", self.conf, "abort")
            deadline = time.monotonic() + 5
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, 9)
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

    # -- use

    def sendmail(self, message, recipients, sender=None, timeout=30):
        """Posts a message (bytes, LF or CRLF line ends) through this instance's sendmail(1):
        `sendmail -C conf -i [-f sender] rcpt...` (postdrop into its queue, pickup sends it on)."""
        cmd = [SENDMAIL, "-C", self.conf, "-i"] + (["-f", sender] if sender else []) + list(recipients)
        p = subprocess.run(cmd, input=message, capture_output=True, timeout=timeout)
        if p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} -> {p.returncode}: {p.stderr!r}\n{self.log()}")

    def queue(self):
        """postqueue -p output ("Mail queue is empty" when it is)."""
        p = subprocess.run(["/usr/sbin/postqueue", "-c", self.conf, "-p"], capture_output=True, timeout=30)
        return p.stdout.decode("utf-8", "replace")

    def log(self):
        try:
            with open(os.path.join(self.tmp, "log", "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def maildir(self, user):
        return os.path.join(self.tmp, "mail", self.domain, user)

    def messages(self, user="user"):
        """Delivered messages of user@domain (as Postfix's virtual(8) wrote them: LF line ends,
        Return-Path and Delivered-To prepended), oldest first."""
        files = sorted(glob.glob(os.path.join(self.maildir(user), "new", "*")), key=os.path.getmtime)
        out = []
        for f in files:
            with open(f, "rb") as fh:
                out.append(fh.read())
        return out

    def wait_messages(self, n, user="user", timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            got = self.messages(user)
            if len(got) >= n:
                return got
            if time.monotonic() >= deadline:
                raise AssertionError(f"postfix: {len(got)} of {n} messages for {user}@{self.domain} "
                                     f"after {timeout}s; queue:\n{self.queue()}\nlog:\n{self.log()[-3000:]}")
            time.sleep(0.1)


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


@atexit.register
def _stop_all():
    for p in list(_running):
        try:
            p.cleanup()
        except Exception:
            pass
