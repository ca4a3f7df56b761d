// SPDX-License-Identifier: Apache-2.0
#pragma once

// commit_meter: how long the journal's write transactions take and how many
// commands each holds, as fixed-bucket histograms of relaxed atomics. The
// journal records once per commit, on its own thread: two atomic adds per
// bucket array, no lock, no allocation. Scrapes read it from any thread (a
// read may see one commit half-recorded; a monitoring figure may).

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hypercore {

class commit_meter {
public:
  /// Upper bounds, in seconds, of the commit-time buckets (+Inf implied).
  static constexpr std::array<double, 14> seconds_bounds{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};
  /// Upper bounds of the commands-per-commit buckets (+Inf implied).
  static constexpr std::array<double, 13> records_bounds{1,   2,   4,    8,    16,   32,  64,
                                                         128, 256, 512, 1024, 2048, 4096};

  struct histogram {
    /// Per bucket (bounds, then +Inf), not cumulative.
    std::vector<std::uint64_t> counts;
    double sum = 0;
    std::uint64_t count = 0;
  };

  void record(std::chrono::nanoseconds took, std::size_t records) {
    auto seconds = std::chrono::duration<double>(took).count();
    add(seconds_, seconds_bounds, seconds);
    seconds_sum_ns_.fetch_add(static_cast<std::uint64_t>(took.count()), std::memory_order_relaxed);
    add(records_, records_bounds, static_cast<double>(records));
    records_sum_.fetch_add(records, std::memory_order_relaxed);
  }

  histogram seconds() const {
    auto h = read(seconds_);
    h.sum = static_cast<double>(seconds_sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return h;
  }
  histogram records() const {
    auto h = read(records_);
    h.sum = static_cast<double>(records_sum_.load(std::memory_order_relaxed));
    return h;
  }

private:
  template <std::size_t N>
  static void add(std::array<std::atomic<std::uint64_t>, N + 1>& buckets,
                  const std::array<double, N>& bounds, double value) {
    std::size_t i = 0;
    while (i < N && value > bounds[i]) ++i;
    buckets[i].fetch_add(1, std::memory_order_relaxed);
  }
  template <std::size_t M>
  static histogram read(const std::array<std::atomic<std::uint64_t>, M>& buckets) {
    histogram h;
    for (const auto& b : buckets) {
      h.counts.push_back(b.load(std::memory_order_relaxed));
      h.count += h.counts.back();
    }
    return h;
  }

  std::array<std::atomic<std::uint64_t>, seconds_bounds.size() + 1> seconds_{};
  std::atomic<std::uint64_t> seconds_sum_ns_{0};
  std::array<std::atomic<std::uint64_t>, records_bounds.size() + 1> records_{};
  std::atomic<std::uint64_t> records_sum_{0};
};

} // namespace hypercore
