#!/usr/bin/env bash
# imap_bench.sh - compare Tern's IMAP with Dovecot's on this machine: how fast clients list and
# download a mailbox, and the memory both need per logged-in connection waiting in IDLE.
#
#   bench/imap_bench.sh [-m MSGS] [-s BYTES] [-c "1 4"] [-r RUNS] [-i IDLE] [-t "dovecot tern"] [-k]
#
# Every setting can also come from the environment (flags win):
#   MSGS=2000 SIZE=4096 CLIENTS="1 4" RUNS=3 IDLE=500 TARGETS="dovecot tern"
#   TERND=./build/ternd BENCH_TMPDIR=/var/tmp KEEP=0 TIMEOUT=300 PYTHON=python3 TERN_USER=tern-bench
#
# Fetch: per client one user with MSGS messages; LOGIN, SELECT, the header list
# (UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)), every BODY.PEEK[] in batches of
# 100, LOGOUT. Idle: IDLE connections of one user, each logged in with INBOX selected and in IDLE;
# memory per connection = (after - before) / IDLE (Tern: its VmRSS; Dovecot: RSS and PSS of its
# master and all children). Plain LOGIN over loopback for both (Tern: auth.allow_plaintext).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
MSGS=${MSGS:-2000}
SIZE=${SIZE:-4096}
CLIENTS=${CLIENTS:-"1 4"}
RUNS=${RUNS:-3}
IDLE=${IDLE:-500}
TARGETS=${TARGETS:-"dovecot tern"}
TERND=${TERND:-./build/ternd}
BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}
KEEP=${KEEP:-0}
TIMEOUT=${TIMEOUT:-300}
TERN_USER=${TERN_USER:-tern-bench}
PY=${PYTHON:-python3}
PASSWORD=password
DOMAIN=bench.test
LOAD="$here/imap_load.py"
MAKER="$here/pop3_load.py"

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "m:s:c:r:i:t:kh" opt; do
  case $opt in
    m) MSGS=$OPTARG ;; s) SIZE=$OPTARG ;; c) CLIENTS=$OPTARG ;; r) RUNS=$OPTARG ;;
    i) IDLE=$OPTARG ;; t) TARGETS=$OPTARG ;; k) KEEP=1 ;; h) usage 0 ;; *) usage 2 ;;
  esac
done
TARGETS=${TARGETS//,/ } CLIENTS=${CLIENTS//,/ }
for v in MSGS SIZE RUNS TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "imap_bench: $v must be a positive integer" >&2; exit 2; }
done
[[ $IDLE =~ ^[0-9]+$ ]] || { echo "imap_bench: IDLE must be a number" >&2; exit 2; }
for c in $CLIENTS; do [[ $c =~ ^[1-9][0-9]*$ ]] || { echo "imap_bench: bad client count '$c'" >&2; exit 2; }; done
[[ $TERND == /* ]] || TERND="$PWD/$TERND"
NUSERS=1
for c in $CLIENTS; do ((c > NUSERS)) && NUSERS=$c; done
want() { [[ " $TARGETS " == *" $1 "* ]]; }
[[ $(id -u) == 0 ]] || die "must run as root (runs Dovecot, ternd setup)"
KILL_GRACE=10
bench_trap_cleanup

users_list() { local i out=""; for ((i = 1; i <= $1; i++)); do out+="${out:+,}user$i@$DOMAIN"; done; echo "$out"; }

ensure_dovecot() {
  # scripts/deps.sh test installs dovecot-imapd; the package's own instance is not used.
  [[ -x /usr/sbin/dovecot && -x /usr/lib/dovecot/imap ]] || die "dovecot-imapd not installed (scripts/deps.sh test)"
  getent passwd dovecot >/dev/null && getent passwd dovenull >/dev/null || die "users dovecot/dovenull missing"
  DOVECOT_VERSION=$(dovecot --version 2>/dev/null | cut -d' ' -f1)
}

tern_prepare() {
  local d="$WORK/tern" i conns=$((IDLE + 200))
  TERN_DIR=$d
  mkdir -p "$d" && chmod 711 "$d"
  {
    "$TERND" --data "$d/data" setup --user "$TERN_USER" &&
    "$TERND" --data "$d/data" domain add "$DOMAIN" &&
    for ((i = 1; i <= NUSERS; i++)); do
      "$TERND" --data "$d/data" user add "user$i@$DOMAIN" <<<"$PASSWORD" &&
      "$TERND" --data "$d/data" import mbox "$WORK/msgs.mbox" --to "user$i@$DOMAIN" || exit 1
    done
  } >"$d/setup.log" 2>&1 || { tail -20 "$d/setup.log" >&2; return 1; }
  cat >"$d/tern.toml" <<EOF
[auth]
allow_plaintext = true

[limits]
connections = $conns
connections_per_ip = $conns
EOF
}

start_tern() {
  SRV_PORT=$(free_port)
  ( ulimit -n $((IDLE + 1024)) && exec "$TERND" serve --data "$TERN_DIR/data" --config "$TERN_DIR/tern.toml" \
      --user "$TERN_USER" --listen "imap=127.0.0.1:$SRV_PORT" ) >"$TERN_DIR/serve.log" 2>&1 &
  SRV_PID=$!; KILL_PIDS+=("$SRV_PID")
  wait_port "$SRV_PORT" 30 "$SRV_PID" || { tail -20 "$TERN_DIR/serve.log" >&2; stop_server; return 1; }
}

dovecot_prepare() {
  local d="$WORK/dovecot" i uid gid pw
  DOVE_DIR=$d
  uid=$(id -u nobody); gid=$(id -g nobody)
  mkdir -p "$d"/{etc,run,state,log,mail}
  chmod 755 "$d" "$d/etc" "$d/mail"
  pw="{PLAIN}$PASSWORD"
  : >"$d/etc/passwd"
  for ((i = 1; i <= NUSERS; i++)); do
    echo "user$i@$DOMAIN:$pw" >>"$d/etc/passwd"
    "$PY" "$MAKER" maildir -n "$MSGS" -s "$SIZE" "$d/mail/user$i@$DOMAIN/Maildir" || return 1
  done
  chown -R "$uid:$gid" "$d/mail"
  local climit=$((IDLE + 1000)) plimit=$((IDLE + 200))
  # The documented high-performance login mode: a few long-lived login processes.
  local mode="  service_count = 0\n  process_min_avail = $(nproc)"
  sed -e "s|@DIR@|$d|g; s|@INSTANCE@|tern-imap-bench-$$|g; s|@UID@|$uid|g; s|@GID@|$gid|g" \
      -e "s|@CLIENT_LIMIT@|$climit|g; s|@PROCESS_LIMIT@|$plimit|g; s|@LOGIN_MODE@|$mode|g" \
      "$here/dovecot/dovecot-imap.conf.in" >"$d/etc/dovecot.conf.in"
}

start_dovecot() {
  local d=$DOVE_DIR
  SRV_PORT=$(free_port)
  sed -e "s|@PORT@|$SRV_PORT|g" "$d/etc/dovecot.conf.in" >"$d/etc/dovecot.conf"
  doveconf -c "$d/etc/dovecot.conf" -n >/dev/null 2>"$d/doveconf.err" || { cat "$d/doveconf.err" >&2; return 1; }
  ( ulimit -n $((IDLE + 1024)) && exec dovecot -F -c "$d/etc/dovecot.conf" ) >"$d/log/stdout.log" 2>&1 &
  SRV_PID=$!; KILL_PIDS+=("$SRV_PID")
  wait_port "$SRV_PORT" 30 "$SRV_PID" || { tail -20 "$d/log/dovecot.log" >&2; stop_server; return 1; }
}

stop_server() {
  [[ -n ${SRV_PID:-} ]] || return 0
  kill_wait "$SRV_PID" 15; forget_pid "$SRV_PID"; SRV_PID=""
}

# ------------------------------------------------------------------- main --
mkdir -p "$BENCH_TMPDIR"
WORK=$(mktemp -d "$BENCH_TMPDIR/tern-imap-bench.XXXXXX") || die "mktemp failed"
chmod 711 "$WORK"
RESULTS="$WORK/fetch.tsv" IDLE_RESULTS="$WORK/idle.tsv"
: >"$RESULTS"; : >"$IDLE_RESULTS"
DOVECOT_VERSION=NA
want dovecot && ensure_dovecot
if want tern; then
  [[ -x $TERND ]] || die "$TERND not found"
  mkdir -p "$WORK/bin" && chmod 755 "$WORK/bin" && cp "$TERND" "$WORK/bin/ternd" || die "cannot copy $TERND"
  TERND="$WORK/bin/ternd"
fi
log "$NUSERS users x $MSGS msgs x $SIZE B; clients [$CLIENTS]; runs $RUNS; idle $IDLE; targets [$TARGETS]"
"$PY" "$MAKER" mbox -n "$MSGS" -s "$SIZE" "$WORK/msgs.mbox" || die "cannot write the mbox"
want tern && { tern_prepare || die "tern: setup failed"; }
want dovecot && { dovecot_prepare || die "dovecot: setup failed"; }

for srv in dovecot tern; do
  want "$srv" || continue
  "start_$srv" || die "$srv: cannot start"
  # Warm-up (Dovecot builds its index files, both read the mail into the page cache).
  timeout "$TIMEOUT" "$PY" "$LOAD" -t 60 fetch -p "$SRV_PORT" -u "$(users_list "$NUSERS")" -w "$PASSWORD" \
    -e "$MSGS" >"$WORK/warm-$srv.out" 2>&1 || { cat "$WORK/warm-$srv.out" >&2; die "$srv: warm-up failed"; }
  for ((r = 1; r <= RUNS; r++)); do
    for n in $CLIENTS; do
      out="$WORK/fetch-$srv-$n-$r.out"
      timeout "$TIMEOUT" "$PY" "$LOAD" -t 60 fetch -p "$SRV_PORT" -u "$(users_list "$n")" -w "$PASSWORD" \
        -e "$MSGS" >"$out" 2>"$out.err"
      if grep -q '^ok=1' "$out"; then
        kv=$(cat "$out")
        msg_s=$(sed -n 's/.* msg_s=\([0-9.]*\).*/\1/p' <<<"$kv")
        hdr=$(sed -n 's/.* max_headers_s=\([0-9.]*\).*/\1/p' <<<"$kv" | awk '{ printf "%.1f", $1 * 1000 }')
      else
        cat "$out.err" >&2; msg_s=NA; hdr=NA
      fi
      printf '%s\t%s\t%s\t%s\t%s\n' "$srv" "$n" "$r" "$msg_s" "$hdr" >>"$RESULTS"
      log "$srv $n clients run $r: $msg_s msg/s, header list $hdr ms"
    done
  done
  stop_server
  if ((IDLE > 0)); then
    "start_$srv" || die "$srv: cannot start"
    out="$WORK/idle-$srv.out"
    timeout "$TIMEOUT" bash -c 'ulimit -n "$1" && shift && exec "$@"' _ $((IDLE + 1024)) \
      "$PY" "$LOAD" -t 60 idle -p "$SRV_PORT" -c "$IDLE" --pid "$SRV_PID" -w "$PASSWORD" >"$out" 2>"$out.err" ||
      cat "$out.err" >&2
    awk -v s="$srv" -v n="$IDLE" '
      function kv(k,   i, a) { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) return a[2] } }
      $1 == "before" { b = (s == "tern") ? kv("vmrss_kb") : kv("tree_rss_kb"); bp = kv("tree_pss_kb") }
      $1 == "imap"   { a = (s == "tern") ? kv("vmrss_kb") : kv("tree_rss_kb"); ap = kv("tree_pss_kb") }
      $1 == "alive"  { alive = kv("conns") }
      END { if (a == "") { printf "%s\tNA\tNA\tNA\n", s; exit }
            printf "%s\t%.1f\t%.1f\t%s\n", s, (a - b) / n, (ap - bp) / n, alive }' "$out" >>"$IDLE_RESULTS"
    log "$srv idle: $(tail -1 "$IDLE_RESULTS" | cut -f2-)"
    stop_server
  fi
done

median() { # server clients column
  awk -F'\t' -v s="$1" -v n="$2" -v c="$3" '$1 == s && $2 == n && $c ~ /^[0-9.]+$/ { print $c }' "$RESULTS" |
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "NA"; exit }
      if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m }'
}
echo
echo "IMAP download: per client one user with $MSGS msgs x $SIZE B; medians of $RUNS runs (dovecot $DOVECOT_VERSION; $(nproc) cpus shared by servers and clients)"
{
  printf 'clients\tdovecot_msg/s\ttern_msg/s\tTern/Dovecot\tdovecot_list_ms\ttern_list_ms\n'
  for n in $CLIENTS; do
    d=$(median dovecot "$n" 4); t=$(median tern "$n" 4)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$d" "$t" "$(ratio "$t" "$d")" "$(median dovecot "$n" 5)" "$(median tern "$n" 5)"
  done
} | tabulate
if ((IDLE > 0)); then
  echo
  echo "Memory per logged-in IMAP connection in IDLE ($IDLE connections, INBOX of $MSGS msgs selected)"
  { printf 'server\tKB/conn (RSS)\tKB/conn (PSS)\talive\n'; cat "$IDLE_RESULTS"; } | tabulate
fi
