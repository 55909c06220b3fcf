#!/usr/bin/env bash
# client_bench.sh - the `tern` client against the usual tools (issue 10): `tern sync` beside
# mbsync (isync) syncing the same mailbox from the same private Dovecot (first sync into an empty
# store, then a no-change resync), and `tern list` of a big folder beside mutt opening the same
# Maildir with a warm header cache.
#
#   bench/client_bench.sh [-n MSGS] [-l LISTMSGS] [-r RUNS] [-w WARMUPS] [-p PARTS] [-k]
#
#   -n  messages in the sync mailbox (10000): realistic mail, mostly 2-20 KB, some 100 KB+
#   -l  messages in the folder for `tern list` / mutt (100000): small messages (~2 KB)
#   -r  timed runs of each measurement (3); the figures are medians
#   -w  untimed warm-up runs of each sync client before the timed ones (1)
#   -p  parts to run: "sync list" (both)
#   -k  keep the work directory (logs, Maildirs, configs)
# Environment: TERN=./build/tern BENCH_TMPDIR=/var/tmp TIMEOUT=1800 (per command) PYTHON=python3
#
# Needs root (Dovecot's master switches users) and scripts/deps.sh bench (dovecot-imapd, isync,
# mutt). Never touches the system Dovecot, ~/.mbsyncrc or ~/.muttrc: a private Dovecot on a free
# loopback port (IMAPS, self-signed certificate), mbsync -c, mutt -n -F, tern with private XDG
# directories; everything is stopped and removed at exit.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
MSGS=${MSGS:-10000}
LISTMSGS=${LISTMSGS:-100000}
RUNS=${RUNS:-3}
WARMUPS=${WARMUPS:-1}
PARTS=${PARTS:-"sync list"}
KEEP=${KEEP:-0}
TERN=${TERN:-./build/tern}
BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}
TIMEOUT=${TIMEOUT:-1800}
PY=${PYTHON:-python3}
PASSWORD=bench-password
DOMAIN=bench.test

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "n:l:r:w:p:kh" opt; do
  case $opt in
    n) MSGS=$OPTARG ;; l) LISTMSGS=$OPTARG ;; r) RUNS=$OPTARG ;; w) WARMUPS=$OPTARG ;;
    p) PARTS=$OPTARG ;; k) KEEP=1 ;; h) usage 0 ;; *) usage 2 ;;
  esac
done
PARTS=${PARTS//,/ }
for v in MSGS LISTMSGS RUNS TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "client_bench: $v must be a positive integer" >&2; exit 2; }
done
[[ $WARMUPS =~ ^[0-9]+$ ]] || { echo "client_bench: WARMUPS must be a number" >&2; exit 2; }
want() { [[ " $PARTS " == *" $1 "* ]]; }
[[ $TERN == /* ]] || TERN="$PWD/$TERN"
[[ $(id -u) == 0 ]] || die "must run as root (a private Dovecot switches users)"
[[ -x $TERN ]] || die "$TERN not found (build it: cmake --build build --target tern)"
[[ -x /usr/sbin/dovecot && -x /usr/lib/dovecot/imap ]] || die "dovecot-imapd not installed (scripts/deps.sh bench)"
getent passwd dovecot >/dev/null && getent passwd dovenull >/dev/null || die "users dovecot/dovenull missing"
want sync && { command -v mbsync >/dev/null || die "mbsync not installed (isync; scripts/deps.sh bench)"; }
want list && { command -v mutt >/dev/null || die "mutt not installed (scripts/deps.sh bench)"; }
KILL_GRACE=10
bench_trap_cleanup

# ----------------------------------------------------------------- helpers --

# secs_since START: seconds (3 decimals) from $EPOCHREALTIME value START to now.
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }

# timed LOG CMD...: runs CMD (stdin /dev/null, stdout+stderr to LOG, or stdout to $TIMED_STDOUT
# when set; bounded by TIMEOUT), prints its seconds; fails (printing nothing) when CMD fails.
timed() {
  local out=$1 t0 rc
  shift
  t0=$EPOCHREALTIME
  if [[ -n ${TIMED_STDOUT:-} ]]; then
    timeout "$TIMEOUT" "$@" </dev/null >"$TIMED_STDOUT" 2>"$out"
  else
    timeout "$TIMEOUT" "$@" </dev/null >"$out" 2>&1
  fi
  rc=$?
  local s
  s=$(secs_since "$t0")
  ((rc == 0)) || { log "failed ($rc): $* (see $out)"; tail -5 "$out" >&2; return 1; }
  echo "$s"
}

median_of() { # values... (NA ignored)
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "NA"; exit }
      if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m }'
}

# human SECS: "3.2 s" (or "45 ms" below a second).
human() { awk -v s="$1" 'BEGIN { if (s !~ /^[0-9.]+$/) print "NA"; else if (s < 1) printf "%.0f ms", s * 1000; else printf "%.2f s", s }'; }
speedup() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && a > 0) printf "%.1fx", b / a; else print "NA" }'; }

# Messages in a Maildir (cur/ and new/).
maildir_count() { find "$1/cur" "$1/new" -maxdepth 1 -type f 2>/dev/null | wc -l; }

# gen_maildir DIR COUNT KIND SEED: COUNT messages straight into the Maildir DIR/cur (LF line
# ends, as Dovecot stores them; mtime = the Date:, which Dovecot serves as INTERNALDATE).
#   real:  like an inbox: ~55% text/plain, ~30% multipart/alternative (text + HTML), ~15%
#          multipart/mixed with a base64 attachment; total sizes 70% 2-12 KB, 20% 12-40 KB,
#          7% 40-100 KB, 3% 100-600 KB; typical Received/DKIM headers; 70% seen, 3% flagged.
#   small: ~1.5-3 KB text/plain messages, the same headers.
gen_maildir() {
  "$PY" - "$@" <<'EOF'
import base64, os, random, sys, time
d, n, kind, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rnd = random.Random(seed)
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(d, sub), exist_ok=True)
words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.choice((2, 3, 4, 5, 5, 6, 7, 8, 10))))
         for _ in range(5000)]
lines, line = [], []
while len(lines) < 40000:
    line.append(rnd.choice(words))
    if sum(len(w) + 1 for w in line) > 66:
        lines.append(" ".join(line)); line = []
pool = "\n".join(lines) + "\n"
names = ["Alice Martin", "Bob Smith", "Chloé Dubois", "Dmitri Ivanov", "Eva Novak", "Frank Müller",
         "GitHub", "Jira", "Newsletter", "Hiro Tanaka", "Ines García", "Jan de Vries"]
domains = ["example.com", "example.org", "lists.example.net", "mail.example.de", "corp.example"]
def text(size):
    if size <= 0:
        return ""
    start = rnd.randrange(0, len(pool) - size - 1) if size < len(pool) - 1 else 0
    start = pool.rfind("\n", 0, start) + 1
    return pool[start:start + size].rsplit("\n", 1)[0] + "\n"
def b64(size):
    raw = os.urandom(size * 3 // 4)
    s = base64.b64encode(raw).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\n"
def target():
    r = rnd.random()
    if kind == "small":
        return rnd.randint(1500, 3000)
    if r < 0.70: return rnd.randint(2000, 12000)
    if r < 0.90: return rnd.randint(12000, 40000)
    if r < 0.97: return rnd.randint(40000, 100000)
    return rnd.randint(100000, 600000)
now = int(time.time())
host = "bench"
for i in range(n):
    size = target()
    t = now - (n - i) * 600 - rnd.randint(0, 500)   # one every ~10 minutes, oldest first
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))
    name = rnd.choice(names); dom = rnd.choice(domains)
    addr = name.split()[0].lower().encode("ascii", "ignore").decode() + "@" + dom
    subj = " ".join(rnd.choice(words) for _ in range(rnd.randint(3, 9)))
    if rnd.random() < 0.2:
        subj = "Re: " + subj
    sig = b64(256).replace("\n", "\n\t ")
    head = (f"Return-Path: <{addr}>\n"
            f"Delivered-To: user@{'bench.test'}\n"
            f"Received: from mx.{dom} (mx.{dom} [192.0.2.{i % 250 + 1}])\n\tby mail.bench.test with ESMTPS id {i:08X}\n"
            f"\tfor <user@bench.test>; {date}\n"
            f"Received: from [10.0.{i % 200}.{i % 97}] (unknown [198.51.100.{i % 250 + 1}])\n"
            f"\tby mx.{dom} (Postfix) with ESMTPSA id {i * 7919:X}; {date}\n"
            f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={dom}; s=sel1;\n"
            f"\th=from:to:subject:date:message-id; bh={b64(32).strip()};\n\tb={sig.strip()}\n"
            f"From: {name} <{addr}>\n"
            f"To: User <user@bench.test>\n"
            f"Subject: {subj}\n"
            f"Date: {date}\n"
            f"Message-ID: <{t}.{i}.{seed}@{dom}>\n"
            "MIME-Version: 1.0\n")
    left = max(size - len(head) - 200, 300)
    r = rnd.random()
    if kind == "small" or (size < 40000 and r < 0.55):
        body = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + text(left)
    elif size < 40000 or r < 0.5:
        tl = left // 3
        t_ = text(tl)
        html = "<html><body>" + "".join(f"<p>{l}</p>\n" for l in text(left - tl - 200).splitlines()) + "</body></html>\n"
        body = (f"Content-Type: multipart/alternative; boundary=\"alt{i}\"\n\n--alt{i}\n"
                f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{t_}\n--alt{i}\n"
                f"Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{html}\n--alt{i}--\n")
    else:
        tl = min(left // 8, 4000)
        body = (f"Content-Type: multipart/mixed; boundary=\"mix{i}\"\n\n--mix{i}\n"
                f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{text(tl)}\n--mix{i}\n"
                f"Content-Type: application/pdf; name=\"report-{i}.pdf\"\nContent-Transfer-Encoding: base64\n"
                f"Content-Disposition: attachment; filename=\"report-{i}.pdf\"\n\n{b64(left - tl)}\n--mix{i}--\n")
    data = (head + body).encode()
    r = rnd.random()
    flags = "FS" if r < 0.03 else "RS" if r < 0.10 else "S" if r < 0.70 else ""
    path = os.path.join(d, "cur", f"{t}.M{i}P{seed}.{host},S={len(data)}:2,{flags}")
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (t, t))
EOF
}

# ----------------------------------------------------------------- dovecot --

dovecot_start() {
  local d="$WORK/dovecot" uid gid
  uid=$(id -u nobody); gid=$(id -g nobody)
  DOVE_CONF="$d/etc/dovecot.conf"
  DOVE_PORT=$(free_port)
  cat >"$DOVE_CONF" <<EOF
# Private Dovecot for bench/client_bench.sh: IMAPS on loopback only; nothing from /etc/dovecot.
instance_name = tern-client-bench-$$
base_dir = $d/run
state_dir = $d/state
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <$d/etc/cert.pem
ssl_key = <$d/etc/key.pem
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
log_path = $d/log/dovecot.log
info_log_path = $d/log/dovecot.log
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/etc/passwd
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$d/mail/%u
}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $DOVE_PORT
    ssl = yes
  }
}
EOF
  doveconf -c "$DOVE_CONF" -n >/dev/null 2>"$d/doveconf.err" || { cat "$d/doveconf.err" >&2; return 1; }
  dovecot -F -c "$DOVE_CONF" >"$d/log/stdout.log" 2>&1 &
  DOVE_PID=$!; KILL_PIDS+=("$DOVE_PID")
  wait_port "$DOVE_PORT" 30 "$DOVE_PID" || { tail -20 "$d/log/dovecot.log" "$d/log/stdout.log" >&2; return 1; }
}

dovecot_prepare() {
  local d="$WORK/dovecot"
  mkdir -p "$d"/{etc,run,state,log,mail}
  chmod 755 "$d" "$d/etc" "$d/mail"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/etc/key.pem" \
    -out "$d/etc/cert.pem" -days 2 -subj "/CN=imap.$DOMAIN" \
    -addext "subjectAltName=DNS:imap.$DOMAIN,DNS:127.0.0.1,IP:127.0.0.1" >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; return 1; }
  chmod 600 "$d/etc/key.pem"
  CERT="$d/etc/cert.pem"
  FP=$(openssl x509 -noout -fingerprint -sha256 -in "$CERT" | cut -d= -f2)
  {
    echo "sync@$DOMAIN:{PLAIN}$PASSWORD"
    echo "list@$DOMAIN:{PLAIN}$PASSWORD"
  } >"$d/etc/passwd"
  chmod 644 "$d/etc/passwd"
}

# fill_user USER COUNT KIND: the user's INBOX as Maildir files, then Dovecot's index of them.
fill_user() {
  local user=$1 n=$2 kind=$3 md="$WORK/dovecot/mail/$1@$DOMAIN/Maildir" t0
  t0=$EPOCHREALTIME
  gen_maildir "$md" "$n" "$kind" "$((n % 1000 + ${#kind}))" || return 1
  chown -R nobody:"$(id -gn nobody)" "$WORK/dovecot/mail/$user@$DOMAIN"
  doveadm -c "$DOVE_CONF" force-resync -u "$user@$DOMAIN" INBOX || return 1
  local got mb
  got=$(doveadm -c "$DOVE_CONF" -f tab mailbox status -u "$user@$DOMAIN" messages INBOX | awk -F'\t' 'END { print $NF }')
  mb=$(du -sm "$md" | cut -f1)
  [[ $got == "$n" ]] || { log "dovecot: $user has $got messages, expected $n"; return 1; }
  log "$user@$DOMAIN: $n $kind messages, $mb MB on disk ($(secs_since "$t0") s to create and index)"
  eval "${user^^}_MB=$mb"
}

# -------------------------------------------------------------------- tern --

# tern_home DIR USER: a private XDG home with the account "bench" for USER.
tern_home() {
  local h=$1 user=$2
  rm -rf "$h"; mkdir -p "$h"
  tern_in "$h" account add bench --address "$user@$DOMAIN" --imap "127.0.0.1:$DOVE_PORT" --fingerprint "$FP" \
    <<<"$PASSWORD" >"$h.account.log" 2>&1 || { cat "$h.account.log" >&2; return 1; }
}
# tern_in HOME ARGS...: tern with that private home. tern_cmd HOME: the same command line in the
# array TC, for `timed` (which runs programs, not shell functions).
tern_cmd() { TC=(env HOME="$1" XDG_CONFIG_HOME="$1/config" XDG_DATA_HOME="$1/data" COLUMNS=120 "$TERN"); }
tern_in() {
  local TC
  tern_cmd "$1"
  shift
  "${TC[@]}" "$@"
}

# ------------------------------------------------------------------ mbsync --

# mbsync_conf DIR USER: DIR/mbsyncrc syncing USER's mailboxes into the Maildirs under DIR/mail.
mbsync_conf() {
  local dir=$1 user=$2
  rm -rf "$dir"; mkdir -p "$dir/mail"
  cat >"$dir/mbsyncrc" <<EOF
# bench/client_bench.sh: Far = the private Dovecot (IMAPS), Near = Maildirs under $dir/mail.
IMAPAccount bench
Host 127.0.0.1
Port $DOVE_PORT
User $user@$DOMAIN
Pass $PASSWORD
SSLType IMAPS
CertificateFile $CERT

IMAPStore far
Account bench

MaildirStore near
Path $dir/mail/
Inbox $dir/mail/INBOX
SubFolders Verbatim

Channel bench
Far :far:
Near :near:
Patterns *
Create Near
Expunge Both
Sync All
SyncState *
EOF
}

# ---------------------------------------------------------------- sync part --

sync_part() {
  local r h m t
  local -a tf=() tr=() mf=() mr=()
  fill_user sync "$MSGS" real || die "cannot fill the sync mailbox"
  local total=$((WARMUPS + RUNS))
  for ((r = 1; r <= total; r++)); do
    local tag="run $((r - WARMUPS))"
    ((r <= WARMUPS)) && tag="warm-up $r"
    # mbsync: fresh Maildirs and state, first sync, then a sync with nothing to do.
    m="$WORK/mbsync"
    mbsync_conf "$m" sync
    local a b
    a=$(timed "$m.first.log" mbsync -c "$m/mbsyncrc" -a) || die "mbsync failed"
    t=$(maildir_count "$m/mail/INBOX")
    [[ $t == "$MSGS" ]] || die "mbsync: $t messages in its INBOX, expected $MSGS"
    b=$(timed "$m.resync.log" mbsync -c "$m/mbsyncrc" -a) || die "mbsync resync failed"
    log "mbsync $tag: first sync $a s, no-change resync $b s"
    # tern: a fresh XDG home and account, first sync, then a sync with nothing to do.
    h="$WORK/tern-sync"
    tern_home "$h" sync || die "tern account add failed"
    local c e
    tern_cmd "$h"
    c=$(timed "$h.first.log" "${TC[@]}" sync) || die "tern sync failed"
    t=$(maildir_count "$h/data/tern/bench/mail/INBOX")
    [[ $t == "$MSGS" ]] || die "tern: $t messages in its INBOX, expected $MSGS"
    e=$(timed "$h.resync.log" "${TC[@]}" sync) || die "tern resync failed"
    grep -q "new" "$h.resync.log" && log "warning: tern's no-change resync downloaded: $(cat "$h.resync.log")"
    log "tern $tag: first sync $c s, no-change resync $e s ($(tail -1 "$h.first.log"))"
    if ((r > WARMUPS)); then
      mf+=("$a"); mr+=("$b"); tf+=("$c"); tr+=("$e")
    fi
  done
  SYNC_TF=$(median_of "${tf[@]}") SYNC_TR=$(median_of "${tr[@]}")
  SYNC_MF=$(median_of "${mf[@]}") SYNC_MR=$(median_of "${mr[@]}")
}

# ---------------------------------------------------------------- list part --

# mutt_cmd MUTTRC MAILDIR: into the array MC, the command line of mutt opening the Maildir on a
# pseudo-terminal (120x40) and quitting at once ('push q' is read once the index is shown).
mutt_cmd() {
  MC=(env TERM=xterm HOME="$WORK/mutt-home" script -qec
      "stty rows 40 cols 120; exec mutt -n -F '$1' -f '$2' -e 'push q'" /dev/null)
}

list_part() {
  local h="$WORK/tern-list" r a b
  local -a tl=() mo=()
  fill_user list "$LISTMSGS" small || die "cannot fill the list mailbox"
  tern_home "$h" list || die "tern account add failed"
  tern_cmd "$h"
  LIST_SYNC=$(timed "$h.sync.log" "${TC[@]}" sync) || die "tern sync of the list folder failed"
  local md="$h/data/tern/bench/mail/INBOX"
  local got
  got=$(maildir_count "$md")
  [[ $got == "$LISTMSGS" ]] || die "tern: $got messages in its INBOX Maildir, expected $LISTMSGS"
  log "tern sync of $LISTMSGS messages (untimed part, once): $LIST_SYNC s"
  # mutt: its own config only (-n: no system muttrc), header cache in a directory of its own.
  mkdir -p "$WORK/mutt-home" "$WORK/mutt-hcache"
  cat >"$WORK/muttrc" <<EOF
# bench/client_bench.sh: open the Maildir read-only in effect, quit without asking.
set header_cache = "$WORK/mutt-hcache"
set quit = yes
set mark_old = no
set move = no
set sort = date
set charset = utf-8
set mbox_type = Maildir
set folder = "$(dirname "$md")"
EOF
  # The warm-up open fills the header cache.
  mutt_cmd "$WORK/muttrc" "$md"
  a=$(TIMEOUT=600 timed "$WORK/mutt.warm.log" "${MC[@]}") || die "mutt failed"
  [[ -n $(ls -A "$WORK/mutt-hcache") ]] || die "mutt wrote no header cache (see $WORK/mutt.warm.log)"
  log "mutt first open (fills its header cache): $a s"
  tern_in "$h" list >/dev/null 2>&1   # the same page-cache warmth for both
  for ((r = 1; r <= RUNS; r++)); do
    a=$(TIMED_STDOUT=/dev/null timed "$WORK/tern.list.log" "${TC[@]}" list --folder INBOX) || die "tern list failed"
    b=$(TIMEOUT=600 timed "$WORK/mutt.log" "${MC[@]}") || die "mutt failed"
    log "run $r: tern list $a s, mutt cached open $b s"
    tl+=("$a"); mo+=("$b")
  done
  got=$(tern_in "$h" list --folder INBOX | wc -l)
  [[ $got == "$LISTMSGS" ]] || log "warning: tern list printed $got lines, expected $LISTMSGS"
  LIST_T=$(median_of "${tl[@]}") LIST_M=$(median_of "${mo[@]}")
}

# -------------------------------------------------------------------- main --
mkdir -p "$BENCH_TMPDIR"
WORK=$(mktemp -d "$BENCH_TMPDIR/tern-client-bench.XXXXXX") || die "mktemp failed"
chmod 711 "$WORK"
dovecot_prepare || die "dovecot: setup failed"
dovecot_start || die "dovecot: cannot start"
log "dovecot $(dovecot --version | cut -d' ' -f1) on 127.0.0.1:$DOVE_PORT (IMAPS); $(mbsync --version 2>/dev/null); $(mutt -v | head -1); load $(cut -d' ' -f1-3 /proc/loadavg)"
want sync && sync_part
want list && list_part
kill_wait "$DOVE_PID" 15; forget_pid "$DOVE_PID"

echo
if want sync; then
  echo "Sync of $MSGS messages ($SYNC_MB MB as Maildir) from a private Dovecot over IMAPS, medians of $RUNS runs:"
  echo "first sync: tern $(human "$SYNC_TF"), mbsync $(human "$SYNC_MF") ($(speedup "$SYNC_TF" "$SYNC_MF"))"
  echo "no-change resync: tern $(human "$SYNC_TR"), mbsync $(human "$SYNC_MR") ($(speedup "$SYNC_TR" "$SYNC_MR"))"
  echo "(goal: tern at least 1.5x as fast as mbsync on both)"
fi
if want list; then
  echo "Header list of a $LISTMSGS-message folder ($LIST_MB MB), medians of $RUNS runs:"
  echo "tern list: $(human "$LIST_T"), mutt open with warm header cache: $(human "$LIST_M") ($(speedup "$LIST_T" "$LIST_M"))"
  echo "(tern sync of that folder, once: $(human "$LIST_SYNC"); goal: tern list faster than mutt's cached open)"
fi
