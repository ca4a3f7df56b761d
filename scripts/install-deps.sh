#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages Hypercore builds and tests with; only those missing.
# --fuzz adds clang and its libFuzzer runtime (`make fuzz`); `make test` runs
# the fuzz smoke only where they are already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libcaf-dev liblmdb-dev libsimdjson-dev nlohmann-json3-dev libspdlog-dev
  prometheus-cpp-dev catch2 libcli11-dev libcpp-httplib-dev libvalijson-dev
  libssl-dev zlib1g-dev
  libboost1.81-dev
  # The Prometheus server and promtool: the monitoring test scrapes a real
  # server with deploy/prometheus.yml and checks the shipped rules.
  prometheus
)
# clang 14 (Debian 12's default) compiles our C++20 against libstdc++ 12;
# libclang-rt-14-dev holds libFuzzer and the sanitizer runtimes.
fuzz_packages=(clang-14 libclang-rt-14-dev)

if [ "${1:-}" = "--fuzz" ]; then
  packages+=("${fuzz_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
