// SPDX-License-Identifier: Apache-2.0
#pragma once

// Typed access to the tables of docs/STORAGE.md inside one transaction.
// Holds no state of its own: the caller owns the transaction and its thread.
// Unexpected LMDB codes throw lmdb_failure, which the caller (the journal or
// a reader) converts into an error value in the same handler; MDB_NOTFOUND
// is an ordinary outcome and comes back as std::nullopt.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <lmdb.h>

#include "hypercore/core/job.hpp"
#include "hypercore/persistence/lmdb_env.hpp"

namespace hypercore::persistence {

/// What an idempotency key points at: the job and a digest of the request.
struct idempotency_entry {
  job_id id;
  std::uint64_t request_digest = 0;
  std::int64_t created_at_ms = 0;
};

/// A session record: 8 bytes of big-endian expiry, then the JSON data.
struct stored_session {
  std::int64_t expires_at_ms = 0;
  std::string data;

  bool live_at(std::int64_t now_ms) const { return expires_at_ms > now_ms; }
};

/// One entry of a partition's pending index.
struct pending_entry {
  std::uint64_t seq = 0;
  job_id id;
  /// stable_hash of the job's partition key; unset for unkeyed jobs and for
  /// entries written before keyed entries carried it.
  std::optional<std::uint64_t> key_hash;
};

class job_tables {
public:
  job_tables(const lmdb_env& env, MDB_txn* txn) : dbs_(env.dbs()), txn_(txn) {}

  std::optional<job> get_job(const job_id& id) const;
  /// The record's head (decode_job_head): valid until the transaction ends.
  std::optional<job_head> get_job_head(const job_id& id) const;
  void put_job(const job& j);
  void del_job(const job_id& id);

  /// Indexes a job that is not terminal. An unkeyed job that waits for a
  /// future run_at, or for its retry, goes to the scheduled index, so it takes no room
  /// in a partition's window while it waits; every other job goes to the
  /// pending index and, when keyed, to its key's chain.
  void index_active(const job& j, std::int64_t now_ms);
  /// Removes the job from whichever active index holds it.
  void unindex_active(const job& j);
  /// Records a terminal job: expiry index, and the dead-letter list if dead.
  void index_terminal(const job& j);
  void unindex_terminal(const job& j);

  /// The next job of a key chain after `after_seq` (the key's next head).
  std::optional<job_id> next_of_key(std::uint16_t partition, std::uint64_t key_hash,
                                    std::uint64_t after_seq) const;
  /// Highest seq in a partition's pending index (0 when empty).
  std::uint64_t max_pending_seq(std::uint16_t partition) const;

  /// Visits a partition's pending entries with seq > after_seq in seq order
  /// until visit returns false.
  void scan_pending(std::uint16_t partition, std::uint64_t after_seq,
                    const std::function<bool(const pending_entry&)>& visit) const;
  /// Visits a partition's scheduled entries after (after_run_at, after_seq)
  /// whose run_at <= until_ms, in run_at order, until visit returns false.
  void scan_scheduled(std::uint16_t partition, std::int64_t after_run_at,
                      std::uint64_t after_seq, std::int64_t until_ms,
                      const std::function<bool(std::int64_t run_at, std::uint64_t seq,
                                               const job_id&)>& visit) const;
  /// The earliest run_at of a scheduled entry after (after_run_at, after_seq).
  std::optional<std::int64_t> next_scheduled(std::uint16_t partition, std::int64_t after_run_at,
                                             std::uint64_t after_seq) const;
  /// Visits dead jobs, oldest id first, until visit returns false.
  void scan_dead(const std::function<bool(const job_id&)>& visit) const;
  /// Visits terminal jobs finished before `before_ms`, oldest first.
  void scan_expired(std::int64_t before_ms,
                    const std::function<bool(const job_id&)>& visit) const;
  /// Visits every job record in id order.
  void scan_jobs(const std::function<bool(const job&)>& visit) const;

  void put_result(const job_id& id, std::string_view output);
  std::optional<std::string> get_result(const job_id& id) const;
  void del_result(const job_id& id);

  std::optional<idempotency_entry> get_idempotency(std::string_view key) const;
  void put_idempotency(std::string_view key, const idempotency_entry& e);
  void del_idempotency(std::string_view key);

  /// A session as stored (docs/STORAGE.md): its expiry and JSON data. A
  /// record too short to hold an expiry reads as expired at time 0.
  std::optional<stored_session> get_session(std::string_view id) const;
  void put_session(std::string_view id, std::int64_t expires_at_ms, std::string_view data);
  void del_session(std::string_view id);
  /// Visits sessions (id, expiry) in id order until visit returns false.
  void scan_sessions(const std::function<bool(std::string_view id, std::int64_t expires_at_ms)>& visit) const;

  /// The highest seq a partition has handed out (meta "seq/<p>").
  std::uint64_t seq_mark(std::uint16_t partition) const;
  void put_seq_mark(std::uint16_t partition, std::uint64_t seq);

  /// Appends one event log record at `position` (greater than any before).
  void put_event(std::uint64_t position, std::string_view record);
  /// Visits event records with from <= position < to, in position order,
  /// until visit returns false.
  void scan_events(std::uint64_t from, std::uint64_t to,
                   const std::function<bool(std::uint64_t position, std::string_view record)>& visit) const;
  /// The lowest and highest position in the event log.
  std::optional<std::uint64_t> first_event() const;
  std::optional<std::uint64_t> last_event() const;
  /// Removes at most `limit` events with position < before, oldest first;
  /// returns how many.
  std::size_t trim_events(std::uint64_t before, std::size_t limit);
  /// The next feed position as last committed (meta "feed/next"): positions
  /// stay increasing across restarts even with the event log off.
  std::uint64_t feed_mark() const;
  void put_feed_mark(std::uint64_t next_position);

  std::uint64_t count(MDB_dbi dbi) const;
  const tables& dbs() const { return dbs_; }

private:
  std::optional<std::string_view> get(MDB_dbi dbi, std::string_view key) const;
  void put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags = 0);
  void del(MDB_dbi dbi, std::string_view key);

  tables dbs_;
  MDB_txn* txn_;
};

} // namespace hypercore::persistence
