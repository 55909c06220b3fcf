#!/usr/bin/env bash
# smtp_bench.sh - compare Tern's SMTP intake + local delivery with Postfix
# (and with smtp-sink as a protocol-only upper bound) on this machine.
#
#   bench/smtp_bench.sh [-m N] [-r RUNS] [-s SESSIONS] [-l BYTES]
#                       [-t "postfix tern sink"] [-T TIMEOUT] [-k] [-n]
#
# Every setting can also come from the environment (flags win):
#   N=5000 RUNS=5 SESSIONS=10 SIZE=4096 TARGETS="postfix tern sink"
#   TIMEOUT=300 (seconds, per phase) TERND=./build/ternd
#   BENCH_TMPDIR=/var/tmp  KEEP=0  NO_INSTALL=0  POLL=0.1  SAMPLE=0.5  QUIET_STEAL=5
#
# See bench/README.md for what the figures mean.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
N=${N:-5000}
RUNS=${RUNS:-5}
SESSIONS=${SESSIONS:-10}
SIZE=${SIZE:-4096}
TARGETS=${TARGETS:-"postfix tern sink"}
TIMEOUT=${TIMEOUT:-300}
TERND=${TERND:-./build/ternd}
BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp}
KEEP=${KEEP:-0}
NO_INSTALL=${NO_INSTALL:-0}
POLL=${POLL:-0.1}       # delivery-count poll interval (s)
QUIET_STEAL=${QUIET_STEAL:-5}  # steal % up to which a run counts as quiet (report only)
SAMPLE=${SAMPLE:-0.5}   # RSS/PSS sampling interval (s); each sample costs ~10-20 ms CPU
PROCLIMIT=${PROCLIMIT:-200}
FROM=a@bench.test
RCPT=user@bench.test

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "m:r:s:l:t:T:knh" opt; do
  case $opt in
    m) N=$OPTARG ;; r) RUNS=$OPTARG ;; s) SESSIONS=$OPTARG ;; l) SIZE=$OPTARG ;;
    t) TARGETS=$OPTARG ;; T) TIMEOUT=$OPTARG ;; k) KEEP=1 ;; n) NO_INSTALL=1 ;;
    h) usage 0 ;; *) usage 2 ;;
  esac
done
TARGETS=${TARGETS//,/ }
for v in N RUNS SESSIONS SIZE TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "smtp_bench: $v must be a positive integer" >&2; exit 2; }
done
[[ $TERND == /* ]] || TERND="$PWD/$TERND"

[[ $(id -u) == 0 ]] || die "must run as root (installs packages, runs Postfix)"

# ---------------------------------------------------------------- cleanup --
KILL_GRACE=5
bench_trap_cleanup

# ----------------------------------------------------------------- helpers --
# Postfix commands print nothing useful without a syslog socket unless they
# have a terminal: run them under script(1) and keep the output.

start_sampler() {
  SAMPLER_ROOT=$1 SAMPLER_OUT=$2
  rss_sampler "$1" "$2" & SAMPLER=$!; KILL_PIDS+=("$SAMPLER")
}
# Stops the sampler and takes one last sample (short runs may otherwise only
# have seen the idle server).
stop_sampler() {
  local mr mp ma r p a
  kill_wait "$SAMPLER" 2; forget_pid "$SAMPLER"
  read -r mr mp ma <"$SAMPLER_OUT"
  read -r r p a < <(tree_mem_kb "$SAMPLER_ROOT")
  ((r > mr)) && mr=$r; ((p > mp)) && mp=$p; ((a > ma)) && ma=$a
  echo "$mr $mp $ma" >"$SAMPLER_OUT"
}

# run_load PORT LOGFILE: smtp-source; sets ACCEPT_S (wall seconds), returns rc.
run_load() {
  local port=$1 lf=$2 t0 t1 rc j0 st0 j1 st1
  read -r j0 st0 < <(cpu_jiffies)
  t0=$(now)
  # In the background + wait, so that a SIGTERM to this script is handled
  # at once (bash defers traps while a foreground child runs).
  timeout "$TIMEOUT" "$SMTP_SOURCE" -s "$SESSIONS" -m "$N" -l "$SIZE" \
    -f "$FROM" -t "$RCPT" "127.0.0.1:$port" >"$lf" 2>&1 &
  local spid=$!
  KILL_PIDS+=("$spid")
  wait "$spid"
  rc=$?
  forget_pid "$spid"
  t1=$(now)
  read -r j1 st1 < <(cpu_jiffies)
  STEAL_PCT=$(awk -v a="$((j1 - j0))" -v b="$((st1 - st0))" 'BEGIN { if (a > 0) printf "%.1f", 100 * b / a; else print "NA" }')
  LOAD_T0=$t0
  ACCEPT_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
  if ((rc != 0)); then
    log "smtp-source failed (rc=$rc):"; tail -5 "$lf" >&2
  fi
  return $rc
}
# wait_delivered COUNT_FN: poll COUNT_FN until it reports >= N; sets
# DELIVER_S (seconds since the load started) or "NA" on timeout.
wait_delivered() {
  local fn=$1 c=0 deadline
  deadline=$(awk -v t="$(now)" -v d="$TIMEOUT" 'BEGIN{printf "%d", t + d}')
  DELIVER_S=NA
  while :; do
    c=$($fn); c=${c:-0}
    if ((c >= N)); then
      DELIVER_S=$(awk -v a="$LOAD_T0" -v b="$(now)" 'BEGIN{printf "%.3f", b - a}')
      return 0
    fi
    (($(date +%s) >= deadline)) && break
    sleep "$POLL"
  done
  log "timeout: only $c of $N messages delivered after ${TIMEOUT}s"
  return 1
}
rate() { awk -v n="$N" -v s="$1" 'BEGIN{ if (s > 0) printf "%.1f", n / s; else print "NA" }'; }

record() { # server run accept_rate deliver_s rss_mb pss_mb (steal % of the load phase appended)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" "${STEAL_PCT:-NA}" >>"$RESULTS"
  log "$(printf '%-9s run %s: %s msg/s accepted, all delivered after %s s, peak RSS %s MB (PSS %s MB)' "$@"), steal ${STEAL_PCT:-NA}%"
}

# ----------------------------------------------------------------- install --
ensure_postfix() {
  if [[ $NO_INSTALL != 1 ]] && ! { command -v postfix && command -v postconf; } >/dev/null 2>&1; then
    log "installing postfix (debconf: No configuration)"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y postfix >"$WORK/apt.log" 2>&1 || {
      log "apt-get install failed, retrying after apt-get update"
      apt-get update >>"$WORK/apt.log" 2>&1
      DEBIAN_FRONTEND=noninteractive apt-get install -y postfix >>"$WORK/apt.log" 2>&1 ||
        { tail -20 "$WORK/apt.log" >&2; die "cannot install postfix"; }
    }
  fi
  command -v postfix >/dev/null || die "postfix not installed"
  # The package must not leave a system instance running (port 25).
  if [[ -f /etc/postfix/main.cf ]] && pty postfix status 2>/dev/null | grep -q 'is running'; then
    log "stopping the system Postfix instance (default config)"
    pty postfix stop >&2
  fi
  port_listening 25 && log "warning: something listens on port 25 (not ours)"
  SMTP_SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
  SMTP_SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
  [[ -x $SMTP_SOURCE && -x $SMTP_SINK ]] || die "smtp-source/smtp-sink not found"
  getent passwd postfix >/dev/null || die "no postfix user"
}

# ----------------------------------------------------------------- postfix --

PF_NEW=""
pf_count() {
  local d=$PF_NEW
  [[ -d $d ]] || { echo 0; return; }
  find "$d" -maxdepth 1 -type f -printf . | wc -c
}

bench_postfix() {
  local run=$1 d="$WORK/postfix-$1" port master vuid vgid
  port=$(free_port)
  vuid=$(id -u nobody); vgid=$(id -g nobody)
  mkdir -p "$d"/{etc,spool,data,log,mail}
  chmod 755 "$d"
  chown postfix:postfix "$d/data"
  chown "$vuid:$vgid" "$d/mail"
  sed -e "s|@CONF@|$d/etc|g; s|@QUEUE@|$d/spool|g; s|@DATA@|$d/data|g" \
      -e "s|@LOGDIR@|$d/log|g; s|@PROCLIMIT@|$PROCLIMIT|g; s|@MAILDIR_BASE@|$d/mail|g" \
      -e "s|@UID@|$vuid|g; s|@GID@|$vgid|g" "$here/postfix/main.cf.in" >"$d/etc/main.cf"
  sed -e "s|@PORT@|$port|g" "$here/postfix/master.cf.in" >"$d/etc/master.cf"
  PF_NEW="$d/mail/bench.test/user/new"

  pty postfix -c "$d/etc" check >"$d/check.out" 2>&1
  if [[ -s $d/check.out ]]; then log "postfix check says:"; cat "$d/check.out" >&2; fi
  PF_CONFS+=("$d/etc")
  pty postfix -c "$d/etc" start >"$d/start.out" 2>&1 ||
    { cat "$d/start.out" "$d/log/maillog" >&2; die "postfix start failed"; }
  if ! wait_port "$port" 30; then
    cat "$d/start.out" >&2; tail -20 "$d/log/maillog" >&2; die "postfix smtpd not listening on $port"
  fi
  master=$(tr -dc 0-9 <"$d/spool/pid/master.pid")
  start_sampler "$master" "$d/rss.max"

  local ok=1 acc=NA
  DELIVER_S=NA
  run_load "$port" "$d/source.log" && acc=$(rate "$ACCEPT_S") || ok=0
  ((ok)) && { wait_delivered pf_count || ok=0; }
  stop_sampler
  local rss pss; read -r rss pss _ <"$d/rss.max"
  if ((!ok)); then
    log "postfix log tail:"; grep -Ev 'status=sent|removed$' "$d/log/maillog" | tail -15 >&2
  fi
  pf_stop "$d/etc"
  record postfix "$run" "$acc" "$DELIVER_S" "$(kb2mb "$rss")" "$(kb2mb "$pss")"
  [[ $KEEP == 1 ]] || rm -rf "$d"
}

# -------------------------------------------------------------------- tern --
TERN_DATA=""
tern_count() {
  "$TERND" --data "$TERN_DATA" mailbox list "$RCPT" 2>/dev/null |
    awk -F'\t' '$1 == "INBOX" { print $2; exit }'
}

tern_usable() {
  [[ -x $TERND ]] || { log "tern: $TERND not found/executable: skipping Tern"; return 1; }
  return 0
}

bench_tern() {
  local run=$1 d="$WORK/tern-$1" port pid
  port=$(free_port)
  mkdir -p "$d"
  TERN_DATA="$d/data"
  # As root, ternd serves as an unprivileged user, which `setup` creates (it refuses root otherwise).
  if [[ $(id -u) -eq 0 ]] && ! "$TERND" --data "$TERN_DATA" setup >"$d/setup.log" 2>&1; then
    log "tern: setup failed:"; cat "$d/setup.log" >&2; return 1
  fi
  if ! "$TERND" --data "$TERN_DATA" domain add bench.test >>"$d/setup.log" 2>&1 ||
     ! "$TERND" --data "$TERN_DATA" user add "$RCPT" <<<pw >>"$d/setup.log" 2>&1; then
    log "tern: setup failed:"; cat "$d/setup.log" >&2
    record tern "$run" NA NA NA NA; return 1
  fi
  "$TERND" serve --data "$TERN_DATA" --listen "smtp=127.0.0.1:$port" >"$d/serve.log" 2>&1 &
  pid=$!; KILL_PIDS+=("$pid")
  if ! wait_port "$port" 30 "$pid"; then
    log "tern: server not listening on $port:"; tail -20 "$d/serve.log" >&2
    kill_wait "$pid" 5; forget_pid "$pid"
    record tern "$run" NA NA NA NA; return 1
  fi
  start_sampler "$pid" "$d/rss.max"

  local ok=1 acc=NA
  DELIVER_S=NA
  run_load "$port" "$d/source.log" && acc=$(rate "$ACCEPT_S") || ok=0
  ((ok)) && { wait_delivered tern_count || ok=0; }
  stop_sampler
  local hwm tree rss pss
  hwm=$(hwm_kb "$pid"); read -r tree pss _ <"$d/rss.max"
  rss=$(( ${hwm:-0} > ${tree:-0} ? ${hwm:-0} : ${tree:-0} ))
  kill -0 "$pid" 2>/dev/null || { log "tern: server died during the run:"; tail -20 "$d/serve.log" >&2; ok=0; }
  kill_wait "$pid" 15; forget_pid "$pid"
  ((ok)) || { log "tern: serve.log tail:"; tail -15 "$d/serve.log" >&2; }
  record tern "$run" "$acc" "$DELIVER_S" "$(kb2mb "$rss")" "$(kb2mb "$pss")"
  [[ $KEEP == 1 ]] || rm -rf "$d"
}

# --------------------------------------------------------------- smtp-sink --
bench_sink() {
  local run=$1 d="$WORK/sink-$1" port pid
  port=$(free_port)
  mkdir -p "$d"
  # -u is mandatory when started as root; smtp-sink discards every message.
  "$SMTP_SINK" -u nobody "127.0.0.1:$port" 1000 >"$d/sink.log" 2>&1 &
  pid=$!; KILL_PIDS+=("$pid")
  wait_port "$port" 10 "$pid" || { cat "$d/sink.log" >&2; die "smtp-sink did not start"; }
  start_sampler "$pid" "$d/rss.max"
  local ok=1
  run_load "$port" "$d/source.log" || ok=0
  stop_sampler
  local hwm tree rss pss
  hwm=$(hwm_kb "$pid"); read -r tree pss _ <"$d/rss.max"
  rss=$(( ${hwm:-0} > ${tree:-0} ? ${hwm:-0} : ${tree:-0} ))
  kill_wait "$pid" 5; forget_pid "$pid"
  record smtp-sink "$run" "$( ((ok)) && rate "$ACCEPT_S" || echo NA)" "-" "$(kb2mb "$rss")" "$(kb2mb "$pss")"
  [[ $KEEP == 1 ]] || rm -rf "$d"
}

# -------------------------------------------------------------------- main --
mkdir -p "$BENCH_TMPDIR"
WORK=$(mktemp -d "$BENCH_TMPDIR/tern-smtp-bench.XXXXXX") || die "mktemp failed"
chmod 755 "$WORK"   # Postfix daemons (uid postfix / nobody) must traverse it
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

ensure_postfix
want() { [[ " $TARGETS " == *" $1 "* ]]; }
want tern && { tern_usable || TARGETS=${TARGETS//tern/}; }

log "N=$N sessions=$SESSIONS size=$SIZE runs=$RUNS targets=[$TARGETS] $(nproc) cpus, load avg $(cut -d' ' -f1-3 /proc/loadavg)"
log "$(postconf -d -h mail_version | sed 's/^/postfix /'); work dir $WORK"
# disk_probe R: fdatasync latency of this disk right now (200 x 4.5 KB overwrites of a
# preallocated file, like Tern's spool commits), into $WORK/disk.txt. Tern pays one per group
# commit, Postfix one per queue file, smtp-sink none; on a shared VM the figure swings from
# minute to minute.
disk_probe() {
  python3 - "$WORK/disk.probe" "$1" >>"$WORK/disk.txt" <<'PY' || true
import os, sys, time
path, run = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
os.write(fd, b"\0" * (1 << 20)); os.fsync(fd)
lat = []
for i in range(200):
    os.pwrite(fd, b"x" * 4500, (i * 4500) % ((1 << 20) - 4500))
    t = time.perf_counter(); os.fdatasync(fd); lat.append((time.perf_counter() - t) * 1e6)
os.close(fd); os.unlink(path)
lat.sort()
print(f"{run}\t{lat[100]:.0f}\t{lat[180]:.0f}\t{lat[198]:.0f}")
PY
}

for ((r = 1; r <= RUNS; r++)); do
  disk_probe "$r"
  # Interleave the servers so background load on the shared machine hits
  # all of them alike.
  want postfix && bench_postfix "$r"
  want tern && bench_tern "$r"
  want sink && bench_sink "$r"
done
log "done; load avg $(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------------ report --
median() { # server column -> median of numeric values, or NA
  awk -F'\t' -v s="$1" -v c="$2" '$1 == s && $c ~ /^[0-9.]+$/ { print $c }' "$RESULTS" |
    sort -g | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "NA"; exit }
      if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.2f", m }'
}
okruns() { awk -F'\t' -v s="$1" '$1 == s && $3 ~ /^[0-9.]+$/ && $4 ~ /^([0-9.]+|-)$/' "$RESULTS" | wc -l; }

echo
echo "SMTP intake + local delivery: $N msgs x ${SIZE} B, $SESSIONS sessions, medians of $RUNS runs"
printf '%-10s %5s %14s %18s %13s %13s\n' server ok accept_msg/s all_delivered_s peak_RSS_MB peak_PSS_MB
for s in postfix tern smtp-sink; do
  t=$s; [[ $s == smtp-sink ]] && t=sink
  want "$t" || continue
  printf '%-10s %5s %14s %18s %13s %13s\n' "$s" "$(okruns "$s")/$RUNS" \
    "$(median "$s" 3)" "$( [[ $s == smtp-sink ]] && echo - || median "$s" 4)" \
    "$(median "$s" 5)" "$(median "$s" 6)"
done
if want tern; then
  echo
  echo "Tern/Postfix   accept rate:    $(ratio "$(median tern 3)" "$(median postfix 3)")  (>1: Tern accepts faster)"
  echo "Tern/Postfix   delivery time:  $(ratio "$(median tern 4)" "$(median postfix 4)")  (<1: Tern delivers all sooner)"
  echo "Tern/smtp-sink accept rate:    $(ratio "$(median tern 3)" "$(median smtp-sink 3)")  (fraction of the protocol-only bound)"
  # Each run measures Tern and smtp-sink back to back: the per-run ratio cancels slow drift in
  # the shared machine's speed, so its median is the steadier figure.
  paired=$(awk -F'\t' '$3 ~ /^[0-9.]+$/ { v[$1 "," $2] = $3; runs[$2] = 1 }
    END { for (r in runs) if (("tern," r) in v && ("smtp-sink," r) in v && v["smtp-sink," r] > 0)
            printf "%.2f\n", v["tern," r] / v["smtp-sink," r] }' "$RESULTS" | sort -g | tr '\n' ' ')
  [[ -n $paired ]] && echo "Tern/smtp-sink per run:        $paired (median $(tr ' ' '\n' <<<"$paired" | grep . |
    awk '{ v[NR] = $1 } END { if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'))"
  # The same pairs, kept only where neither run lost more than QUIET_STEAL % of the CPU to the
  # host (steal): what the two programs do on a machine of their own, as far as this VM shows it.
  quiet=$(awk -F'\t' -v q="$QUIET_STEAL" '$3 ~ /^[0-9.]+$/ && $7 ~ /^[0-9.]+$/ && $7 <= q { v[$1 "," $2] = $3; runs[$2] = 1 }
    END { for (r in runs) if (("tern," r) in v && ("smtp-sink," r) in v && v["smtp-sink," r] > 0)
            printf "%.2f\n", v["tern," r] / v["smtp-sink," r] }' "$RESULTS" | sort -g | tr '\n' ' ')
  echo "Tern/smtp-sink, steal <= ${QUIET_STEAL}%: ${quiet:-no such pair}$([[ -n $quiet ]] && echo " (median $(tr ' ' '\n' <<<"$quiet" | grep . |
    awk '{ v[NR] = $1 } END { if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }'))")"
  echo "Tern/Postfix   peak RSS:       $(ratio "$(median tern 5)" "$(median postfix 5)")  (PSS: $(ratio "$(median tern 6)" "$(median postfix 6)"))"
fi
echo
[[ -s $WORK/disk.txt ]] && { echo "disk before each run (fdatasync us):"
  tabulate < <(printf 'run\tp50\tp90\tp99\n'; cat "$WORK/disk.txt"); echo; }
echo "per run:"; tabulate < <(printf 'server\trun\taccept_msg/s\tdelivered_s\tpeak_RSS_MB\tpeak_PSS_MB\tsteal_%%\n'; cat "$RESULTS")
