# lib.sh - what the bench scripts (smtp, pop3, memory) share: logging, process
# clean-up, loopback ports, and the memory and CPU figures of a process tree.
# Sourced, not run. The caller sets WORK, SAMPLE and KILL_PIDS (pids to stop on exit).

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }
now() { date +%s.%N; }
# kill_wait PID SECS: SIGTERM, wait up to SECS, then SIGKILL (the process and,
# for Dovecot, whatever children it left behind).
kill_wait() {
  local pid=$1 secs=${2:-10} i kids
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kids=$(tree_pids "$pid" | grep -vx "$pid")
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid" 2>/dev/null; sleep 0.1; }
  wait "$pid" 2>/dev/null
  for i in $kids; do kill -KILL "$i" 2>/dev/null; done
  return 0
}

forget_pid() {
  local p=$1 i
  for i in "${!KILL_PIDS[@]}"; do [[ ${KILL_PIDS[$i]} == "$p" ]] && unset 'KILL_PIDS[i]'; done
}

# ------------------------------------------------------------------- ports --
port_listening() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }
port_in_use() { [[ -n $(ss -Htan "( sport = :$1 or dport = :$1 )" 2>/dev/null) ]]; }
# A port below the kernel's ephemeral range, used by no socket in any state:
# the idle test leaves thousands of loopback connections in TIME_WAIT, and an
# ephemeral port still held by one of them can make the next bind() fail.
free_port() {
  local p i lo hi
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
  hi=$((lo - 1)); ((hi > 10000)) || hi=32767
  for ((i = 0; i < 200; i++)); do
    p=$((10000 + RANDOM % (hi - 10000)))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free port found"
}

# wait_port PORT SECS [PID]: wait until something listens on 127.0.0.1:PORT.
wait_port() {
  local port=$1 secs=$2 pid=${3:-} i
  for ((i = 0; i < secs * 10; i++)); do
    port_listening "$port" && return 0
    [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null && return 1
    sleep 0.1
  done
  return 1
}

# PIDs of ROOT and all its descendants.
tree_pids() {
  ps -e -o pid=,ppid= | awk -v r="$1" '
    { par[$1] = $2 }
    END { for (p in par) { q = p; n = 0
            while (q != "" && q != 0 && q != r && n++ < 64) q = par[q]
            if (q == r) print p } }'
}

# "RSS PSS ANON" (kB) summed over ROOT and its descendants. ANON is the
# anonymous (heap, stacks) part of RSS: RSS also counts the page-cache pages of
# files a process maps, such as ternd's store.db (SQLite reads it via mmap).
tree_mem_kb() {
  local p files=()
  for p in $(tree_pids "$1"); do files+=("/proc/$p/smaps_rollup"); done
  ((${#files[@]})) || { echo "0 0 0"; return; }
  cat "${files[@]}" 2>/dev/null |
    awk '/^Rss:/ { r += $2 } /^Pss:/ { p += $2 } /^Anonymous:/ { a += $2 } END { print r + 0, p + 0, a + 0 }'
}

# "total steal" jiffies from the cpu line of /proc/stat: steal is time this VM's
# vCPUs were runnable but the host ran something else.
cpu_jiffies() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9; exit }' /proc/stat; }

# rss_sampler ROOT OUT: running max "RSS PSS ANON" (kB) of the tree into OUT, every
# $SAMPLE seconds until ROOT exits or the sampler is killed.
rss_sampler() {
  local root=$1 out=$2 mr=0 mp=0 ma=0 r p a
  echo "0 0 0" >"$out"
  while kill -0 "$root" 2>/dev/null; do
    read -r r p a < <(tree_mem_kb "$root")
    if ((r > mr || p > mp || a > ma)); then
      ((r > mr)) && mr=$r; ((p > mp)) && mp=$p; ((a > ma)) && ma=$a
      echo "$mr $mp $ma" >"$out"
    fi
    sleep "$SAMPLE"
  done
}

hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

kb2mb() { awk -v k="$1" 'BEGIN{ if (k > 0) printf "%.1f", k / 1024; else print "NA" }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "NA" }'; }

tabulate() { if command -v column >/dev/null; then column -t -s $'\t'; else cat; fi; }

# ----------------------------------------------------------------- cleanup --
# What a bench leaves running or on disk, undone when it exits however it exits: the PIDs in
# KILL_PIDS (SIGTERM, then SIGKILL after KILL_GRACE seconds), the Postfix instances whose config
# directories are in PF_CONFS, and WORK unless KEEP=1. A script calls bench_trap_cleanup once.
declare -a KILL_PIDS=() PF_CONFS=()
WORK=""
bench_cleanup() {
  local rc=$? p c
  trap - EXIT INT TERM
  for c in "${PF_CONFS[@]}"; do pf_stop "$c"; done
  for p in "${KILL_PIDS[@]}"; do kill_wait "$p" "${KILL_GRACE:-10}"; done
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ ${KEEP:-0} == 1 ]]; then log "keeping $WORK"; else rm -rf "$WORK"; fi
  fi
  exit "$rc"
}
bench_trap_cleanup() {
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# A command under a pseudo-terminal (postfix's start/stop scripts want one), CRs dropped.
pty() { script -qec "$*" /dev/null </dev/null | tr -d '\r'; }

# Stops the Postfix instance configured in directory $1 (stop, then abort, then SIGKILL of its
# master) and forgets it in PF_CONFS.
pf_stop() {
  local conf=$1 q pid i
  [[ -f $conf/main.cf ]] || return 0
  q=$(postconf -c "$conf" -h queue_directory 2>/dev/null)
  pty postfix -c "$conf" stop >/dev/null 2>&1
  pid=$(tr -dc 0-9 <"$q/pid/master.pid" 2>/dev/null)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    pty postfix -c "$conf" abort >/dev/null 2>&1
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  local i2
  for i2 in "${!PF_CONFS[@]}"; do [[ ${PF_CONFS[$i2]} == "$conf" ]] && unset 'PF_CONFS[i2]'; done
  return 0
}
