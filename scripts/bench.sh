#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make bench`: Hypercore, its limits and BullMQ in one run; writes
# bench/results/latest.json and latest.svg. Pass --smoke for a quick check.
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=()
[ "${1:-}" = "--smoke" ] && smoke=(--smoke)

bash scripts/install-bench-deps.sh
results=bench/results
scratch=$results/tmp
mkdir -p "$scratch"

scripts/bench-peer-bullmq.sh "$scratch" "${smoke[@]}"
build/bin/hypercore-bench "${smoke[@]}" --scratch "${TMPDIR:-/tmp}" \
  --out "$results/latest.json" --plot-data "$scratch/throughput.dat" \
  --peer "$scratch/bullmq-always.json" --peer "$scratch/bullmq-everysec.json"
gnuplot -e "datafile='$scratch/throughput.dat'; outfile='$results/latest.svg'" bench/plot.gp
echo "chart written to $results/latest.svg"
