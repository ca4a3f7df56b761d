#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets in build-fuzz (clang, ASan, UBSan) and runs
# each over its seed corpus in tests/fuzz/corpus/<target>, then prints one
# line per target. `make fuzz` runs FUZZ_SECONDS (60) each; --smoke (the
# fuzz_smoke ctest of `make test`) runs FUZZ_SMOKE_SECONDS (5) each and exits
# 77, which ctest reports as skipped, when clang++ cannot link libFuzzer.
# Crashes land in build-fuzz/artifacts/; new inputs in build-fuzz/corpus/
# (the committed seeds are only read).
set -uo pipefail
cd "$(dirname "$0")/.."

smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; fi
# The version install-deps.sh --fuzz installs, with its libFuzzer runtime.
cxx="${FUZZ_CXX:-$(command -v clang++-14 || command -v clang++ || echo clang++)}"
build="${FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${JOBS:-2}"
targets=(submit_body batch_body json_body query_string job_record serve_config)
if [ "$smoke" -eq 1 ]; then seconds="${FUZZ_SMOKE_SECONDS:-5}"; else seconds="${FUZZ_SECONDS:-60}"; fi

# Probe the toolchain the way the targets use it, so a missing compiler-rt
# fuzzer library is a skip, not a build failure.
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$probe_dir/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" \
  >"$probe_dir/log" 2>&1; then
  echo "fuzz: SKIPPED: '$cxx -fsanitize=fuzzer' does not work here (install clang and"
  echo "fuzz: libclang-rt-14-dev: scripts/install-deps.sh --fuzz, or run make fuzz)."
  sed 's/^/fuzz:   /' "$probe_dir/log" | head -5
  if [ "$smoke" -eq 1 ]; then exit 77; fi
  exit 1
fi

mkdir -p "$build"
started=$(date +%s)
if ! { cmake -S . -B "$build" -DHYPERCORE_FUZZ=ON -DCMAKE_CXX_COMPILER="$cxx" \
         -DCMAKE_BUILD_TYPE=Debug \
       && cmake --build "$build" --target fuzz_all -j"$jobs"; } >"$build/build.log" 2>&1; then
  echo "fuzz: the build failed; the end of $build/build.log:"
  tail -40 "$build/build.log"
  exit 1
fi
echo "fuzz: built in $(( $(date +%s) - started )) s; running each target ${seconds} s"

# A leak report at exit is a failure too; UBSan is built to stop at its
# first report (-fno-sanitize-recover).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
summary=()
mkdir -p "$build/artifacts"
for t in "${targets[@]}"; do
  seeds="tests/fuzz/corpus/$t"
  if [ "$smoke" -eq 1 ]; then
    work="$probe_dir/corpus-$t"
  else
    work="$build/corpus/$t"
  fi
  mkdir -p "$work"
  log="$build/fuzz_$t.log"
  "$build/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
    "$work" "$seeds" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  if [ "$rc" -eq 0 ]; then
    result="ok"
  else
    result="FAILED (exit $rc, see $log)"
    failed=1
    echo "fuzz: $t failed; the end of $log:"
    grep -v '^#' "$log" | tail -40
  fi
  summary+=("$(printf '%-14s %10s runs %8s exec/s  cov %6s  %s' "$t" "${runs:-?}" "${rate:-?}" \
    "${cov:-?}" "$result")")
done

echo "fuzz: summary (${seconds} s per target)"
printf 'fuzz:   %s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: crashing inputs are in $build/artifacts/ (reproduce: $build/bin/fuzz_<target> <file>)"
  exit 1
fi
