# scripts/bench_common.sh — helpers shared by scripts/bench.sh and scripts/scaling.sh (sourced,
# not run). The sourcing script defines die() first and keeps its server pids in PIDS.

USED_PORTS=()
PIDS=()

# free_port: sets FREE_PORT to a port nobody listens on and this script has not used yet.
free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$(( 20000 + RANDOM % 20000 ))
    if [[ " ${USED_PORTS[*]:-} " == *" $port "* ]]; then continue; fi
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      USED_PORTS+=("$port")
      FREE_PORT=$port
      return
    fi
  done
  die "no free port found"
}

# wait_for_port PORT PID: until the server PID listens on PORT (dies if it exits first).
wait_for_port() {
  local port=$1 pid=$2
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || die "server on port $port exited at startup"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return; fi
    sleep 0.05
  done
  die "server on port $port did not start listening"
}

stop_servers() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

# json_field FILE KEY: the first "KEY":number in kioku-bench's one-line report (top-level
# ops_per_sec, then the overall latency_us block's percentiles come before the per-op blocks).
json_field() {
  awk -v key="\"$2\":" '{ i = index($0, key); if (i == 0) exit 1;
    s = substr($0, i + length(key)); match(s, /^-?[0-9.eE+]+/); print substr(s, 1, RLENGTH) }' "$1"
}

# cpu_ticks PID: the process's user + system CPU time so far, all threads, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)
