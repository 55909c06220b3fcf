#!/usr/bin/env bash
# relay_bench.sh - relay throughput of Tern and Postfix side by side (issue 8): each takes N
# messages from SESSIONS clients and relays them to smtp-sink on loopback.
#
#   bench/relay_bench.sh [-m N] [-r RUNS] [-s SESSIONS] [-l BYTES] [-t "postfix tern"]
#                        [-T TIMEOUT] [-k]
#
# Rows (each server, each run):
#   single     all N messages to one destination (a smtp-sink)
#   split      N/2 to destination A, N/2 to destination B, both smtp-sinks
#   blackhole  the same, but B blackholes connections (a socket listening with backlog 0 that
#              never accepts: the kernel drops further SYNs, so connects hang until they time out)
# Figures: accepted/s (the load generator's N / its wall time), relayed/s (messages counted at the
# sink / seconds from the start of the load until the last one arrived), and for split/blackhole
# the healthy destination A's relayed/s with a healthy and with a blackholed peer.
# Environment (flags win): N=5000 RUNS=1 SESSIONS=10 SIZE=4096 TARGETS="postfix tern"
#   ROWS="single split blackhole" TIMEOUT=300 TERND=./build/ternd BENCH_TMPDIR=/var/tmp KEEP=0
#   PROCLIMIT=200 POLL=0.05
# Needs root (Postfix) and Debian's postfix package (smtp-sink); see bench/README.md.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
N=${N:-5000}
RUNS=${RUNS:-1}
SESSIONS=${SESSIONS:-10}
SIZE=${SIZE:-4096}
TARGETS=${TARGETS:-"postfix tern"}
ROWS=${ROWS:-"single split blackhole"}
TIMEOUT=${TIMEOUT:-300}
TERND=${TERND:-./build/ternd}
BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}
KEEP=${KEEP:-0}
PROCLIMIT=${PROCLIMIT:-200}
POLL=${POLL:-0.05}
FROM=a@bench.test
PASSWORD=relay-bench-pw
RCPT_A=user@a.dest.test
RCPT_B=user@b.dest.test

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "m:r:s:l:t:T:kh" opt; do
  case $opt in
    m) N=$OPTARG ;; r) RUNS=$OPTARG ;; s) SESSIONS=$OPTARG ;; l) SIZE=$OPTARG ;;
    t) TARGETS=$OPTARG ;; T) TIMEOUT=$OPTARG ;; k) KEEP=1 ;; h) usage 0 ;; *) usage 2 ;;
  esac
done
TARGETS=${TARGETS//,/ }
for v in N RUNS SESSIONS SIZE TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "relay_bench: $v must be a positive integer" >&2; exit 2; }
done
((N % 2 == 0)) || die "N must be even (the split rows send half to each destination)"
[[ $TERND == /* ]] || TERND="$PWD/$TERND"
[[ $(id -u) == 0 ]] || die "must run as root (runs Postfix)"
command -v postfix >/dev/null && command -v smtp-sink >/dev/null ||
  die "postfix/smtp-sink missing: run scripts/deps.sh test"
SMTP_SINK=$(command -v smtp-sink)

KILL_GRACE=5
bench_trap_cleanup
mkdir -p "$BENCH_TMPDIR"
WORK=$(mktemp -d "$BENCH_TMPDIR/tern-relay-bench.XXXXXX") || die "mktemp failed"
chmod 755 "$WORK"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

# ------------------------------------------------------------ destinations --
# start_sink NAME: a smtp-sink on a free port counting messages (-c: "mesg=N" after each "."),
# sets SINK_PORT; its counter file is $WORK/$NAME.count.
start_sink() {
  local name=$1 port pid
  port=$(free_port)
  # -u: smtp-sink refuses to run as root without it; 1000: listen backlog.
  "$SMTP_SINK" -c -u nobody "127.0.0.1:$port" 1000 >"$WORK/$name.count" 2>"$WORK/$name.err" &
  pid=$!; KILL_PIDS+=("$pid")
  wait_port "$port" 10 "$pid" || { cat "$WORK/$name.err" >&2; die "smtp-sink did not start"; }
  SINK_PORT=$port; SINK_PID=$pid
}
# sink_count NAME: messages the sink received so far.
sink_count() {
  tr '\r' '\n' <"$WORK/$1.count" 2>/dev/null | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1 | grep . || echo 0
}
# start_blackhole: a socket listening with backlog 0 that never accepts. One connection completes
# into the accept queue (and is never answered), every later SYN is dropped by the kernel.
start_blackhole() {
  local port pid
  port=$(free_port)
  python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(0)
print("listening", flush=True)
while True: time.sleep(3600)' "$port" >"$WORK/blackhole.out" 2>&1 &
  pid=$!; KILL_PIDS+=("$pid")
  wait_port "$port" 10 "$pid" || die "blackhole did not start"
  SINK_PORT=$port; SINK_PID=$pid
}

# destinations ROW: starts what ROW needs; sets PORT_A, PORT_B (empty for single), RCPTS.
destinations() {
  start_sink a; PORT_A=$SINK_PORT; PIDS_ROW=("$SINK_PID")
  PORT_B=""; RCPTS=$RCPT_A
  case $1 in
    split) start_sink b; PORT_B=$SINK_PORT; PIDS_ROW+=("$SINK_PID"); RCPTS="$RCPT_A,$RCPT_B" ;;
    blackhole) start_blackhole; PORT_B=$SINK_PORT; PIDS_ROW+=("$SINK_PID"); RCPTS="$RCPT_A,$RCPT_B" ;;
  esac
}
stop_destinations() {
  local p
  for p in "${PIDS_ROW[@]}"; do kill_wait "$p" 3; forget_pid "$p"; done
}

# ---------------------------------------------------------------- measuring --
# measure SERVER ROW PORT [AUTH ARGS...]: runs the load against PORT and waits for the sinks.
measure() {
  local server=$1 row=$2 port=$3; shift 3
  local t0 out acc want_a want_b ca cb t_a=NA t_b=NA t_all=NA deadline now_s
  want_a=$N; want_b=0
  [[ $row != single ]] && { want_a=$((N / 2)); want_b=$((N / 2)); }
  [[ $row == blackhole ]] && want_b=0
  t0=$(now)
  python3 "$here/relay_load.py" -p "$port" -m "$N" -s "$SESSIONS" -l "$SIZE" -f "$FROM" -t "$RCPTS" "$@" \
    >"$WORK/load.out" 2>"$WORK/load.err" &
  local lp=$!; KILL_PIDS+=("$lp")
  wait "$lp"; local rc=$?; forget_pid "$lp"
  out=$(cat "$WORK/load.out")
  acc=$(awk -v n="$N" -v s="$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")" \
    'BEGIN { if (s > 0) printf "%.1f", n / s; else print "NA" }')
  if ((rc != 0)); then log "$server/$row: load generator: $out"; head -5 "$WORK/load.err" >&2; acc=NA; fi
  deadline=$(($(date +%s) + TIMEOUT))
  while :; do
    ca=$(sink_count a); cb=0; [[ $row == split ]] && cb=$(sink_count b)
    now_s=$(now)
    [[ $t_a == NA ]] && ((ca >= want_a)) && t_a=$(awk -v a="$t0" -v b="$now_s" 'BEGIN { printf "%.3f", b - a }')
    [[ $t_b == NA ]] && ((cb >= want_b)) && t_b=$(awk -v a="$t0" -v b="$now_s" 'BEGIN { printf "%.3f", b - a }')
    [[ $t_a != NA && $t_b != NA ]] && break
    (($(date +%s) >= deadline)) && { log "$server/$row: timeout: a=$ca/$want_a b=$cb/$want_b"; break; }
    sleep "$POLL"
  done
  [[ $t_a != NA && $t_b != NA ]] && t_all=$(awk -v a="$t_a" -v b="$t_b" 'BEGIN { print (a > b ? a : b) }')
  local rel_a rel_all
  rel_a=$(awk -v n="$want_a" -v s="$t_a" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "NA" }')
  rel_all=$(awk -v n="$((want_a + want_b))" -v s="$t_all" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "NA" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$row" "$RUN" "$acc" "$rel_all" "$t_all" "$rel_a" >>"$RESULTS"
  log "$(printf '%-8s %-9s run %s: accepted %s/s, relayed %s/s (all after %s s), destination A %s/s' \
    "$server" "$row" "$RUN" "$acc" "$rel_all" "$t_all" "$rel_a")"
}

# ------------------------------------------------------------------ postfix --
bench_postfix() {
  local row=$1 d="$WORK/postfix-$1-$RUN" port transport
  destinations "$row"
  port=$(free_port)
  mkdir -p "$d"/{etc,spool,data,log,mail}
  chmod 755 "$d"; chown postfix:postfix "$d/data"
  # The bench's Postfix template, then relay settings: a transport map sends each destination
  # domain to its sink (no DNS); mynetworks (127.0.0.0/8) may relay; no local delivery.
  sed -e "s|@CONF@|$d/etc|g; s|@QUEUE@|$d/spool|g; s|@DATA@|$d/data|g" \
      -e "s|@LOGDIR@|$d/log|g; s|@PROCLIMIT@|$PROCLIMIT|g; s|@MAILDIR_BASE@|$d/mail|g" \
      -e "s|@UID@|$(id -u nobody)|g; s|@GID@|$(id -g nobody)|g" "$here/postfix/main.cf.in" >"$d/etc/main.cf"
  sed -e "s|@PORT@|$port|g" "$here/postfix/master.cf.in" >"$d/etc/master.cf"
  transport="{ a.dest.test = smtp:[127.0.0.1]:$PORT_A }"
  [[ -n $PORT_B ]] && transport="$transport, { b.dest.test = smtp:[127.0.0.1]:$PORT_B }"
  postconf -c "$d/etc" -e "transport_maps = inline:{ $transport }"
  PF_CONFS+=("$d/etc")
  pty postfix -c "$d/etc" start >"$d/start.out" 2>&1 || { cat "$d/start.out" >&2; die "postfix start failed"; }
  wait_port "$port" 30 || { cat "$d/start.out" >&2; tail -20 "$d/log/maillog" >&2; die "postfix not listening"; }
  measure postfix "$row" "$port"
  pf_stop "$d/etc"
  stop_destinations
  [[ $KEEP == 1 ]] || rm -rf "$d"
}

# --------------------------------------------------------------------- tern --
tern_relays() { "$TERND" config reference 2>/dev/null | grep -q '`relay.routes`'; }

bench_tern() {
  local row=$1 d="$WORK/tern-$1-$RUN" port pid data
  destinations "$row"
  port=$(free_port)
  mkdir -p "$d"; data="$d/data"
  {
    echo "[auth]"
    echo "allow_plaintext = true   # the load generator logs in without TLS"
    echo "[relay.routes]"
    echo "\"a.dest.test\" = \"127.0.0.1:$PORT_A\""
    [[ -n $PORT_B ]] && echo "\"b.dest.test\" = \"127.0.0.1:$PORT_B\""
  } >"$d/ternd.toml"
  if ! "$TERND" --data "$data" setup >"$d/setup.log" 2>&1 ||
     ! "$TERND" --data "$data" domain add bench.test >>"$d/setup.log" 2>&1 ||
     ! "$TERND" --data "$data" user add "$FROM" <<<"$PASSWORD" >>"$d/setup.log" 2>&1; then
    log "tern: setup failed:"; cat "$d/setup.log" >&2; stop_destinations; return 1
  fi
  "$TERND" serve --data "$data" --config "$d/ternd.toml" --listen "submission=127.0.0.1:$port" \
    >"$d/serve.log" 2>&1 &
  pid=$!; KILL_PIDS+=("$pid")
  if ! wait_port "$port" 30 "$pid"; then
    log "tern: not listening:"; tail -20 "$d/serve.log" >&2
    kill_wait "$pid" 5; forget_pid "$pid"; stop_destinations; return 1
  fi
  measure tern "$row" "$port" -u "$FROM" -w "$PASSWORD"
  kill -0 "$pid" 2>/dev/null || { log "tern: server died:"; tail -20 "$d/serve.log" >&2; }
  kill_wait "$pid" 15; forget_pid "$pid"
  stop_destinations
  [[ $KEEP == 1 ]] || rm -rf "$d"
}

# --------------------------------------------------------------------- main --
want() { [[ " $TARGETS " == *" $1 "* ]]; }
TERN_NOTE=""
if want tern; then
  if [[ ! -x $TERND ]]; then TERN_NOTE="tern: $TERND not found"; TARGETS=${TARGETS//tern/}
  elif ! tern_relays; then TERN_NOTE="tern: relay not available in this build"; TARGETS=${TARGETS//tern/}
  fi
  [[ -n $TERN_NOTE ]] && log "$TERN_NOTE"
fi
if [[ $(postconf -h inet_interfaces 2>/dev/null) != "" ]] && pty postfix status 2>/dev/null | grep -q 'is running'; then
  log "warning: a system Postfix instance is running"
fi
log "N=$N sessions=$SESSIONS size=$SIZE runs=$RUNS rows=[$ROWS] targets=[$TARGETS] $(nproc) cpus, load avg $(cut -d' ' -f1-3 /proc/loadavg)"
log "$(postconf -d -h mail_version | sed 's/^/postfix /'); work dir $WORK"

for ((RUN = 1; RUN <= RUNS; RUN++)); do
  for row in $ROWS; do
    want postfix && bench_postfix "$row"
    want tern && bench_tern "$row"
  done
done

# ------------------------------------------------------------------- report --
median() { # server row column -> median of numeric values, or NA
  awk -F'\t' -v s="$1" -v r="$2" -v c="$3" '$1 == s && $2 == r && $c ~ /^[0-9.]+$/ { print $c }' "$RESULTS" |
    sort -g | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "NA"; exit }
      if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.1f", m }'
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.0f%%", 100 * a / b; else print "NA" }'; }

echo
echo "Relay to smtp-sink: $N msgs x $SIZE B, $SESSIONS sessions, medians of $RUNS run(s)"
[[ -n $TERN_NOTE ]] && echo "$TERN_NOTE"
if [[ " $ROWS " == *" single "* ]]; then
  printf '%-8s %12s %12s %16s\n' server accepted/s relayed/s all_relayed_s
  for s in postfix tern; do
    want "$s" || continue
    printf '%-8s %12s %12s %16s\n' "$s" "$(median "$s" single 4)" "$(median "$s" single 5)" "$(median "$s" single 6)"
  done
  want tern && want postfix &&
    echo "Tern/Postfix relayed/s: $(ratio "$(median tern single 5)" "$(median postfix single 5)") (goal: >= 3)"
fi
if [[ " $ROWS " == *" split "* && " $ROWS " == *" blackhole "* ]]; then
  echo
  echo "Destination A ($((N / 2)) msgs) while destination B gets the other half:"
  printf '%-8s %18s %20s %8s\n' server "A/s (B healthy)" "A/s (B blackholed)" kept
  for s in postfix tern; do
    want "$s" || continue
    printf '%-8s %18s %20s %8s\n' "$s" "$(median "$s" split 7)" "$(median "$s" blackhole 7)" \
      "$(pct "$(median "$s" blackhole 7)" "$(median "$s" split 7)")"
  done
  echo "(goal: A keeps >= 90% of its rate when B blackholes connections)"
fi
echo
echo "per run:"
tabulate < <(printf 'server\trow\trun\taccepted/s\trelayed/s\tall_relayed_s\tA_relayed/s\n'; cat "$RESULTS")
