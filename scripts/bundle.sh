#!/usr/bin/env bash
# scripts/bundle.sh DIR - a self-contained copy of kiokud, kioku-bench and memcached for another
# Linux x86-64 machine (the lent 16-core machine for scaling runs), whatever its distribution.
#
# Each program goes to DIR/bin with every shared library it loads (ldd), the dynamic loader and
# libc included, in DIR/lib; DIR/<name> is a wrapper that runs it through that loader with that
# library path, so nothing of the target's /lib is used. The wrapper execs, so the process keeps
# the wrapper's pid (for /proc/PID/stat) and CPU affinity (taskset). taskset goes along too.
# Builds nothing: KIOKUD, KIOKU_BENCH, MEMCACHED as in scripts/bench.sh; EXTRA_BINS, a
# space-separated list of further programs to take along (e.g. /usr/bin/perf).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:?usage: scripts/bundle.sh DIR}
KIOKUD=${KIOKUD:-$ROOT/build/daemon/kiokud}
KIOKU_BENCH=${KIOKU_BENCH:-$ROOT/build/client/kioku-bench}
MEMCACHED=${MEMCACHED:-/usr/bin/memcached}
TASKSET=$(command -v taskset)

mkdir -p "$DIR/bin" "$DIR/lib"
# shellcheck disable=SC2086  # EXTRA_BINS is a list
for bin in "$KIOKUD" "$KIOKU_BENCH" "$MEMCACHED" "$TASKSET" ${EXTRA_BINS:-}; do
  [[ -x $bin ]] || { echo "bundle.sh: not executable: $bin" >&2; exit 1; }
  name=$(basename "$bin")
  cp -L "$bin" "$DIR/bin/$name"
  # "libfoo.so => /path (addr)" and the loader's "/lib64/ld-linux-x86-64.so.2 (addr)".
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    while read -r lib; do cp -L "$lib" "$DIR/lib/"; done
  cat > "$DIR/$name" <<WRAP
#!/bin/sh
d=\$(cd "\$(dirname "\$0")" && pwd)
exec "\$d/lib/ld-linux-x86-64.so.2" --library-path "\$d/lib" "\$d/bin/$name" "\$@"
WRAP
  chmod 755 "$DIR/$name"
done
chmod -R a+rX "$DIR"
du -sh "$DIR" >&2
