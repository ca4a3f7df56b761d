#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what the peer benchmarks need (redis-server, gnuplot-nox, node/npm)
# and wrk (the outside HTTP load generator of http-single-wrk),
# only what is missing, then the BullMQ peer's npm dependencies.
# Idempotent and non-interactive. Does not start or enable any redis service:
# the bench scripts run their own redis-server on a private loopback port.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(redis-server gnuplot-nox wrk)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-bench-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "install-bench-deps: npm install in bench/peers/bullmq"
cd "$root/bench/peers/bullmq"
npm install --no-audit --no-fund
