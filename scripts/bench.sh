#!/usr/bin/env bash
# scripts/bench.sh - kiokud against memcached, same settings, same load, alternating runs.
#
# Builds nothing: expects build/daemon/kiokud and build/client/kioku-bench (override with
# KIOKUD, KIOKU_BENCH, MEMCACHED). Each server runs with "-t 1 -m 1024 -U 0 -l 127.0.0.1" on
# its own free port, pinned to CPU 0 while the load is pinned to CPU 1 (when there are at least
# two CPUs). Every scenario prefills both servers, then runs A/B/A/B... for ROUNDS rounds of
# DURATION seconds each and reports the median ops/s and p99 of each server and their ratio
# (kiokud / memcached), as a plain table and as a Markdown table.
#
# Environment:
#   SCENARIOS   space-separated subset of the scenarios below (default: all)
#   ROUNDS      rounds per scenario (default 3)          DURATION  seconds per run (default 5)
#   WARMUP      seconds of warmup per run (default 1)    KEYS      key space (default 100000)
#   RATE        ops/s of the fixed-rate latency scenario (default 20000)
#   CONNECTIONS load connections (default 50)            LOAD_THREADS  load threads (default 2)
#   SERVER_ARGS extra arguments for both servers         KEEP_JSON  directory to keep raw JSON
#
# Scenarios (50 connections, 2 load threads, uniform keys, all prefilled):
#   get90-32B-p1 get90-32B-p16 set90-32B-p1 set90-32B-p16 get90-1KiB-p1 get90-1KiB-p16
#   latency-32B-rate   (90% gets of 32 B at RATE ops/s, open loop: compare p99, not ops/s)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIOKUD=${KIOKUD:-$ROOT/build/daemon/kiokud}
KIOKU_BENCH=${KIOKU_BENCH:-$ROOT/build/client/kioku-bench}
MEMCACHED=${MEMCACHED:-/usr/bin/memcached}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
KEYS=${KEYS:-100000}
RATE=${RATE:-20000}
CONNECTIONS=${CONNECTIONS:-50}
LOAD_THREADS=${LOAD_THREADS:-2}
ALL_SCENARIOS="get90-32B-p1 get90-32B-p16 set90-32B-p1 set90-32B-p16 get90-1KiB-p1 get90-1KiB-p16 latency-32B-rate"
SCENARIOS=${SCENARIOS:-$ALL_SCENARIOS}

die() { echo "bench.sh: $*" >&2; exit 1; }

for bin in "$KIOKUD" "$KIOKU_BENCH" "$MEMCACHED"; do
  [[ -x $bin ]] || die "not executable: $bin (build first, or set KIOKUD / KIOKU_BENCH / MEMCACHED)"
done
for s in $SCENARIOS; do
  [[ " $ALL_SCENARIOS " == *" $s "* ]] || die "unknown scenario '$s' (known: $ALL_SCENARIOS)"
done

# The load and the servers on different CPUs, so they do not steal each other's cycles.
SERVER_PIN=()
LOAD_PIN=()
if command -v taskset >/dev/null && (( $(nproc) >= 2 )); then
  SERVER_PIN=(taskset -c 0)
  LOAD_PIN=(taskset -c 1)
fi

COMMON_ARGS=(-t 1 -m 1024 -U 0 -l 127.0.0.1)
if (( EUID == 0 )); then COMMON_ARGS+=(-u nobody); fi
# shellcheck disable=SC2206  # word splitting of SERVER_ARGS is intended
COMMON_ARGS+=(${SERVER_ARGS:-})

free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$(( 20000 + RANDOM % 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "no free port found"
}

wait_for_port() {
  local port=$1 pid=$2
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || die "server on port $port exited at startup"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return; fi
    sleep 0.05
  done
  die "server on port $port did not start listening"
}

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n ${KEEP_JSON:-} ]]; then
    mkdir -p "$KEEP_JSON"
    cp "$WORK"/*.json "$KEEP_JSON"/ 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

NAMES=(kiokud memcached)
BINS=("$KIOKUD" "$MEMCACHED")
PORTS=()
for i in 0 1; do
  port=$(free_port)
  while [[ ${#PORTS[@]} -gt 0 && $port == "${PORTS[0]}" ]]; do port=$(free_port); done
  "${SERVER_PIN[@]}" "${BINS[$i]}" "${COMMON_ARGS[@]}" -p "$port" >"$WORK/${NAMES[$i]}.log" 2>&1 &
  PIDS+=($!)
  wait_for_port "$port" "$!"
  PORTS+=("$port")
done
echo "# kiokud: ${BINS[0]} (port ${PORTS[0]}), memcached: ${BINS[1]} (port ${PORTS[1]})" >&2
echo "# server args: ${COMMON_ARGS[*]}; pinning: ${SERVER_PIN[*]:-none} / ${LOAD_PIN[*]:-none}" >&2
echo "# $ROUNDS rounds x ${DURATION}s (+${WARMUP}s warmup), $CONNECTIONS connections, $LOAD_THREADS load threads, $KEYS keys" >&2

scenario_args() {
  local common=(--threads "$LOAD_THREADS" --connections "$CONNECTIONS" --keys "$KEYS")
  case $1 in
    get90-32B-p1)     echo "${common[*]} --ratio 90:10 --value-size 32 --pipeline 1" ;;
    get90-32B-p16)    echo "${common[*]} --ratio 90:10 --value-size 32 --pipeline 16" ;;
    set90-32B-p1)     echo "${common[*]} --ratio 10:90 --value-size 32 --pipeline 1" ;;
    set90-32B-p16)    echo "${common[*]} --ratio 10:90 --value-size 32 --pipeline 16" ;;
    get90-1KiB-p1)    echo "${common[*]} --ratio 90:10 --value-size 1024 --pipeline 1" ;;
    get90-1KiB-p16)   echo "${common[*]} --ratio 90:10 --value-size 1024 --pipeline 16" ;;
    latency-32B-rate) echo "${common[*]} --ratio 90:10 --value-size 32 --pipeline 1" ;;
  esac
}

# The open-loop scenarios' extra arguments (not used for their prefill).
rate_args() {
  case $1 in
    latency-*) echo "--rate $RATE" ;;
  esac
}

# json_field FILE KEY: the first "KEY":number in the one-line report (top-level ops_per_sec,
# then the overall latency_us block's percentiles come before the per-op blocks).
json_field() {
  awk -v key="\"$2\":" '{ i = index($0, key); if (i == 0) exit 1;
    s = substr($0, i + length(key)); match(s, /^-?[0-9.eE+]+/); print substr(s, 1, RLENGTH) }' "$1"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

RESULTS=$WORK/results.tsv
: >"$RESULTS"
for scenario in $SCENARIOS; do
  read -r -a args <<<"$(scenario_args "$scenario")"
  read -r -a rate <<<"$(rate_args "$scenario")"
  for i in 0 1; do
    # Prefill with this scenario's value size; the one measured request is discarded.
    "${LOAD_PIN[@]}" "$KIOKU_BENCH" --server "127.0.0.1:${PORTS[$i]}" "${args[@]}" \
      --prefill --requests 1 --quiet --json >"$WORK/prefill.json" ||
      die "prefill of ${NAMES[$i]} failed"
    errors=$(json_field "$WORK/prefill.json" prefill_errors)
    [[ $errors == 0 ]] || echo "# warning: $errors prefill errors on ${NAMES[$i]}" >&2
  done
  for round in $(seq 1 "$ROUNDS"); do
    for i in 0 1; do  # A then B, every round
      out=$WORK/$scenario-${NAMES[$i]}-$round.json
      "${LOAD_PIN[@]}" "$KIOKU_BENCH" --server "127.0.0.1:${PORTS[$i]}" "${args[@]}" "${rate[@]}" \
        --duration "$DURATION" --warmup "$WARMUP" --seed "$round" --quiet --json >"$out" ||
        die "$scenario round $round on ${NAMES[$i]} failed"
      ops=$(json_field "$out" ops_per_sec)
      p99=$(json_field "$out" p99)
      errs=$(json_field "$out" total)
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "${NAMES[$i]}" "$round" "$ops" "$p99" "$errs" >>"$RESULTS"
      printf '# %-18s round %d %-9s %12.0f ops/s  p99 %8.1f us  errors %s\n' \
        "$scenario" "$round" "${NAMES[$i]}" "$ops" "$p99" "$errs" >&2
    done
  done
  for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || die "a server died during $scenario"; done
done

# Summary: medians per scenario and server, ratios kiokud / memcached.
SUMMARY=$WORK/summary.tsv
: >"$SUMMARY"
for scenario in $SCENARIOS; do
  row=("$scenario")
  for name in "${NAMES[@]}"; do
    row+=("$(awk -F'\t' -v s="$scenario" -v n="$name" '$1 == s && $2 == n { print $4 }' "$RESULTS" | median)")
    row+=("$(awk -F'\t' -v s="$scenario" -v n="$name" '$1 == s && $2 == n { print $5 }' "$RESULTS" | median)")
    row+=("$(awk -F'\t' -v s="$scenario" -v n="$name" '$1 == s && $2 == n { e += $6 } END { print e + 0 }' "$RESULTS")")
  done
  (IFS=$'\t'; echo "${row[*]}") >>"$SUMMARY"
done

echo
awk -F'\t' 'BEGIN {
    printf "%-18s %14s %14s %8s %12s %12s %8s %8s\n", "scenario", "kiokud ops/s", "memcd ops/s",
           "ratio", "kiokud p99", "memcd p99", "ratio", "errors"
  }
  { r1 = ($5 > 0) ? $2 / $5 : 0; r2 = ($6 > 0) ? $3 / $6 : 0
    printf "%-18s %14.0f %14.0f %8.3f %10.1fus %10.1fus %8.3f %8d\n", $1, $2, $5, r1, $3, $6, r2, $4 + $7 }' "$SUMMARY"
echo
echo "| scenario | kiokud ops/s | memcached ops/s | ops ratio | kiokud p99 (us) | memcached p99 (us) | p99 ratio | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '{ r1 = ($5 > 0) ? $2 / $5 : 0; r2 = ($6 > 0) ? $3 / $6 : 0
    printf "| %s | %.0f | %.0f | %.3f | %.1f | %.1f | %.3f | %d |\n", $1, $2, $5, r1, $3, $6, r2, $4 + $7 }' "$SUMMARY"
echo
echo "Medians of $ROUNDS alternating rounds of ${DURATION}s; ratio = kiokud / memcached (ops: higher is better, p99: lower is better)."
