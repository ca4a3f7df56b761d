// SPDX-License-Identifier: Apache-2.0
#pragma once

// job_metrics: the engine's Prometheus metrics. The job counters and the
// wait and run histograms are fed by a subscription to the commit feed, so
// they count durable transitions only, and nothing is added to the per-job
// path. The queue depths (waiting jobs per kind and partition, dead letters
// per kind) are counted once from a store snapshot (engine::backlog) and
// then follow the feed from that snapshot's position. The other gauges
// (agents, the journal, the process) are read at scrape time from
// engine::stats() and /proc.
//
// Labels stay bounded: `kind` is a registered kind (a stored job of a kind
// no longer registered counts as "unregistered"), and `retryable` is
// "true" or "false". Never an id, key or session.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>

namespace prometheus {
struct MetricFamily;
}

namespace hypercore {
class engine;
}

namespace hypercore::telemetry {

class job_metrics {
public:
  explicit job_metrics(engine& eng);
  ~job_metrics();
  job_metrics(const job_metrics&) = delete;
  job_metrics& operator=(const job_metrics&) = delete;

  /// Counts the store's backlog, then subscribes to the feed from that
  /// snapshot on; the engine must be running. Errors: those of
  /// engine::backlog and engine::subscribe.
  caf::error start();
  /// Unsubscribes; the counters keep their values.
  void stop();

  /// Every family: the feed-fed ones and the scrape-time gauges.
  std::vector<prometheus::MetricFamily> collect();

  /// CPU time spent counting transitions so far, on the counting thread.
  double cpu_seconds() const;

  /// The feed position of the last transition counted (0: none yet).
  std::uint64_t seen_position() const;
  /// Waits until the transitions below `position` are counted; false at
  /// the timeout. For tests and for a scrape that must see a known commit.
  bool wait_seen(std::uint64_t position, std::chrono::milliseconds timeout) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The families in Prometheus' text exposition format (version 0.0.4).
std::string to_text(const std::vector<prometheus::MetricFamily>& families);

} // namespace hypercore::telemetry
