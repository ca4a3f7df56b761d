// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "hypercore/core/job_id.hpp"
#include "hypercore/core/status.hpp"

namespace hypercore {

/// Everything an engine can be told at start. Defaults are the documented
/// ones (README, docs/ARCHITECTURE.md).
struct engine_config {
  std::string data_dir = "./data";
  std::uint16_t partitions = 8;
  /// Jobs each partition holds in memory; the rest wait in LMDB.
  std::size_t partition_window = 1024;
  /// fsync every commit. Off only for benchmarks: a crash may lose acks.
  bool sync = true;
  std::size_t initial_map_bytes = std::size_t{256} << 20;
  /// data.mdb is kept written (with zeros) this far past the pages in use,
  /// so commits overwrite blocks instead of growing the file, which on ext4
  /// costs each such fdatasync a write of the file's size and blocks
  /// (persistence/file_preallocator.hpp). On ext4 only; 0 turns it off; so
  /// does sync off.
  std::size_t preallocate_bytes = std::size_t{16} << 20;
  std::size_t max_params_bytes = 1 << 20;
  std::size_t max_json_depth = 64;
  std::size_t max_batch_jobs = 10'000;
  /// Backpressure: submits are refused with errc::overloaded while this many
  /// jobs are not yet terminal (waiting, scheduled or running) in the store.
  /// 0 turns it off.
  std::size_t max_pending_jobs = 5'000'000;
  std::uint32_t max_chain_depth = 32;
  /// Terminal jobs and results are removed this long after they finished.
  std::chrono::milliseconds retention = std::chrono::hours(24 * 7);
  std::chrono::milliseconds janitor_interval = std::chrono::minutes(1);
  std::size_t janitor_batch = 1000;
  /// Scheduler threads for CAF; 0 means one per core minus one (at least
  /// one): the journal and blocking agents run on threads of their own.
  std::size_t scheduler_threads = 0;
  /// Called once a transition to retrying or a terminal status is durable,
  /// from the commit feed, on a thread of its own: a slow callback makes it
  /// fall behind (and catch up from the event log), never the engine's
  /// scheduler, whose only thread on a 2-core machine runs the partitions
  /// (measured: 12,497 vs 11,268 HTTP submits/s without fsync). (For every
  /// transition with all its fields, use engine::subscribe.)
  std::function<void(const job_id&, job_status)> on_transition;
  /// Transitions kept in the event log (docs/STORAGE.md): how far back a
  /// subscriber that fell behind, or a stream that reconnects, can resume.
  /// 0 keeps none: catching up then reports the range as lost.
  std::size_t event_log_capacity = 1'000'000;
  /// Longest any engine call waits for an actor's answer; past it the call
  /// returns errc::timeout. wait() is bounded by its own timeout instead.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  /// Pause before a journal that died is replaced; the engine is not ready
  /// meanwhile and submits fail fast with errc::unavailable.
  std::chrono::milliseconds journal_restart_delay{std::chrono::milliseconds(100)};
  /// Test seam for fault injection: called inside every journal write
  /// transaction before commit; a non-zero errno/LMDB code fails the batch
  /// as that error (ENOSPC: storage_full; EIO: storage_unavailable).
  std::function<int()> inject_write_error;
  /// Wall-clock milliseconds for every decision that depends on the time
  /// (retry run_at, delays, session TTLs, retention, idempotency windows,
  /// restart intensity); empty: the system clock. Tests pass a
  /// manual_clock (core/clock.hpp) and move time instead of sleeping.
  std::function<std::int64_t()> clock;
};

} // namespace hypercore
