// SPDX-License-Identifier: Apache-2.0
#pragma once

// A Hypercore engine set up for measuring: a scratch data directory, the
// bench agents, and completion tracking through engine_config::on_transition
// (so a job counts as done when its terminal write is durable, not when its
// agent returns).

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "bench_support.hpp"
#include "hypercore/engine.hpp"

namespace hypercore::bench {

/// State shared by the bench agents and the transition listener.
struct tracker {
  std::atomic<std::uint64_t> terminal{0};
  std::atomic<std::int64_t> first_run_ns{0};
  std::atomic<bool> release_blockers{false};
  std::mutex mtx;
  std::condition_variable cv;
  /// Jobs whose latency is measured: id -> scheduled send time (ns); filled
  /// by the agent before its outcome is written, read by the listener.
  std::unordered_map<job_id, std::int64_t, job_id_hash> started_at;
  std::vector<std::int64_t> latencies_ns;

  void on_transition(const job_id& id, job_status status);
  /// Blocks until `count` jobs are terminal; false on timeout.
  bool wait_terminal(std::uint64_t count, std::chrono::seconds timeout);
};

class bench_engine {
public:
  /// partitions/window/concurrency as in a default deployment unless given.
  bench_engine(const bench_options& opts, bool sync, std::uint16_t partitions = 8,
               std::size_t window = 1024, std::uint32_t concurrency = 8,
               bool keep_dir = false, std::string dir = {});
  ~bench_engine();

  engine& get() { return *engine_; }
  tracker& track() { return *tracker_; }
  const std::string& dir() const { return dir_; }
  caf::error start();

private:
  std::string dir_;
  bool keep_dir_;
  std::shared_ptr<tracker> tracker_;
  std::unique_ptr<engine> engine_;
};

/// A fresh, unique scratch directory path under opts.scratch_dir.
std::string scratch_path(const bench_options& opts, const std::string& tag);

} // namespace hypercore::bench
