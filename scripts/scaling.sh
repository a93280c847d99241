#!/usr/bin/env bash
# scripts/scaling.sh - kiokud against memcached at several worker-thread counts (issue 5's
# scaling table), meant for a many-core machine; prints a plain and a Markdown table.
#
# For each thread count T in THREADS both servers run with "-t T -m 1024 -U 0 -l 127.0.0.1",
# pinned to CPUs 0..T-1; the load (kioku-bench, LOAD_THREADS threads but no more than the CPUs
# left) is pinned to the CPUs after them. Each workload is prefilled, then run ROUNDS times,
# kiokud and memcached alternating, DURATION seconds each after a WARMUP. Reported per run: ops/s,
# p99, and the server's CPU use in cores (user + system time over the run / its length), which
# says whether the server (cores = T) or the load limited the run. Scaling = ops/s at T / ops/s
# at the smallest T, times that T.
#
# Builds nothing: KIOKUD, KIOKU_BENCH, MEMCACHED as in scripts/bench.sh (or the wrappers made by
# scripts/bundle.sh on a machine without the build).
#
# Environment:
#   THREADS      worker-thread counts (default "1 2 4 8 12")
#   WORKLOADS    subset of: get90-32B-p1 get90-32B-p16 set90-32B-p1 set90-32B-p16
#                (default "get90-32B-p1 get90-32B-p16 set90-32B-p16")
#   CONNECTIONS  load connections (default 200)   LOAD_THREADS  most load threads (default 8)
#   ROUNDS (default 1)   DURATION seconds (default 4)   WARMUP seconds (default 1)
#   KEYS key space (default 100000)                     KEEP_JSON  directory for raw JSON
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIOKUD=${KIOKUD:-$ROOT/build/daemon/kiokud}
KIOKU_BENCH=${KIOKU_BENCH:-$ROOT/build/client/kioku-bench}
MEMCACHED=${MEMCACHED:-/usr/bin/memcached}
TASKSET=${TASKSET:-$(command -v taskset || true)}
THREADS=${THREADS:-1 2 4 8 12}
WORKLOADS=${WORKLOADS:-get90-32B-p1 get90-32B-p16 set90-32B-p16}
CONNECTIONS=${CONNECTIONS:-200}
LOAD_THREADS=${LOAD_THREADS:-8}
ROUNDS=${ROUNDS:-1}
DURATION=${DURATION:-4}
WARMUP=${WARMUP:-1}
KEYS=${KEYS:-100000}
CPUS=$(nproc)

die() { echo "scaling.sh: $*" >&2; exit 1; }
for bin in "$KIOKUD" "$KIOKU_BENCH" "$MEMCACHED"; do
  [[ -x $bin ]] || die "not executable: $bin"
done
[[ -n $TASKSET ]] || die "taskset not found (set TASKSET)"

# shellcheck source=scripts/bench_common.sh
source "$ROOT/scripts/bench_common.sh"
WORK=$(mktemp -d)
chmod 755 "$WORK"
cleanup() { stop_servers; [[ -n ${KEEP_JSON:-} ]] || rm -rf "$WORK"; }
trap cleanup EXIT

workload_args() {
  case $1 in
    get90-32B-p1)  echo "--ratio 90:10 --value-size 32 --pipeline 1" ;;
    get90-32B-p16) echo "--ratio 90:10 --value-size 32 --pipeline 16" ;;
    set90-32B-p1)  echo "--ratio 10:90 --value-size 32 --pipeline 1" ;;
    set90-32B-p16) echo "--ratio 10:90 --value-size 32 --pipeline 16" ;;
    *) die "unknown workload '$1'" ;;
  esac
}

NAMES=(kiokud memcached)
BINS=("$KIOKUD" "$MEMCACHED")
RESULTS=$WORK/results.tsv
: >"$RESULTS"
echo "# $CPUS CPUs; $(uname -r); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" >&2
echo "# threads: $THREADS; workloads: $WORKLOADS; $CONNECTIONS connections; $ROUNDS x ${DURATION}s (+${WARMUP}s)" >&2

for t in $THREADS; do
  (( t < CPUS )) || die "-t $t leaves no CPU for the load ($CPUS CPUs)"
  load_threads=$(( CPUS - t < LOAD_THREADS ? CPUS - t : LOAD_THREADS ))
  server_cpus="0-$((t - 1))"
  load_cpus="$t-$((t + load_threads - 1))"
  args=(-t "$t" -m 1024 -U 0 -l 127.0.0.1 -c 4096)
  if (( EUID == 0 )); then
    if id nobody >/dev/null 2>&1; then args+=(-u nobody); else args+=(-u root); fi
  fi
  PORTS=()
  for i in 0 1; do
    free_port
    port=$FREE_PORT
    "$TASKSET" -c "$server_cpus" "${BINS[$i]}" "${args[@]}" -p "$port" >>"$WORK/${NAMES[$i]}.log" 2>&1 &
    PIDS+=($!)
    wait_for_port "$port" "$!" "$WORK/${NAMES[$i]}.log"
    PORTS+=("$port")
  done
  echo "# -t $t: servers on CPUs $server_cpus, $load_threads load threads on CPUs $load_cpus" >&2
  for w in $WORKLOADS; do
    # shellcheck disable=SC2207
    wargs=($(workload_args "$w"))
    for i in 0 1; do
      "$TASKSET" -c "$load_cpus" "$KIOKU_BENCH" -q -s "127.0.0.1:${PORTS[$i]}" -t "$load_threads" \
        -c "$CONNECTIONS" -k "$KEYS" "${wargs[@]}" --prefill -n 1 >/dev/null
    done
    for r in $(seq "$ROUNDS"); do
      for i in 0 1; do
        out="$WORK/$t-$w-${NAMES[$i]}-$r.json"
        before=$(cpu_ticks "${PIDS[$i]}")
        start=$(date +%s.%N)
        "$TASKSET" -c "$load_cpus" "$KIOKU_BENCH" -q --json -s "127.0.0.1:${PORTS[$i]}" \
          -t "$load_threads" -c "$CONNECTIONS" -k "$KEYS" "${wargs[@]}" -w "$WARMUP" -D "$DURATION" >"$out"
        end=$(date +%s.%N)
        after=$(cpu_ticks "${PIDS[$i]}")
        ops=$(printf '%.0f' "$(json_field "$out" ops_per_sec)")
        p99=$(json_field "$out" p99)
        errs=$(json_field "$out" total)
        cores=$(awk -v a="$before" -v b="$after" -v s="$start" -v e="$end" -v hz="$CLK_TCK" \
          'BEGIN { printf "%.2f", (b - a) / hz / (e - s) }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$w" "${NAMES[$i]}" "$r" "$ops" "$p99" "$cores" "$errs" >>"$RESULTS"
        printf '# -t %-2s %-14s %-9s round %s: %10s ops/s  p99 %9s us  server %5s cores  errors %s\n' \
          "$t" "$w" "${NAMES[$i]}" "$r" "$ops" "$p99" "$cores" "$errs" >&2
      done
    done
  done
  stop_servers
done
if [[ -n ${KEEP_JSON:-} ]]; then mkdir -p "$KEEP_JSON" && cp "$WORK"/*.json "$RESULTS" "$KEEP_JSON"/; fi

# Medians per (threads, workload, server); scaling against the first thread count.
python3 - "$RESULTS" "$THREADS" "$WORKLOADS" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
threads = [int(t) for t in sys.argv[2].split()]
workloads = sys.argv[3].split()
def med(t, w, name, col):
    v = [float(r[col]) for r in rows if int(r[0]) == t and r[1] == w and r[2] == name]
    return statistics.median(v) if v else float("nan")
print("| workload | -t | kiokud ops/s | memcached ops/s | ratio | kiokud scaling | memcached scaling | kiokud p99 (us) | memcached p99 (us) | kiokud cores used | memcached cores used | errors |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for w in workloads:
    base = {n: med(threads[0], w, n, 4) / threads[0] for n in ("kiokud", "memcached")}
    for t in threads:
        k, m = med(t, w, "kiokud", 4), med(t, w, "memcached", 4)
        errs = sum(int(r[7]) for r in rows if int(r[0]) == t and r[1] == w)
        print(f"| {w} | {t} | {k:,.0f} | {m:,.0f} | {k / m:.2f} | {k / base['kiokud']:.2f} | "
              f"{m / base['memcached']:.2f} | {med(t, w, 'kiokud', 5):.0f} | {med(t, w, 'memcached', 5):.0f} | "
              f"{med(t, w, 'kiokud', 6):.2f} | {med(t, w, 'memcached', 6):.2f} | {errs} |")
print()
print("scaling = ops/s at -t N over ops/s per thread at the first -t (linear = N); "
      "cores used = server user+system CPU seconds per second of the run.")
PY
