// SPDX-License-Identifier: Apache-2.0
#pragma once

// Shared pieces of hypercore-bench: samples, summaries, the results file
// shape (bench/README.md) and small helpers for timing and memory.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <malloc.h>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hypercore::bench {

using clock_type = std::chrono::steady_clock;

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
    .count();
}

/// One figure of the results file: median, min and max over runs.
struct figure {
  std::string system;
  std::string workload;
  bool durable = true;
  std::string metric;
  std::vector<double> samples;

  nlohmann::json to_json() const {
    auto sorted = samples;
    std::sort(sorted.begin(), sorted.end());
    double median = sorted.empty() ? 0.0 : sorted[sorted.size() / 2];
    if (!sorted.empty() && sorted.size() % 2 == 0)
      median = (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2.0;
    return {{"system", system},
            {"workload", workload},
            {"durable", durable},
            {"metric", metric},
            {"median", median},
            {"min", sorted.empty() ? 0.0 : sorted.front()},
            {"max", sorted.empty() ? 0.0 : sorted.back()},
            {"runs", sorted.size()}};
  }
};

/// Percentile (0..100) of unsorted latencies in nanoseconds, as milliseconds.
inline double percentile_ms(std::vector<std::int64_t> values, double pct) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(pct / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return static_cast<double>(values[std::min(rank, values.size() - 1)]) / 1e6;
}

/// Anonymous resident memory of this process (heap, stacks), not LMDB's map.
inline std::size_t anon_rss_bytes() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("RssAnon:", 0) == 0) return std::stoull(line.substr(8)) * 1024;
  return 0;
}

/// Bytes the allocator has handed out and not taken back (every arena, and
/// chunks it mapped on its own): unlike RSS it does not move with freed
/// memory the allocator keeps, so two runs of one binary agree.
inline std::size_t heap_bytes_in_use() {
  auto info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

/// Options every workload sees.
struct bench_options {
  std::size_t jobs = 100'000;
  std::size_t runs = 3;
  std::size_t recovery_jobs = 1'000'000;
  std::size_t chains = 10'000;
  std::chrono::seconds latency_window{5};
  std::string scratch_dir = "/tmp";
  bool smoke = false;
  /// engine_config::event_log_capacity (0: the durable event log off).
  std::size_t event_log_capacity = 1'000'000;
  /// engine_config::preallocate_bytes, in MiB (0: off), to measure what it buys.
  std::size_t preallocate_mb = 16;
};

} // namespace hypercore::bench
