#!/usr/bin/env bash
# Installs what building Kioku needs, builds it (Release) and runs kiokud in the foreground on
# 127.0.0.1:11211. Extra arguments go to kiokud (e.g. scripts/start.sh -m 1024 -t 4).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh --build-only

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target kiokud

echo "start.sh: kiokud listening on 127.0.0.1:11211 (Ctrl-C stops it)"
exec build/daemon/kiokud -l 127.0.0.1 -p 11211 "$@"
