// SPDX-License-Identifier: Apache-2.0
#pragma once

// http_metrics: requests by route template and status code, and their
// latency by route, for GET /metrics. The label values are bounded: the
// routes' patterns (never a path with an id in it), "unmatched", and the
// status codes the API answers with.

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

namespace hypercore::http {

class http_metrics {
public:
  /// One slot per route template (index i is `patterns[i]`), and one more
  /// for requests no route matched (index patterns.size()).
  explicit http_metrics(const std::vector<std::string>& patterns);

  std::size_t unmatched() const { return routes_.size() - 1; }
  /// Counts one answered request; any thread.
  void observe(std::size_t route, int status, double seconds);
  std::vector<prometheus::MetricFamily> collect() const;

private:
  // Status codes 100-599 index a fixed table, so counting a request reads
  // one atomic; the lock is taken once per (route, code), to create it.
  static constexpr int lowest_code = 100;
  static constexpr int highest_code = 599;
  struct per_route {
    std::string pattern;
    prometheus::Histogram* latency = nullptr;
    std::mutex create;
    std::array<std::atomic<prometheus::Counter*>, highest_code - lowest_code + 1> by_code{};
  };
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  std::vector<std::unique_ptr<per_route>> routes_;
};

} // namespace hypercore::http
