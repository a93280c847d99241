#!/usr/bin/env bash
# scripts/engine_bench.sh — memory-engine benchmarks (items per MB, RSS after fill, Zipf
# look-aside hit ratio, proactive expiry), kiokud against memcached 1.6.18 side by side.
# Builds nothing: expects build/daemon/kiokud (override with KIOKUD, MEMCACHED). Arguments
# pick scenarios: items zipf expiry (default all). See scripts/engine_bench.py.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec /usr/bin/python3 "$ROOT/scripts/engine_bench.py" "$@"
