#!/usr/bin/env bash
# Installs everything building and testing Kioku needs on a fresh Debian 12.
# Fast path: when dpkg already reports every package installed, apt is not touched.
set -euo pipefail

# Usage: deps.sh [--build-only]
# --build-only installs just what building kiokud needs (scripts/start.sh uses it): the test
# tools include Debian's memcached, whose service would otherwise compete for port 11211.
packages=(
  cmake ninja-build g++ pkg-config
  libevent-dev libjemalloc-dev libcli11-dev catch2 libsasl2-dev libssl-dev
  libsystemd-dev
)
if [[ "${1:-}" != "--build-only" ]]; then
  packages+=(memcached libmemcached-tools libmemcached-dev nutcracker python3 python3-pymemcache
            python3-pylibmc systemd mandoc python3-prometheus-client sasl2-bin libsasl2-modules)
  # Fuzzing (scripts/test.sh): clang with its libFuzzer runtime.
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "deps.sh: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"

# Debian starts memcached as a service on install; the tests start their own
# servers on free ports, so the system one is not needed (and is left alone).
