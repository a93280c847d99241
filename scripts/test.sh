#!/usr/bin/env bash
# Installs dependencies, builds Kioku with warnings as errors and runs every
# test (unit, integration, compat) through CTest; then the same suite under
# ASan+UBSan, the concurrency tests under TSan, and each libFuzzer target for a
# short bounded time (when clang has libFuzzer). Exits non-zero if any failed.
#
# KIOKU_TEST_QUICK=1 runs only the plain build and suite.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
status=0
section() { printf '\n== %s (%ds elapsed)\n' "$1" "$SECONDS"; }

section "release build, full suite"
cmake -S . -B build -G Ninja -DKIOKU_WERROR=ON
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j2 || status=$?

if [[ "${KIOKU_TEST_QUICK:-0}" == "1" ]]; then
  exit "$status"
fi

# Sanitizer reports fail the test that triggered them: a sanitized kiokud exits non-zero and
# the integration harness checks its exit status; unit tests abort. RSS bounds in the
# robustness test are not checked under sanitizers (their shadow memory is not ours).
export KIOKU_SANITIZED=1
export ASAN_OPTIONS=abort_on_error=0:halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# Sanitizer builds are Debug (-O0): with -O2, GCC spends over ten minutes on Catch2's main
# under ASan+UBSan alone, and the suite is I/O-bound anyway.
section "ASan+UBSan build, full suite"
cmake -S . -B build-asan -G Ninja -DKIOKU_WERROR=ON -DKIOKU_SANITIZE=address,undefined \
  -DCMAKE_BUILD_TYPE=Debug
cmake --build build-asan -j "$jobs"
ctest --test-dir build-asan --output-on-failure -j2 || status=$?

section "TSan build, concurrency tests"
cmake -S . -B build-tsan -G Ninja -DKIOKU_WERROR=ON -DKIOKU_SANITIZE=thread \
  -DCMAKE_BUILD_TYPE=Debug
cmake --build build-tsan -j "$jobs" --target kiokud slab_tests
ctest --test-dir build-tsan --output-on-failure -j2 \
  -R '^(slab:.*|integration: test_(concurrency|connections|tls))$' \
  || status=$?

section "libFuzzer targets"
probe=$(mktemp -d)
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  > "$probe/probe.cc"
if command -v clang++ >/dev/null &&
   clang++ -fsanitize=fuzzer "$probe/probe.cc" -o "$probe/probe" 2>/dev/null; then
  CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DKIOKU_FUZZ=ON \
    -DKIOKU_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build build-fuzz -j "$jobs" --target text_parser_fuzz meta_parser_fuzz \
    binary_parser_fuzz connection_fuzz tls_connection_fuzz
  ctest --test-dir build-fuzz --output-on-failure -j2 -R '^fuzz: ' || status=$?
else
  echo "clang++ with libFuzzer not found: fuzz targets skipped"
fi
rm -rf "$probe"

section "done, status $status"
exit "$status"
