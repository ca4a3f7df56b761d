// SPDX-License-Identifier: Apache-2.0
#pragma once

// job_store: the transition rules applied inside one write transaction.
// Each journal command's effect on the tables (docs/STORAGE.md, "Which
// command writes what"), the transitions it made (for the feed and the
// event log), and the seqs and feed positions it handed out. No actors and
// no thread of its own: the journal calls it inside its write transaction
// and keeps only the group-commit mechanics; tests call it directly on a
// real store, with a manual clock (tests/unit/persistence/job_store_test.cpp).
//
// A transaction's worth: begin(), apply() per command, finish(), then
// committed() once mdb_txn_commit returned, or rolled_back() when it did
// not (the next begin() starts again from what is durable).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "hypercore/core/clock.hpp"
#include "hypercore/core/feed_messages.hpp"
#include "hypercore/core/messages.hpp"
#include "hypercore/persistence/job_tables.hpp"

namespace hypercore::persistence {

struct job_store_options {
  std::uint16_t partitions = 8;
  /// An idempotency key older than this no longer matches (milliseconds).
  std::int64_t idempotency_ttl_ms = 24LL * 3600 * 1000;
  /// Transitions kept in the event log; 0 keeps none.
  std::size_t event_log_capacity = 1'000'000;
  /// Milliseconds since the epoch; empty means the system clock.
  std::function<std::int64_t()> clock;
};

/// A command's effect, known once it was applied in the transaction. A
/// command that does not fit the stored state fails alone (err set) and
/// writes nothing.
struct command_result {
  caf::error err;
  append_receipt receipt;
  std::uint64_t count = 0;
  session_record session;
};

class job_store {
public:
  /// Reads the seqs and positions to continue from.
  job_store(job_store_options opts, read_txn& txn, const lmdb_env& env);

  void begin();
  command_result apply(job_tables& t, append_jobs& cmd);
  command_result apply(job_tables& t, record_start& cmd);
  command_result apply(job_tables& t, record_outcome& cmd);
  command_result apply(job_tables& t, replay_dead& cmd);
  command_result apply(job_tables& t, purge_jobs& cmd);
  command_result apply(job_tables& t, put_session& cmd);
  command_result apply(job_tables& t, delete_sessions& cmd);
  /// Positions and event log entries for the transitions, the seq marks;
  /// `touch` writes a page even when nothing changed (a probe).
  void finish(job_tables& t, bool touch = false);
  /// The transaction committed: what it handed out is durable. Returns its
  /// transitions, in position order, for the feed.
  std::vector<transition> committed();
  void rolled_back();

  std::uint64_t next_position() const { return durable_position_; }

private:
  void note(const job& j, transition_cause cause, job_status from, std::int64_t at,
            const error_entry* failed = nullptr);
  void note_session(transition_cause cause, const std::string& id, std::int64_t expires,
                    std::int64_t at);
  void log_changes(job_tables& t);
  std::uint64_t assign_seq(job& j);

  job_store_options opts_;
  std::function<std::int64_t()> clock_;
  std::vector<std::uint64_t> next_seq_;
  /// next_seq as last made durable in meta: a restart must never hand out a
  /// seq again, even one whose job sits in the scheduled index.
  std::vector<std::uint64_t> durable_seq_;
  std::uint64_t next_position_ = 1;
  std::uint64_t durable_position_ = 1;
  /// Lowest position still in the event log (0: the log is empty).
  std::uint64_t log_first_ = 0;
  std::uint64_t durable_log_first_ = 0;
  std::vector<transition> changes_;
  /// Reused for every event-log record this store encodes.
  std::string event_buffer_;
};

} // namespace hypercore::persistence
