# scripts/bench_common.sh — helpers shared by scripts/bench.sh and scripts/scaling.sh (sourced,
# not run). The sourcing script defines die() first and keeps its server pids in PIDS.

USED_PORTS=()
PIDS=()

# free_port: sets FREE_PORT to a port nobody listens on and this script has not used yet. It
# is drawn from below the kernel's ephemeral range: the load's closed connections leave their
# local ports there in TIME_WAIT, and a listener cannot bind a port that one of those holds
# (bench.sh's TLS servers failed to start right after the 5,000 idle connections that way).
free_port() {
  local port low=32768 span
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  span=$(( low > 12000 ? low - 10000 : 2000 ))
  for _ in $(seq 1 100); do
    port=$(( (low > 12000 ? 10000 : 1024) + RANDOM % span ))
    if [[ " ${USED_PORTS[*]:-} " == *" $port "* ]]; then continue; fi
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      USED_PORTS+=("$port")
      FREE_PORT=$port
      return
    fi
  done
  die "no free port found"
}

# wait_for_port PORT PID [LOG]: until the server PID listens on PORT (dies if it exits first,
# showing the end of its LOG).
wait_for_port() {
  local port=$1 pid=$2 log=${3:-}
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      [[ -n $log && -f $log ]] && tail -n 5 "$log" >&2
      die "server on port $port exited at startup"
    fi
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
