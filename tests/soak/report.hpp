// SPDX-License-Identifier: Apache-2.0
#pragma once

// The soak's output: one block of totals (the figures docs/RELIABILITY.md
// quotes), one example job per kind of violation, and every violation as a
// JSON line in a file for whoever fixes them.

#include <chrono>
#include <ostream>
#include <string>

#include "checker.hpp"
#include "clients.hpp"
#include "crash_loop.hpp"

namespace hypercore::soak {

struct run_summary {
  std::uint64_t seed = 0;
  int threads = 0;
  std::uint64_t target_jobs = 0;
  std::string work_dir;
  std::chrono::milliseconds elapsed{0};
  bool strict_history = true;
  bool shutdown_overran = false;
};

/// Prints the totals and one example per violation kind.
void print_report(std::ostream& out, const run_summary& run, const crash_stats& crashes,
                  const submit_log& log, const check_report& checks);

/// Writes every violation as one JSON line; returns false if it could not.
bool write_violations(const std::string& path, const check_report& checks);

/// True when nothing that must hold was broken (history only when strict).
bool passed(const crash_stats& crashes, const submit_log& log, const check_report& checks,
            bool strict_history);

} // namespace hypercore::soak
