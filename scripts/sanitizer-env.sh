#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs a command (ctest, or one test binary of build-asan) with the options
# `make test-asan` uses: stop at the first ASan or UBSan report, with a stack;
# leaks are reported; tests/sanitizers/*.supp name the third-party reports
# left out, each with its reason.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$root/tests/sanitizers/ubsan.supp}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0}"
exec "$@"
