#!/usr/bin/env bash
# pop3_bench.sh - compare Tern's POP3 download rate with Dovecot's, and the
# memory both need for idle connections, on this machine.
#
#   bench/pop3_bench.sh [-m MSGS] [-s BYTES] [-c "1 4 16"] [-r RUNS]
#                       [-R "lines bulk"] [-t "dovecot tern"] [-i IDLE]
#                       [-P "retr idle"] [-T TIMEOUT] [-p] [-k] [-n]
#
# Every setting can also come from the environment (flags win):
#   MSGS=2000 SIZE=4096 CLIENTS="1 4 16" RUNS=3 READERS="lines bulk"
#   TARGETS="dovecot tern" IDLE=1000 PHASES="retr idle" TIMEOUT=300 PERF=0
#   TERND=./build/ternd BENCH_TMPDIR=/var/tmp KEEP=0 NO_INSTALL=0
#   DOVECOT_LOGIN=performance (or secure)  DOVECOT_PASS=yescrypt (or plain)
#   SAMPLE=0.5  TERN_USER=tern-bench  PYTHON=python3  STEAL_MAX=5 STEAL_TRIES=3
#   TERN_LOGIN_CACHE=900 (auth.login_cache seconds; 0 turns it off)
#
# See bench/README.md for what the figures mean.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
MSGS=${MSGS:-2000}
SIZE=${SIZE:-4096}
CLIENTS=${CLIENTS:-"1 4 16"}
RUNS=${RUNS:-3}
READERS=${READERS:-"lines bulk"}
TARGETS=${TARGETS:-"dovecot tern"}
IDLE=${IDLE:-1000}
PHASES=${PHASES:-"retr idle"}
TIMEOUT=${TIMEOUT:-300}
PERF=${PERF:-0}
TERND=${TERND:-./build/ternd}
BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}
KEEP=${KEEP:-0}
NO_INSTALL=${NO_INSTALL:-0}
DOVECOT_LOGIN=${DOVECOT_LOGIN:-performance}
DOVECOT_PASS=${DOVECOT_PASS:-yescrypt}  # the scheme and cost Tern stores
SAMPLE=${SAMPLE:-0.5}     # RSS/PSS sampling interval (s) during the RETR runs
STEAL_MAX=${STEAL_MAX:-5} # % of CPU time stolen by the host above which a run is repeated
STEAL_TRIES=${STEAL_TRIES:-3}
TERN_USER=${TERN_USER:-tern-bench}
TERN_LOGIN_CACHE=${TERN_LOGIN_CACHE:-900}  # auth.login_cache; 0: every login pays for yescrypt
PASSWORD=password
DOMAIN=bench.test
LOAD="$here/pop3_load.py"
PY=${PYTHON:-python3}

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "m:s:c:r:R:t:i:P:T:pknh" opt; do
  case $opt in
    m) MSGS=$OPTARG ;; s) SIZE=$OPTARG ;; c) CLIENTS=$OPTARG ;; r) RUNS=$OPTARG ;;
    R) READERS=$OPTARG ;; t) TARGETS=$OPTARG ;; i) IDLE=$OPTARG ;; P) PHASES=$OPTARG ;;
    T) TIMEOUT=$OPTARG ;; p) PERF=1 ;; k) KEEP=1 ;; n) NO_INSTALL=1 ;;
    h) usage 0 ;; *) usage 2 ;;
  esac
done
TARGETS=${TARGETS//,/ } CLIENTS=${CLIENTS//,/ } READERS=${READERS//,/ } PHASES=${PHASES//,/ }
[[ $TERN_LOGIN_CACHE =~ ^[0-9]+$ ]] || { echo "pop3_bench: TERN_LOGIN_CACHE must be a number" >&2; exit 2; }
for v in MSGS SIZE RUNS TIMEOUT STEAL_TRIES; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "pop3_bench: $v must be a positive integer" >&2; exit 2; }
done
[[ $STEAL_MAX =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "pop3_bench: STEAL_MAX must be a number" >&2; exit 2; }
[[ $IDLE =~ ^[0-9]+$ ]] || { echo "pop3_bench: IDLE must be a number" >&2; exit 2; }
for c in $CLIENTS; do
  [[ $c =~ ^[1-9][0-9]*$ ]] || { echo "pop3_bench: bad client count '$c'" >&2; exit 2; }
done
for r in $READERS; do
  [[ $r == lines || $r == bulk ]] || { echo "pop3_bench: reader '$r' is not lines or bulk" >&2; exit 2; }
done
[[ $DOVECOT_LOGIN == performance || $DOVECOT_LOGIN == secure ]] ||
  { echo "pop3_bench: DOVECOT_LOGIN must be performance or secure" >&2; exit 2; }
[[ $DOVECOT_PASS == plain || $DOVECOT_PASS == yescrypt ]] ||
  { echo "pop3_bench: DOVECOT_PASS must be plain or yescrypt" >&2; exit 2; }
((SIZE >= 200)) || { echo "pop3_bench: SIZE must be at least 200" >&2; exit 2; }
[[ $TERND == /* ]] || TERND="$PWD/$TERND"
# One user (and one mailbox of MSGS messages) per concurrent client.
NUSERS=1
for c in $CLIENTS; do ((c > NUSERS)) && NUSERS=$c; done

want() { [[ " $TARGETS " == *" $1 "* ]]; }
phase() { [[ " $PHASES " == *" $1 "* ]]; }
[[ $(id -u) == 0 ]] || die "must run as root (installs packages, runs Dovecot, ternd setup)"

# ---------------------------------------------------------------- cleanup --
KILL_GRACE=10
bench_trap_cleanup

# CPU seconds used so far by ROOT and its live descendants, plus the
# descendants ROOT has reaped (its cutime/cstime): Dovecot's master reaps the
# one-session pop3 processes. Fields after "comm) ": utime 12, stime 13,
# cutime 14, cstime 15.
tree_cpu_s() {
  local p
  for p in $(tree_pids "$1"); do
    { read -r line <"/proc/$p/stat"; } 2>/dev/null || continue
    echo "$p ${line##*) }"
  done | awk -v r="$1" -v hz="$(getconf CLK_TCK)" '
    { t += $13 + $14; if ($1 == r) t += $15 + $16 }
    END { printf "%.2f", t / hz }'
}
# "TID CPU_SECONDS" for every thread of PID.
thread_cpu() {
  local t line
  for t in /proc/"$1"/task/*; do
    { read -r line <"$t/stat"; } 2>/dev/null || continue
    echo "${t##*/} ${line##*) }"
  done | awk -v hz="$(getconf CLK_TCK)" '{ printf "%s %.2f\n", $1, ($13 + $14) / hz }'
}

# Wait (at most 5 s) until Dovecot has reaped the pop3 processes of the last
# run, so that their CPU time is in the master's cutime/cstime.
wait_sessions_gone() {
  local root=$1 i
  for ((i = 0; i < 50; i++)); do
    ps -o comm= --ppid "$root" 2>/dev/null | grep -qx pop3 || return 0
    sleep 0.1
  done
}
users_list() { # N -> user1@bench.test,...,userN@bench.test
  local i out=""
  for ((i = 1; i <= $1; i++)); do out+="${out:+,}user$i@$DOMAIN"; done
  echo "$out"
}
# Run a command in the background (so a SIGTERM to this script is handled at
# once) with a time limit; its PID is cleaned up on exit. Returns its status.
bounded() {
  local secs=$1 pid rc; shift
  timeout "$secs" "$@" &
  pid=$!; KILL_PIDS+=("$pid")
  wait "$pid"; rc=$?
  forget_pid "$pid"
  return $rc
}

# ----------------------------------------------------------------- install --
ensure_dovecot() {
  if [[ $NO_INSTALL != 1 ]] && ! [[ -x /usr/sbin/dovecot && -x /usr/lib/dovecot/pop3 ]]; then
    log "installing dovecot-pop3d"
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y dovecot-pop3d >"$WORK/apt.log" 2>&1 || {
      log "apt-get install failed, retrying after apt-get update"
      timeout 600 apt-get update >>"$WORK/apt.log" 2>&1
      DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y dovecot-pop3d >>"$WORK/apt.log" 2>&1 ||
        { tail -20 "$WORK/apt.log" >&2; die "cannot install dovecot-pop3d"; }
    }
  fi
  [[ -x /usr/sbin/dovecot && -x /usr/lib/dovecot/pop3 ]] || die "dovecot-pop3d not installed"
  # The package's postinst may start the system instance (default config,
  # ports 110/995, 143/993): stop it. Only that instance: its master.pid
  # lives in the default base_dir /run/dovecot.
  local pid
  pid=$({ tr -dc 0-9 </run/dovecot/master.pid; } 2>/dev/null)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    log "stopping the system Dovecot instance (pid $pid)"
    doveadm -c /etc/dovecot/dovecot.conf stop >/dev/null 2>&1 || kill -TERM "$pid"
    local i
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && die "cannot stop the system Dovecot (pid $pid)"
  fi
  for pid in 110 995; do
    port_listening "$pid" && log "warning: something listens on port $pid (not ours)"
  done
  getent passwd dovecot >/dev/null && getent passwd dovenull >/dev/null ||
    die "users dovecot/dovenull missing (the dovecot-core package creates them)"
  DOVECOT_VERSION=$(dovecot --version 2>/dev/null | cut -d' ' -f1)
}

# ------------------------------------------------------------------ servers --
# Each start_* sets SRV_PID (the process to measure: ternd, or Dovecot's
# master) and SRV_PORT (POP3) / SRV_SMTP (Tern's SMTP port, for -i).
TERN_DIR="" DOVE_DIR="" DOVECOT_VERSION=NA

tern_prepare() {
  local d="$WORK/tern" i
  TERN_DIR=$d
  mkdir -p "$d"
  chmod 711 "$d"
  {
    "$TERND" --data "$d/data" setup --user "$TERN_USER" &&
    "$TERND" --data "$d/data" domain add "$DOMAIN" &&
    for ((i = 1; i <= NUSERS; i++)); do
      "$TERND" --data "$d/data" user add "user$i@$DOMAIN" <<<"$PASSWORD" &&
      "$TERND" --data "$d/data" import mbox "$WORK/msgs.mbox" --to "user$i@$DOMAIN" || exit 1
    done
  } >"$d/setup.log" 2>&1 || { tail -20 "$d/setup.log" >&2; return 1; }
  # Plain USER/PASS (no TLS) as with Dovecot; connection limits high enough
  # for the idle test (2 x IDLE connections from 127.0.0.1).
  local conns=$((2 * IDLE + 100))
  ((conns < 1000)) && conns=1000
  cat >"$d/tern.toml" <<EOF
[auth]
allow_plaintext = true
login_cache = $TERN_LOGIN_CACHE

[limits]
connections = $conns
connections_per_ip = $conns
EOF
}

start_tern() {
  local d=$TERN_DIR tag=$1
  SRV_PORT=$(free_port); SRV_SMTP=$(free_port)
  while [[ $SRV_SMTP == "$SRV_PORT" ]]; do SRV_SMTP=$(free_port); done
  # ulimit in a subshell: only ternd gets the higher descriptor limit.
  ( ulimit -n "$NOFILE" && exec "$TERND" serve --data "$d/data" --config "$d/tern.toml" \
      --user "$TERN_USER" --listen "pop3=127.0.0.1:$SRV_PORT" \
      --listen "smtp=127.0.0.1:$SRV_SMTP" ) >"$d/serve-$tag.log" 2>&1 &
  SRV_PID=$!; KILL_PIDS+=("$SRV_PID")
  if ! wait_port "$SRV_PORT" 30 "$SRV_PID" || ! wait_port "$SRV_SMTP" 10 "$SRV_PID"; then
    log "tern: server not listening:"; tail -20 "$d/serve-$tag.log" >&2
    stop_server; return 1
  fi
}

dovecot_prepare() {
  local d="$WORK/dovecot" i uid gid
  DOVE_DIR=$d
  uid=$(id -u nobody); gid=$(id -g nobody)
  mkdir -p "$d"/{etc,run,state,log,mail}
  chmod 755 "$d" "$d/etc" "$d/mail"
  # {PLAIN}: no hashing at login. yescrypt: the scheme and cost Tern stores
  # (crypt(3) $y$), checked by Dovecot's {CRYPT} scheme, so both servers pay
  # the same for each login.
  local pw="{PLAIN}$PASSWORD"
  if [[ $DOVECOT_PASS == yescrypt ]]; then
    pw="{CRYPT}$("$PY" "$LOAD" hash "$PASSWORD")" || return 1
  fi
  : >"$d/etc/passwd"
  for ((i = 1; i <= NUSERS; i++)); do
    echo "user$i@$DOMAIN:$pw" >>"$d/etc/passwd"
    "$PY" "$LOAD" maildir -n "$MSGS" -s "$SIZE" "$d/mail/user$i@$DOMAIN/Maildir" || return 1
  done
  chown -R "$uid:$gid" "$d/mail"
  local mode climit plimit
  climit=$((IDLE + 1000)); plimit=$((IDLE + 200))
  ((climit < 1000)) && climit=1000
  ((plimit < 100)) && plimit=100
  if [[ $DOVECOT_LOGIN == performance ]]; then
    # Dovecot's documented "high-performance" login mode: a few long-lived
    # pop3-login processes that each serve many connections.
    mode="  service_count = 0\n  process_min_avail = $(nproc)"
  else
    # Built-in default ("high-security"): one pop3-login process per connection.
    mode="  # service_count = 1 (default): one pop3-login process per connection"
  fi
  DOVE_INSTANCE="tern-bench-$$"
  sed -e "s|@DIR@|$d|g; s|@INSTANCE@|$DOVE_INSTANCE|g; s|@UID@|$uid|g; s|@GID@|$gid|g" \
      -e "s|@CLIENT_LIMIT@|$climit|g; s|@PROCESS_LIMIT@|$plimit|g; s|@LOGIN_MODE@|$mode|g" \
      "$here/dovecot/dovecot.conf.in" >"$d/etc/dovecot.conf.in"
}

start_dovecot() {
  local d=$DOVE_DIR tag=$1
  SRV_PORT=$(free_port); SRV_SMTP=0
  sed -e "s|@PORT@|$SRV_PORT|g" "$d/etc/dovecot.conf.in" >"$d/etc/dovecot.conf"
  doveconf -c "$d/etc/dovecot.conf" -n >"$d/doveconf-n.txt" 2>"$d/doveconf.err" ||
    { cat "$d/doveconf.err" >&2; return 1; }
  [[ -s $d/doveconf.err ]] && { log "doveconf says:"; cat "$d/doveconf.err" >&2; }
  # -F: stay in the foreground, so the master is our child and SRV_PID.
  ( ulimit -n "$NOFILE" && exec dovecot -F -c "$d/etc/dovecot.conf" ) \
    >"$d/log/stdout-$tag.log" 2>&1 &
  SRV_PID=$!; KILL_PIDS+=("$SRV_PID")
  if ! wait_port "$SRV_PORT" 30 "$SRV_PID"; then
    log "dovecot: not listening on $SRV_PORT:"
    tail -n 20 "$d/log/stdout-$tag.log" "$d/log/dovecot.log" >&2
    stop_server; return 1
  fi
}

# start_server SERVER TAG: start_SERVER, with up to 3 tries on fresh ports.
start_server() {
  local i
  for ((i = 1; i <= 3; i++)); do
    "start_$1" "$2" && return 0
    log "$1: start failed (try $i of 3)"
  done
  return 1
}

stop_server() {
  [[ -n ${SRV_PID:-} ]] || return 0
  kill_wait "$SRV_PID" 15; forget_pid "$SRV_PID"
  SRV_PID=""
}

server_log_tail() {
  case $1 in
    tern) tail -n 15 "$TERN_DIR"/serve-*.log >&2 ;;
    dovecot) tail -n 15 "$DOVE_DIR/log/dovecot.log" >&2 ;;
  esac
}

# --------------------------------------------------------------- RETR load --
# retr_once SERVER CLIENTS READER OUTFILE: one run; sets the figures below.
retr_once() {
  local srv=$1 n=$2 reader=$3 out=$4 c0 c1 rc
  R_MSG_S=NA R_MB_S=NA R_CPU_US=NA R_CLI_US=NA R_LOGIN_MS=NA R_IO_PCT=- R_STEAL=NA R_CORES=NA
  local j0 s0 j1 s1 wall
  c0=$(tree_cpu_s "$SRV_PID"); thread_cpu "$SRV_PID" >"$out.thr0"; read -r j0 s0 < <(cpu_jiffies)
  bounded "$TIMEOUT" "$PY" "$LOAD" -t 60 retr -p "$SRV_PORT" -u "$(users_list "$n")" \
    -w "$PASSWORD" -e "$MSGS" -r "$reader" -D "$TIMEOUT" >"$out" 2>"$out.err"
  rc=$?
  [[ $srv == dovecot ]] && wait_sessions_gone "$SRV_PID"
  c1=$(tree_cpu_s "$SRV_PID"); thread_cpu "$SRV_PID" >"$out.thr1"; read -r j1 s1 < <(cpu_jiffies)
  R_STEAL=$(awk -v a="$j0" -v b="$j1" -v x="$s0" -v y="$s1" 'BEGIN{ if (b > a) printf "%.1f", (y - x) * 100 / (b - a); else print "NA" }')
  if ((rc != 0)) || ! grep -q '^ok=1' "$out"; then
    log "$srv: load failed (rc=$rc):"; cat "$out.err" >&2
    server_log_tail "$srv"
    return 1
  fi
  local kv; kv=$(cat "$out")
  R_MSG_S=$(sed -n 's/.* msg_s=\([0-9.]*\).*/\1/p' <<<"$kv")
  R_MB_S=$(sed -n 's/.* mb_s=\([0-9.]*\).*/\1/p' <<<"$kv")
  local msgs octets ccpu
  msgs=$(sed -n 's/.* msgs=\([0-9]*\).*/\1/p' <<<"$kv")
  octets=$(sed -n 's/.* octets=\([0-9]*\).*/\1/p' <<<"$kv")
  ccpu=$(sed -n 's/.* client_cpu_s=\([0-9.]*\).*/\1/p' <<<"$kv")
  R_CPU_US=$(awk -v a="$c0" -v b="$c1" -v m="$msgs" 'BEGIN{ printf "%.1f", (b - a) * 1e6 / m }')
  R_CLI_US=$(awk -v c="$ccpu" -v m="$msgs" 'BEGIN{ printf "%.1f", c * 1e6 / m }')
  # Cores the server used on average, and (Tern) its busiest thread in % of
  # one core: near 100 means that thread limits the rate.
  wall=$(sed -n 's/.* wall=\([0-9.]*\).*/\1/p' <<<"$kv")
  R_CORES=$(awk -v a="$c0" -v b="$c1" -v w="$wall" 'BEGIN{ if (w > 0) printf "%.2f", (b - a) / w; else print "NA" }')
  if [[ $srv == tern ]]; then
    R_IO_PCT=$(awk -v w="$wall" 'NR == FNR { c[$1] = $2; next }
      { d = $2 - c[$1]; if (d > m) m = d } END { if (w > 0) printf "%.0f", m * 100 / w; else print "NA" }' \
      "$out.thr0" "$out.thr1")
  fi
  R_LOGIN_MS=$(sed -n 's/.* max_login_s=\([0-9.]*\).*/\1/p' <<<"$kv" | awk '{ printf "%.1f", $1 * 1000 }')
  if ((octets != msgs * SIZE)); then
    log "$srv: received $octets octets for $msgs messages, expected $((msgs * SIZE))"
    return 1
  fi
  return 0
}

record() { # server reader clients run msg_s mb_s srv_cpu_us cli_cpu_us login_ms busiest_thread_pct steal_pct cores
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"
  log "$(printf '%-7s %-5s %2s clients run %s: %8s msg/s %7s MB/s  server %s us/msg, client %s us/msg, login %s ms, busiest thread %s%%, steal %s%%, cores %s' "$@")"
}

# ----------------------------------------------------------------- perf -----
perf_tern() {
  local reader=$1 n=$2 d="$WORK/perf" ppid
  command -v perf >/dev/null || { log "perf not installed: no profile"; return 0; }
  mkdir -p "$d"
  # DWARF call graphs: the Release ternd has no frame pointers, but its
  # .eh_frame lets perf unwind, so "children" shows where the time goes.
  perf record -F 999 --call-graph dwarf,16384 -o "$d/perf.data" -p "$SRV_PID" \
    >"$d/record.log" 2>&1 &
  ppid=$!; KILL_PIDS+=("$ppid")
  sleep 0.5
  retr_once tern "$n" "$reader" "$d/load.out"
  kill -INT "$ppid" 2>/dev/null
  local i
  for ((i = 0; i < 300; i++)); do kill -0 "$ppid" 2>/dev/null || break; sleep 0.1; done
  kill_wait "$ppid" 5; forget_pid "$ppid"
  log "perf: tern, $n clients, $reader reader: $R_MSG_S msg/s under perf"
  # Self time by symbol; inclusive time of Tern's own functions; by DSO.
  bounded 300 perf report -i "$d/perf.data" --no-children --sort sym --stdio -g none \
    --percent-limit 0.5 >"$d/self.txt" 2>/dev/null
  bounded 300 perf report -i "$d/perf.data" --children --sort sym --stdio -g none \
    --percent-limit 1 >"$d/children.txt" 2>/dev/null
  bounded 300 perf report -i "$d/perf.data" --no-children --sort dso --stdio -g none \
    >"$d/dso.txt" 2>/dev/null
  PERF_DIR=$d
}

# --------------------------------------------------------------- idle test --
# idle_once SERVER RUN: fresh server, IDLE POP3 (+ IDLE SMTP for Tern)
# connections; appends "server run pop3_kb/conn smtp_kb/conn all_kb/conn
# pss_kb/conn base_MB" to $IDLE_RESULTS.
idle_once() {
  local srv=$1 run=$2 out="$WORK/idle-$1-$2.txt" rc
  start_server "$srv" "idle$run" || { printf '%s\t%s\tNA\tNA\tNA\tNA\tNA\n' "$srv" "$run" >>"$IDLE_RESULTS"; return 1; }
  bounded "$TIMEOUT" bash -c 'ulimit -n "$1" && shift && exec "$@"' _ "$NOFILE" \
    "$PY" "$LOAD" -t 30 idle --pop3 "$SRV_PORT" --smtp "$SRV_SMTP" -c "$IDLE" --pid "$SRV_PID" \
    >"$out" 2>"$out.err"
  rc=$?
  if ((rc != 0)); then
    log "$srv: idle test failed (rc=$rc):"; cat "$out.err" >&2; server_log_tail "$srv"
  fi
  stop_server
  # Tern: VmRSS of the one process. Dovecot: RSS summed over the master and
  # all its children (and PSS, which splits shared pages between them).
  awk -v s="$srv" -v r="$run" -v n="$IDLE" -v rc="$rc" '
    function kv(k,   i, a) { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) return a[2] } }
    $1 == "before" { b = (s == "tern") ? kv("vmrss_kb") : kv("tree_rss_kb"); bp = kv("tree_pss_kb") }
    $1 == "pop3"   { p = (s == "tern") ? kv("vmrss_kb") : kv("tree_rss_kb"); pp = kv("tree_pss_kb") }
    $1 == "smtp"   { m = (s == "tern") ? kv("vmrss_kb") : kv("tree_rss_kb"); mp = kv("tree_pss_kb") }
    $1 == "alive"  { alive = kv("conns") }
    END {
      if (rc != 0 || b == "" || p == "") { printf "%s\t%s\tNA\tNA\tNA\tNA\tNA\n", s, r; exit }
      pop = (p - b) / n
      if (m != "") { smtp = sprintf("%.1f", (m - p) / n); all = sprintf("%.1f", (m - b) / (2 * n))
                     pss = sprintf("%.1f", (mp - bp) / (2 * n)) }
      else { smtp = "-"; all = sprintf("%.1f", pop); pss = sprintf("%.1f", (pp - bp) / n) }
      printf "%s\t%s\t%.1f\t%s\t%s\t%s\t%.1f\n", s, r, pop, smtp, all, pss, b / 1024
    }' "$out" >>"$IDLE_RESULTS"
  log "$srv idle run $run: $(tail -1 "$IDLE_RESULTS" | cut -f3-)  [$(grep -h alive "$out" || echo 'no alive line')]"
}

# -------------------------------------------------------------------- main --
mkdir -p "$BENCH_TMPDIR"
WORK=$(mktemp -d "$BENCH_TMPDIR/tern-pop3-bench.XXXXXX") || die "mktemp failed"
# ternd (as $TERN_USER) and Dovecot's processes (dovecot, dovenull, nobody)
# must traverse the work dir.
chmod 711 "$WORK"
RESULTS="$WORK/results.tsv" IDLE_RESULTS="$WORK/idle.tsv"
: >"$RESULTS"; : >"$IDLE_RESULTS"
# Descriptors for the servers and the idle client: 2 x IDLE sockets + slack.
NOFILE=$((2 * IDLE + 1024))
hard=$(ulimit -Hn)
[[ $hard != unlimited ]] && ((NOFILE > hard)) && die "need $NOFILE descriptors, hard limit is $hard"

if want tern && ! [[ -x $TERND ]]; then
  log "tern: $TERND not found/executable: skipping Tern"; TARGETS=${TARGETS//tern/}
fi
want dovecot && ensure_dovecot
if want tern; then
  # Others may rebuild ./build/ternd while this runs: use a copy, so that
  # every run measures the same binary.
  TERND_ORIG=$TERND
  mkdir -p "$WORK/bin" && chmod 755 "$WORK/bin" && cp "$TERND" "$WORK/bin/ternd" || die "cannot copy $TERND"
  TERND="$WORK/bin/ternd"
  log "tern: $TERND_ORIG ($("$TERND" --version 2>/dev/null | head -1), built $(date -r "$TERND_ORIG" '+%F %T'))$(
    git -C "$(dirname "$TERND_ORIG")" log -1 --format=', tree at %h' 2>/dev/null)"
fi

log "messages: $NUSERS users x $MSGS x $SIZE B; clients [$CLIENTS]; readers [$READERS]; runs $RUNS; targets [$TARGETS]; phases [$PHASES]"
log "$(nproc) cpus, load avg $(cut -d' ' -f1-3 /proc/loadavg); work dir $WORK"
read -r BENCH_J0 BENCH_S0 < <(cpu_jiffies)
"$PY" "$LOAD" mbox -n "$MSGS" -s "$SIZE" "$WORK/msgs.mbox" || die "cannot write the mbox"
if want tern; then
  t0=$(now); tern_prepare || die "tern: setup/import failed"
  log "tern: $NUSERS mailboxes imported in $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b - a}') s"
fi
if want dovecot; then
  t0=$(now); dovecot_prepare || die "dovecot: cannot fill the Maildirs"
  log "dovecot $DOVECOT_VERSION ($DOVECOT_LOGIN login mode): $NUSERS Maildirs written in $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b - a}') s"
fi

declare -A PEAK_RSS=() PEAK_PSS=() PEAK_ANON=() SPID=() SPORT=() SAMPLER=()
PERF_DIR=""
if phase retr; then
  maxc=$NUSERS
  for srv in dovecot tern; do
    want "$srv" || continue
    # One server instance for all RETR runs, so that the warm-up pass counts:
    # it builds Dovecot's index files (dovecot.index*, dovecot-uidlist) and
    # brings every mailbox into the page cache for both servers.
    start_server "$srv" retr || die "$srv: cannot start"
    SPID[$srv]=$SRV_PID SPORT[$srv]=$SRV_PORT
    rss_sampler "$SRV_PID" "$WORK/$srv.rssmax" &
    SAMPLER[$srv]=$!; KILL_PIDS+=("$!")
  done
  use() { SRV_PID=${SPID[$1]} SRV_PORT=${SPORT[$1]}; }
  for srv in dovecot tern; do
    want "$srv" || continue
    use "$srv"
    retr_once "$srv" "$maxc" bulk "$WORK/warmup-$srv.out" || die "$srv: warm-up pass failed"
    log "$srv: warm-up pass ($maxc clients): $R_MSG_S msg/s (not counted)"
  done
  for ((r = 1; r <= RUNS; r++)); do
    for reader in $READERS; do
      for n in $CLIENTS; do
        # Interleaved, and in alternating order, so background load on the
        # shared machine hits both alike.
        order="dovecot tern"; ((r % 2 == 0)) && order="tern dovecot"
        for srv in $order; do
          want "$srv" || continue
          use "$srv"
          # A run during which the host stole more than STEAL_MAX % of the
          # CPU is repeated (at most STEAL_TRIES tries; the last one counts).
          for ((try = 1; try <= STEAL_TRIES; try++)); do
            retr_once "$srv" "$n" "$reader" "$WORK/retr-$srv-$reader-$n-$r.out" || break
            awk -v s="$R_STEAL" -v m="$STEAL_MAX" 'BEGIN { exit !(s ~ /^[0-9.]+$/ && s > m) }' || break
            ((try < STEAL_TRIES)) && log "$srv: $R_STEAL% of the CPU stolen by the host during the run: again"
          done
          record "$srv" "$reader" "$n" "$r" "$R_MSG_S" "$R_MB_S" "$R_CPU_US" "$R_CLI_US" "$R_LOGIN_MS" "$R_IO_PCT" "$R_STEAL" "$R_CORES"
        done
      done
    done
  done
  if want tern; then
    TERN_HWM=$(hwm_kb "${SPID[tern]}")
    if [[ $PERF == 1 ]]; then
      use tern
      perf_tern "${READERS##* }" "$maxc"
    fi
  fi
  for srv in dovecot tern; do
    want "$srv" || continue
    kill_wait "${SAMPLER[$srv]}" 2; forget_pid "${SAMPLER[$srv]}"
    read -r PEAK_RSS[$srv] PEAK_PSS[$srv] PEAK_ANON[$srv] <"$WORK/$srv.rssmax"
    use "$srv"; stop_server
  done
fi

if phase idle && ((IDLE > 0)); then
  for ((r = 1; r <= RUNS; r++)); do
    order="dovecot tern"; ((r % 2 == 0)) && order="tern dovecot"
    for srv in $order; do
      want "$srv" || continue
      idle_once "$srv" "$r"
    done
  done
fi
read -r j s < <(cpu_jiffies)
STEAL_ALL=$(awk -v a="$BENCH_J0" -v b="$j" -v x="$BENCH_S0" -v y="$s" 'BEGIN{ if (b > a) printf "%.1f", (y - x) * 100 / (b - a); else print "NA" }')
log "done; load avg $(cut -d' ' -f1-3 /proc/loadavg); CPU time stolen by the host: $STEAL_ALL%"

# ------------------------------------------------------------------ report --
median() { # file: column-filter-awk-expr column -> median of numeric values
  awk -F'\t' "$1 && \$$2 ~ /^[0-9.]+\$/ { print \$$2 }" "$3" |
    sort -g | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "NA"; exit }
      if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.1f", m }'
}
okruns() { awk -F'\t' "$1 && \$$2 ~ /^[0-9.]+\$/" "$3" | wc -l; }

if phase retr; then
  echo
  echo "POP3 download: per client one user with $MSGS msgs x $SIZE B; login, STAT, RETR all, QUIT; medians of $RUNS runs"
  echo "(dovecot $DOVECOT_VERSION: $DOVECOT_LOGIN login mode, $DOVECOT_PASS passwords; tern auth.login_cache = $TERN_LOGIN_CACHE s; $(nproc) cpus shared by servers and clients;"
  echo " $STEAL_ALL% of the CPU time was stolen by the host during the benchmark)"
  m() { want "$1" || { echo -; return; }; median "\$1 == \"$1\" && \$2 == \"$2\" && \$3 == $3" "$4" "$RESULTS"; }
  okr() { want "$1" || { echo -; return; }; okruns "\$1 == \"$1\" && \$2 == \"$2\" && \$3 == $3" 5 "$RESULTS"; }
  {
    printf 'reader\tclients\tdovecot_msg/s\ttern_msg/s\tTern/Dovecot\tdovecot_MB/s\ttern_MB/s\tok(d/t)\n'
    for reader in $READERS; do
      for n in $CLIENTS; do
        dm=$(m dovecot "$reader" "$n" 5); tm=$(m tern "$reader" "$n" 5)
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s/%s\n' "$reader" "$n" "$dm" "$tm" "$(ratio "$tm" "$dm")" \
          "$(m dovecot "$reader" "$n" 6)" "$(m tern "$reader" "$n" 6)" \
          "$(okr dovecot "$reader" "$n")" "$(okr tern "$reader" "$n")"
      done
    done
  } | tabulate
  echo
  echo "Cost (medians): CPU microseconds per message (server: whole process tree; client: all load processes), slowest login+STAT"
  {
    printf 'reader\tclients\tdovecot_cpu_us/msg\ttern_cpu_us/msg\tdovecot_cores\ttern_cores\ttern_top_thread_%%\tclient_us/msg(d)\tclient_us/msg(t)\tdovecot_login_ms\ttern_login_ms\tsteal_%%\n'
    for reader in $READERS; do
      for n in $CLIENTS; do
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$reader" "$n" \
          "$(m dovecot "$reader" "$n" 7)" "$(m tern "$reader" "$n" 7)" \
          "$(m dovecot "$reader" "$n" 12)" "$(m tern "$reader" "$n" 12)" "$(m tern "$reader" "$n" 10)" \
          "$(m dovecot "$reader" "$n" 8)" "$(m tern "$reader" "$n" 8)" \
          "$(m dovecot "$reader" "$n" 9)" "$(m tern "$reader" "$n" 9)" \
          "$(median "\$2 == \"$reader\" && \$3 == $n" 11 "$RESULTS")"
      done
    done
  } | tabulate
  echo
  want tern && echo "tern peak RSS (VmHWM of ternd over all RETR runs): $(kb2mb "${TERN_HWM:-0}") MB; sampled: RSS $(kb2mb "${PEAK_RSS[tern]:-0}") MB, PSS $(kb2mb "${PEAK_PSS[tern]:-0}") MB, anonymous $(kb2mb "${PEAK_ANON[tern]:-0}") MB (RSS also counts store.db pages mapped by SQLite)"
  want dovecot && echo "dovecot peak memory (sampled sum over master + children): RSS $(kb2mb "${PEAK_RSS[dovecot]:-0}") MB, PSS $(kb2mb "${PEAK_PSS[dovecot]:-0}") MB, anonymous $(kb2mb "${PEAK_ANON[dovecot]:-0}") MB"
  if [[ -n $PERF_DIR && -s $PERF_DIR/self.txt ]]; then
    body() { grep -v '^#' "$1" | grep -v '^$' | cut -c1-150; }
    echo
    echo "tern profile (perf, ${READERS##* } reader, $NUSERS clients; perf.data and reports kept in $PERF_DIR with -k):"
    echo "self time by symbol (top 25):"; body "$PERF_DIR/self.txt" | head -25
    echo "inclusive time of Tern's functions (top 20):"
    body "$PERF_DIR/children.txt" | grep -E ' tern::' | head -20
    echo "by DSO:"; body "$PERF_DIR/dso.txt" | head -8
  fi
fi

if phase idle && ((IDLE > 0)); then
  echo
  echo "Idle connections: $IDLE POP3 (+ $IDLE SMTP for Tern), greeting read then held; medians of $RUNS runs"
  {
    printf 'server\tpop3_KB/conn\tsmtp_KB/conn\tall_KB/conn\tPSS_KB/conn\tbaseline_MB\tok\n'
    for srv in dovecot tern; do
      want "$srv" || continue
      f="\$1 == \"$srv\""
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s/%s\n' "$srv" "$(median "$f" 3 "$IDLE_RESULTS")" \
        "$( [[ $srv == tern ]] && median "$f" 4 "$IDLE_RESULTS" || echo -)" \
        "$(median "$f" 5 "$IDLE_RESULTS")" "$(median "$f" 6 "$IDLE_RESULTS")" \
        "$(median "$f" 7 "$IDLE_RESULTS")" "$(okruns "$f" 3 "$IDLE_RESULTS")" "$RUNS"
    done
  } | tabulate
  echo "(KB = KiB of RSS growth per held connection; Dovecot: summed over all its processes, pop3-login in $DOVECOT_LOGIN mode)"
fi

if phase retr; then
  echo
  echo "per run:"
  tabulate < <(printf 'server\treader\tclients\trun\tmsg/s\tMB/s\tsrv_cpu_us/msg\tcli_cpu_us/msg\tlogin_ms\ttop_thread_%%\tsteal_%%\tcores\n'; cat "$RESULTS")
fi
