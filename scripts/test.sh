#!/usr/bin/env bash
# Installs dependencies, builds Kioku with warnings as errors and runs every
# test (unit, integration, compat) through CTest. Exits with ctest's status.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

cmake -S . -B build -G Ninja -DKIOKU_WERROR=ON
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build build -j "$jobs"

status=0
ctest --test-dir build --output-on-failure -j2 || status=$?
exit "$status"
