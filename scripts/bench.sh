#!/usr/bin/env bash
# scripts/bench.sh - kiokud against memcached, same settings, same load, alternating runs.
#
# Builds nothing: expects build/daemon/kiokud and build/client/kioku-bench (override with
# KIOKUD, KIOKU_BENCH, MEMCACHED). Each server runs with "-t 1 -m 1024 -U 0 -l 127.0.0.1" on
# its own free port, pinned to CPU 0 while the load is pinned to CPU 1 (when there are at least
# two CPUs). Every scenario prefills both servers, then runs its variants (kiokud, memcached,
# and for some scenarios a baseline of each) one after the other, in reverse order every
# other round, for ROUNDS rounds of DURATION seconds each and reports the median ops/s and p99
# of each server and their ratio (kiokud / memcached), with the server CPU time per request,
# as a plain table and as a Markdown table, then the idle-connection and TLS figures in tables
# of their own.
#
# Environment:
#   SCENARIOS   space-separated subset of the scenarios below (default: all)
#   ROUNDS      rounds per scenario (default 3)          DURATION  seconds per run (default 5)
#   WARMUP      seconds of warmup per run (default 1)    KEYS      key space (default 100000)
#   RATE        ops/s of the fixed-rate latency scenario (default 20000)
#   CONNECTIONS load connections (default 50)            LOAD_THREADS  load threads (default 1)
#   SERVER_ARGS extra arguments for both servers         KEEP_JSON  directory to keep raw JSON
#
# Scenarios (50 connections, 1 load thread, uniform keys, all prefilled; text protocol unless
# named otherwise):
#   get90-32B-p1 get90-32B-p16 set90-32B-p1 set90-32B-p16 get90-1KiB-p1 get90-1KiB-p16
#   latency-32B-rate   (90% gets of 32 B at RATE ops/s, open loop: compare p99, not ops/s)
#   meta-get90-32B-p16 binary-get90-32B-p16   (get90-32B-p16 over the meta / binary protocol)
#   conns-5000idle     (get90-32B-p1 with 5,000 idle connections held open beside the load,
#                       and without them; servers get -c 8192. Reports busy ops/s with idle /
#                       without, and memory per idle connection: the server's VmRSS during the
#                       run with them minus during the run without, over 5,000, first round)
#   tls-get90-32B-p1 tls-get90-32B-p16   (both servers with -Z and a throwaway self-signed
#                       P-256 certificate, plus a notls: listener on which kiokud's plain
#                       ops/s are measured in the same rounds: TLS overhead = TLS / plain)
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
# One load thread: the load is pinned to one CPU, and two threads there take turns in scheduler
# slices, which put 3-4 ms into every p99 (TLS p1: 4.3 ms with two threads, 0.2 ms with one).
LOAD_THREADS=${LOAD_THREADS:-1}
IDLE=5000           # conns-5000idle: idle connections
IDLE_MAX_CONNS=8192 # conns-5000idle: both servers' -c
ALL_SCENARIOS="get90-32B-p1 get90-32B-p16 set90-32B-p1 set90-32B-p16 get90-1KiB-p1 get90-1KiB-p16 latency-32B-rate meta-get90-32B-p16 binary-get90-32B-p16 conns-5000idle tls-get90-32B-p1 tls-get90-32B-p16"
SCENARIOS=${SCENARIOS:-$ALL_SCENARIOS}

die() { echo "bench.sh: $*" >&2; exit 1; }

for bin in "$KIOKUD" "$KIOKU_BENCH" "$MEMCACHED"; do
  [[ -x $bin ]] || die "not executable: $bin (build first, or set KIOKUD / KIOKU_BENCH / MEMCACHED)"
done
for s in $SCENARIOS; do
  [[ " $ALL_SCENARIOS " == *" $s "* ]] || die "unknown scenario '$s' (known: $ALL_SCENARIOS)"
done
if [[ " $SCENARIOS " == *" conns-"* ]]; then
  # Servers and load inherit this; each needs IDLE + CONNECTIONS descriptors and some more.
  want=$((IDLE_MAX_CONNS + 256))
  if (( $(ulimit -n) < want )); then
    ulimit -n "$want" 2>/dev/null || die "conns-5000idle needs ulimit -n >= $want (hard limit: $(ulimit -Hn))"
  fi
fi

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

# shellcheck source=scripts/bench_common.sh
source "$ROOT/scripts/bench_common.sh"

WORK=$(mktemp -d)
chmod 755 "$WORK"  # memcached runs as nobody and reads the TLS files from here
cleanup() {
  stop_servers
  if [[ -n ${KEEP_JSON:-} ]]; then
    mkdir -p "$KEEP_JSON"
    cp "$WORK"/*.json "$KEEP_JSON"/ 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A throwaway certificate for the TLS scenarios (SAN IP 127.0.0.1, so kioku-bench verifies it).
TLS_CERT=$WORK/tls/cert.pem
TLS_KEY=$WORK/tls/key.pem
make_cert() {
  [[ -f $TLS_CERT ]] && return
  mkdir -p "$WORK/tls"
  chmod 755 "$WORK/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$TLS_KEY" -out "$TLS_CERT" >/dev/null 2>&1 || die "openssl could not make a certificate"
  chmod 644 "$TLS_CERT" "$TLS_KEY"
}

# Server pairs: "plain" (COMMON_ARGS), "conns" (plus -c IDLE_MAX_CONNS) and "tls" (plus -Z and
# a notls: listener on PLAIN_PORTS). A scenario whose profile differs from the running pair's
# restarts both servers.
NAMES=(kiokud memcached)
BINS=("$KIOKUD" "$MEMCACHED")
PORTS=()
PLAIN_PORTS=()
PROFILE=""
start_servers() {
  local profile=$1 i port plain extra
  [[ $profile == "$PROFILE" ]] && return
  stop_servers
  PORTS=()
  PLAIN_PORTS=()
  for i in 0 1; do
    free_port
    port=$FREE_PORT
    extra=()
    plain=$port
    case $profile in
      conns) extra=(-c "$IDLE_MAX_CONNS") ;;
      tls)
        make_cert
        free_port
        plain=$FREE_PORT
        extra=(-Z -o "ssl_chain_cert=$TLS_CERT,ssl_key=$TLS_KEY" -l "notls:127.0.0.1:$plain") ;;
    esac
    "${SERVER_PIN[@]}" "${BINS[$i]}" "${COMMON_ARGS[@]}" "${extra[@]}" -p "$port" \
      >>"$WORK/${NAMES[$i]}.log" 2>&1 &
    PIDS+=($!)
    wait_for_port "$port" "$!" "$WORK/${NAMES[$i]}.log"
    [[ $plain == "$port" ]] || wait_for_port "$plain" "$!" "$WORK/${NAMES[$i]}.log"
    PORTS+=("$port")
    PLAIN_PORTS+=("$plain")
  done
  PROFILE=$profile
  echo "# $profile servers: kiokud port ${PORTS[0]} (pid ${PIDS[0]}), memcached port ${PORTS[1]} (pid ${PIDS[1]})${extra[*]:+; extra args: ${extra[*]}}" >&2
}
echo "# kiokud: ${BINS[0]}, memcached: ${BINS[1]}" >&2
echo "# server args: ${COMMON_ARGS[*]}; pinning: ${SERVER_PIN[*]:-none} / ${LOAD_PIN[*]:-none}" >&2
echo "# $ROUNDS rounds x ${DURATION}s (+${WARMUP}s warmup), $CONNECTIONS connections, $LOAD_THREADS load threads, $KEYS keys" >&2

scenario_profile() {
  case $1 in
    conns-*) echo conns ;;
    tls-*) echo tls ;;
    *) echo plain ;;
  esac
}

scenario_args() {
  local common=(--threads "$LOAD_THREADS" --connections "$CONNECTIONS" --keys "$KEYS")
  case $1 in
    get90-32B-p1)         echo "${common[*]} --ratio 90:10 --value-size 32 --pipeline 1" ;;
    get90-32B-p16)        echo "${common[*]} --ratio 90:10 --value-size 32 --pipeline 16" ;;
    set90-32B-p1)         echo "${common[*]} --ratio 10:90 --value-size 32 --pipeline 1" ;;
    set90-32B-p16)        echo "${common[*]} --ratio 10:90 --value-size 32 --pipeline 16" ;;
    get90-1KiB-p1)        echo "${common[*]} --ratio 90:10 --value-size 1024 --pipeline 1" ;;
    get90-1KiB-p16)       echo "${common[*]} --ratio 90:10 --value-size 1024 --pipeline 16" ;;
    latency-32B-rate)     echo "${common[*]} --ratio 90:10 --value-size 32 --pipeline 1" ;;
    meta-get90-32B-p16)   echo "${common[*]} --ratio 90:10 --value-size 32 --pipeline 16 --protocol meta" ;;
    binary-get90-32B-p16) echo "${common[*]} --ratio 90:10 --value-size 32 --pipeline 16 --protocol binary" ;;
    conns-5000idle)       echo "${common[*]} --ratio 90:10 --value-size 32 --pipeline 1" ;;
    tls-get90-32B-p1)     echo "${common[*]} --ratio 90:10 --value-size 32 --pipeline 1" ;;
    tls-get90-32B-p16)    echo "${common[*]} --ratio 90:10 --value-size 32 --pipeline 16" ;;
  esac
}

# The measured runs' extra arguments (not used for their prefill).
rate_args() {
  case $1 in
    latency-*) echo "--rate $RATE" ;;
  esac
}

# Each scenario's variants, in the order of odd rounds (even rounds run them in reverse, so
# that neither server always runs first: two copies of one kiokud binary measured 0.966x with
# the first one always first): "kiokud" and "memcached" are the scenario itself (the main
# table compares them); "-noidle" is the same load without the idle connections, "-plain"
# the same load without TLS (through the notls: listener). In
# conns-5000idle the baselines run first so that the first round's memory samples are not
# inflated by what the idle run left behind.
scenario_variants() {
  case $1 in
    conns-*) echo "kiokud-noidle memcached-noidle kiokud memcached" ;;
    tls-*) echo "kiokud memcached kiokud-plain" ;;
    *) echo "kiokud memcached" ;;
  esac
}

# round_variants SCENARIO ROUND: the variants in the order that round runs them.
round_variants() {
  local v i
  read -r -a v <<<"$(scenario_variants "$1")"
  if (( $2 % 2 == 0 )); then
    for ((i = ${#v[@]} - 1; i >= 0; i--)); do printf '%s ' "${v[i]}"; done
  else
    printf '%s ' "${v[@]}"
  fi
}

server_index() { [[ $1 == kiokud* ]] && echo 0 || echo 1; }

# variant_args SCENARIO VARIANT: "PORT extra-args..." for that variant's runs.
variant_args() {
  local scenario=$1 variant=$2 i
  i=$(server_index "$variant")
  case $scenario:$variant in
    conns-*:*-noidle) echo "${PORTS[$i]}" ;;
    conns-*:*)        echo "${PORTS[$i]} --idle-connections $IDLE" ;;
    tls-*:*-plain)    echo "${PLAIN_PORTS[$i]}" ;;
    tls-*:*)          echo "${PORTS[$i]} --tls --tls-ca $TLS_CERT" ;;
    *)                echo "${PORTS[$i]}" ;;
  esac
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# stat_of PORT NAME: one value of a plain-text server's "stats".
stat_of() {
  local port=$1 name=$2 line value=""
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'stats\r\n' >&3
  while IFS= read -r -t 2 line <&3; do
    line=${line%$'\r'}
    [[ $line == END ]] && break
    [[ $line == "STAT $name "* ]] && value=${line#"STAT $name "}
  done
  exec 3<&-
  echo "$value"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }


# sample_rss SERVER_INDEX WANT_CONNECTIONS BENCH_PID: once the server counts WANT connections
# (or the run ends), let the load run half a second more and print the server's VmRSS in KiB.
sample_rss() {
  local i=$1 want=$2 bench=$3 n
  for _ in $(seq 1 600); do
    kill -0 "$bench" 2>/dev/null || break
    n=$(stat_of "${PORTS[$i]}" curr_connections || echo 0)
    (( ${n:-0} >= want )) && break
    sleep 0.1
  done
  sleep 0.5
  kill -0 "$bench" 2>/dev/null || echo "# warning: the run ended before the RSS sample" >&2
  rss_kib "${PIDS[$i]}"
}

RESULTS=$WORK/results.tsv   # scenario variant round ops/s p99 errors server-cpu-us-per-request
MEMORY=$WORK/memory.tsv     # scenario server rss-without-idle rss-with-idle idle-held (KiB)
: >"$RESULTS"
: >"$MEMORY"
for scenario in $SCENARIOS; do
  start_servers "$(scenario_profile "$scenario")"
  read -r -a args <<<"$(scenario_args "$scenario")"
  read -r -a rate <<<"$(rate_args "$scenario")"
  for i in 0 1; do
    # Prefill with this scenario's value size (TLS servers through their plain listener); the
    # one measured request is discarded.
    "${LOAD_PIN[@]}" "$KIOKU_BENCH" --server "127.0.0.1:${PLAIN_PORTS[$i]}" "${args[@]}" \
      --prefill --requests 1 --quiet --json >"$WORK/prefill.json" ||
      die "prefill of ${NAMES[$i]} failed"
    errors=$(json_field "$WORK/prefill.json" prefill_errors)
    [[ $errors == 0 ]] || echo "# warning: $errors prefill errors on ${NAMES[$i]}" >&2
  done
  declare -A rss_none=() rss_idle=() held=()
  for round in $(seq 1 "$ROUNDS"); do
    for variant in $(round_variants "$scenario" "$round"); do
      i=$(server_index "$variant")
      read -r -a target <<<"$(variant_args "$scenario" "$variant")"
      out=$WORK/$scenario-$variant-$round.json
      cpu_before=$(cpu_ticks "${PIDS[$i]}")
      "${LOAD_PIN[@]}" "$KIOKU_BENCH" --server "127.0.0.1:${target[0]}" "${target[@]:1}" \
        "${args[@]}" "${rate[@]}" --duration "$DURATION" --warmup "$WARMUP" --seed "$round" \
        --quiet --json >"$out" &
      bench=$!
      if [[ $scenario == conns-* && $round == 1 ]]; then
        # The server's own stats connection counts too.
        if [[ $variant == *-noidle ]]; then
          rss_none[$i]=$(sample_rss "$i" $((CONNECTIONS + 1)) "$bench")
        else
          rss_idle[$i]=$(sample_rss "$i" $((CONNECTIONS + IDLE + 1)) "$bench")
        fi
      fi
      wait "$bench" || die "$scenario round $round on $variant failed"
      cpu_after=$(cpu_ticks "${PIDS[$i]}")
      ops=$(json_field "$out" ops_per_sec)
      # Server CPU per request: the whole process's CPU time over the run (warmup included, so
      # the request count assumes the warmup ran at the measured rate).
      cpu_us=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$CLK_TCK" -v ops="$ops" -v s="$((DURATION + WARMUP))" \
        'BEGIN { n = ops * s; printf "%.2f", (n > 0) ? t * 1e6 / hz / n : 0 }')
      p99=$(json_field "$out" p99)
      errs=$(json_field "$out" total)
      note=""
      if [[ $scenario == conns-* && $variant != *-noidle ]]; then
        held[$i]=$(json_field "$out" idle_held)
        note="  idle held ${held[$i]}"
        [[ ${held[$i]} == "$IDLE" ]] || echo "# warning: ${NAMES[$i]} held only ${held[$i]} of $IDLE idle connections" >&2
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$variant" "$round" "$ops" "$p99" "$errs" "$cpu_us" >>"$RESULTS"
      printf '# %-20s round %d %-16s %12.0f ops/s  p99 %8.1f us  server CPU %6.2f us/req  errors %s%s\n' \
        "$scenario" "$round" "$variant" "$ops" "$p99" "$cpu_us" "$errs" "$note" >&2
    done
  done
  if [[ $scenario == conns-* ]]; then
    for i in 0 1; do
      printf '%s\t%s\t%s\t%s\t%s\n' "$scenario" "${NAMES[$i]}" "${rss_none[$i]}" "${rss_idle[$i]}" "${held[$i]}" >>"$MEMORY"
      echo "# $scenario ${NAMES[$i]}: VmRSS ${rss_none[$i]} KiB without idle connections, ${rss_idle[$i]} KiB with ${held[$i]}" >&2
    done
  fi
  unset rss_none rss_idle held
  for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || die "a server died during $scenario"; done
done

# med SCENARIO VARIANT COLUMN: the median of a results column (4: ops/s, 5: p99, 7: CPU).
med() {
  awk -F'\t' -v s="$1" -v n="$2" -v c="$3" '$1 == s && $2 == n { print $c }' "$RESULTS" | median
}
# errors_of SCENARIO SERVER: errors in all of that server's variants of the scenario.
errors_of() {
  awk -F'\t' -v s="$1" -v n="$2" '$1 == s && index($2, n) == 1 { e += $6 } END { print e + 0 }' "$RESULTS"
}

# Summary: medians per scenario and server, ratios kiokud / memcached.
SUMMARY=$WORK/summary.tsv
: >"$SUMMARY"
for scenario in $SCENARIOS; do
  row=("$scenario")
  for name in "${NAMES[@]}"; do
    row+=("$(med "$scenario" "$name" 4)" "$(med "$scenario" "$name" 5)" "$(errors_of "$scenario" "$name")")
  done
  row+=("$(med "$scenario" kiokud 7)" "$(med "$scenario" memcached 7)")
  (IFS=$'\t'; echo "${row[*]}") >>"$SUMMARY"
done

echo
awk -F'\t' 'BEGIN {
    printf "%-20s %14s %14s %8s %12s %12s %8s %10s %10s %8s %8s\n", "scenario", "kiokud ops/s",
           "memcd ops/s", "ratio", "kiokud p99", "memcd p99", "ratio", "kiokud cpu", "memcd cpu",
           "ratio", "errors"
  }
  { r1 = ($5 > 0) ? $2 / $5 : 0; r2 = ($6 > 0) ? $3 / $6 : 0; r3 = ($9 > 0) ? $8 / $9 : 0
    printf "%-20s %14.0f %14.0f %8.3f %10.1fus %10.1fus %8.3f %8.2fus %8.2fus %8.3f %8d\n", $1, $2,
           $5, r1, $3, $6, r2, $8, $9, r3, $4 + $7 }' "$SUMMARY"
echo
echo "| scenario | kiokud ops/s | memcached ops/s | ops ratio | kiokud p99 (us) | memcached p99 (us) | p99 ratio | kiokud CPU (us/req) | memcached CPU (us/req) | CPU ratio | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '{ r1 = ($5 > 0) ? $2 / $5 : 0; r2 = ($6 > 0) ? $3 / $6 : 0; r3 = ($9 > 0) ? $8 / $9 : 0
    printf "| %s | %.0f | %.0f | %.3f | %.1f | %.1f | %.3f | %.2f | %.2f | %.3f | %d |\n", $1, $2, $5,
           r1, $3, $6, r2, $8, $9, r3, $4 + $7 }' "$SUMMARY"
echo
echo "Medians of $ROUNDS alternating rounds of ${DURATION}s; ratio = kiokud / memcached (ops: higher is better; p99 and CPU: lower is better). CPU = the server process's user + system time per request over the run (its own /proc/PID/stat), i.e. what a request costs the server whichever side limits throughput."

# Idle connections: busy ops/s with and without them, and server memory per idle connection.
IDLE_SUMMARY=$WORK/idle.tsv  # scenario, then per server: ops with, ops without, bytes per idle
: >"$IDLE_SUMMARY"
for scenario in $SCENARIOS; do
  [[ $scenario == conns-* ]] || continue
  row=("$scenario")
  for name in "${NAMES[@]}"; do
    row+=("$(med "$scenario" "$name" 4)" "$(med "$scenario" "$name-noidle" 4)")
    row+=("$(awk -F'\t' -v s="$scenario" -v n="$name" '$1 == s && $2 == n && $5 > 0 { printf "%.0f", ($4 - $3) * 1024 / $5 }' "$MEMORY")")
  done
  (IFS=$'\t'; echo "${row[*]}") >>"$IDLE_SUMMARY"
done
if [[ -s $IDLE_SUMMARY ]]; then
  echo
  echo "| scenario | kiokud ops/s with idle / without | memcached ops/s with idle / without | kiokud bytes per idle conn | memcached bytes per idle conn | memory ratio kiokud/memcached |"
  echo "|---|---:|---:|---:|---:|---:|"
  awk -F'\t' '{ k = ($3 > 0) ? $2 / $3 : 0; m = ($6 > 0) ? $5 / $6 : 0; r = ($7 > 0) ? $4 / $7 : 0
      printf "| %s | %.0f / %.0f = %.3f | %.0f / %.0f = %.3f | %d | %d | %.3f |\n", $1, $2, $3, k, $5, $6, m, $4, $7, r }' "$IDLE_SUMMARY"
  echo
  echo "Bytes per idle connection = (server VmRSS during the first round with $IDLE idle connections held - during the first round without) / connections held; later rounds are not sampled because freed memory is not necessarily returned to the OS."
fi

# TLS: kiokud and memcached over TLS, and kiokud's TLS overhead against its own plain listener.
TLS_SUMMARY=$WORK/tls.tsv
: >"$TLS_SUMMARY"
for scenario in $SCENARIOS; do
  [[ $scenario == tls-* ]] || continue
  printf '%s\t%s\t%s\t%s\n' "$scenario" "$(med "$scenario" kiokud 4)" "$(med "$scenario" memcached 4)" \
    "$(med "$scenario" kiokud-plain 4)" >>"$TLS_SUMMARY"
done
if [[ -s $TLS_SUMMARY ]]; then
  echo
  echo "| scenario | kiokud TLS ops/s | memcached TLS ops/s | ratio kiokud/memcached | kiokud plain ops/s | kiokud TLS overhead (TLS / plain) |"
  echo "|---|---:|---:|---:|---:|---:|"
  awk -F'\t' '{ r = ($3 > 0) ? $2 / $3 : 0; o = ($4 > 0) ? $2 / $4 : 0
      printf "| %s | %.0f | %.0f | %.3f | %.0f | %.3f |\n", $1, $2, $3, r, $4, o }' "$TLS_SUMMARY"
fi
