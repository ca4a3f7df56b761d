// SPDX-License-Identifier: Apache-2.0
#pragma once

// journal: the only writer of LMDB.
// Owns: the write side of the store and each partition's submit sequence.
// Receives: appends from the engine (ticketed: answered in one message per
//   commit), starts and outcomes from partitions,
//   replays from the engine, purges from the janitor.
// Persists: every job transition, in group-committed write transactions,
//   each with its entry in the event log; a sender is answered only after
//   the transaction holding its command committed (and was fsync'd unless
//   sync is off).
// Publishes: after each commit, and only then, one `committed` message with
//   every transition of the transaction, to the feed.
// Fails: MDB_MAP_FULL grows the map and replays the batch; a full disk fails
//   the batch with storage_full, any other LMDB error or exception with
//   storage_unavailable, and the journal stays up: it marks the store
//   unhealthy (journal_health) and probes it with backoff until a commit
//   succeeds again. A command that does not fit the stored state fails alone.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <chrono>
#include <functional>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "hypercore/actors/commit_meter.hpp"
#include "hypercore/core/feed_messages.hpp"
#include "hypercore/core/messages.hpp"
#include "hypercore/persistence/file_preallocator.hpp"
#include "hypercore/persistence/lmdb_env.hpp"

namespace hypercore {

using journal_actor = caf::typed_actor<
  caf::replies_to<append_jobs>::with<append_receipt>,
  /// Answered after its commit in a ticket_answers to journal_options::answers.
  caf::reacts_to<ticketed_append>,
  caf::reacts_to<record_start>,
  caf::replies_to<record_outcome>::with<append_receipt>,
  caf::replies_to<replay_dead>::with<append_receipt>,
  caf::replies_to<purge_jobs>::with<std::uint64_t>,
  caf::replies_to<put_session>::with<session_record>,
  caf::replies_to<delete_sessions>::with<std::uint64_t>,
  /// Answered after committing what is queued, so its reply is also a
  /// barrier: everything sent before is durable.
  caf::replies_to<stats_atom>::with<journal_stats>,
  caf::reacts_to<flush_atom>,
  /// Retries an empty write while the store is failing (see journal_health).
  caf::reacts_to<probe_atom>,
  /// The feed was replaced: publish there from now on.
  caf::reacts_to<feed_atom, caf::actor>>;

/// Whether the last write transaction committed, and how many jobs wait,
/// shared by the journal (the only writer) with the engine's readiness and
/// admission checks. Thread-safe.
class journal_health {
public:
  bool ok() const { return ok_.load(std::memory_order_acquire); }
  /// Why writes fail (empty while ok).
  std::string reason() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return reason_;
  }
  void mark_ok() {
    if (ok()) return;
    std::lock_guard<std::mutex> guard{mutex_};
    reason_.clear();
    ok_.store(true, std::memory_order_release);
  }
  void mark_failed(std::string reason) {
    std::lock_guard<std::mutex> guard{mutex_};
    reason_ = std::move(reason);
    ok_.store(false, std::memory_order_release);
  }

  /// Jobs waiting in the store (pending and scheduled index entries) as of
  /// the last commit, so admission checks its high-water mark with one
  /// atomic load instead of a read transaction per submit.
  std::uint64_t waiting() const { return waiting_.load(std::memory_order_relaxed); }
  void set_waiting(std::uint64_t n) { waiting_.store(n, std::memory_order_relaxed); }

private:
  std::atomic<bool> ok_{true};
  std::atomic<std::uint64_t> waiting_{0};
  mutable std::mutex mutex_;
  std::string reason_;
};

struct journal_options {
  std::uint16_t partitions = 8;
  /// Most commands written in one transaction.
  std::size_t max_batch = 4096;
  /// An idempotency key older than this no longer matches (milliseconds).
  std::int64_t idempotency_ttl_ms = 24LL * 3600 * 1000;
  /// Where the journal reports whether writes succeed; may be null.
  std::shared_ptr<journal_health> health;
  /// Where each commit's duration and size are recorded; may be null.
  std::shared_ptr<commit_meter> meter;
  /// First and longest pause between probes of a failing store.
  std::chrono::milliseconds probe_initial{100};
  std::chrono::milliseconds probe_max{std::chrono::seconds(5)};
  /// Where every committed transaction's transitions are published (the
  /// feed actor); may be null (then nothing is published).
  caf::actor feed;
  /// Where ticketed appends are answered, once per commit (the engine's
  /// submit answerer); may be null (then they are written unanswered).
  caf::actor answers;
  /// Transitions kept in the event log for subscribers that fell behind and
  /// for resuming streams; 0 keeps none (positions still advance).
  std::size_t event_log_capacity = 1'000'000;
  /// How far data.mdb is kept written ahead of the pages in use (between
  /// commits, by the journal's thread); ahead_bytes 0: off.
  persistence::preallocate_options preallocate;
  /// Milliseconds since the epoch for the rules' "now" (idempotency TTL,
  /// replays, session liveness); empty: the system clock.
  std::function<std::int64_t()> clock;
  /// Test seam: when set, called inside every write transaction before it
  /// commits; a non-zero return is treated as that LMDB/errno code.
  std::function<int()> inject_write_error;
};

/// Spawns the journal on its own thread (detached): commits block on fsync
/// and an LMDB write transaction must begin and end on one thread.
journal_actor spawn_journal(caf::actor_system& sys,
                            std::shared_ptr<persistence::lmdb_env> env,
                            journal_options opts);

} // namespace hypercore
