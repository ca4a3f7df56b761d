// SPDX-License-Identifier: Apache-2.0
#pragma once

// partition_queue: the in-memory window of one partition, with no actors and
// no storage so its ordering rules can be tested alone.
// It holds at most `capacity` jobs (plus key heads that replace a finished
// head). A keyed job is held only while it is the head of its key: the next
// job of a key is paged in when the head leaves. So a key that is stuck
// (a job waiting for its retry) holds one slot and never starves other keys.
// Among ready jobs, higher priority runs first, then lower seq (submit order).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "hypercore/core/job.hpp"

namespace hypercore {

class partition_queue {
public:
  enum class slot_state : std::uint8_t { ready, delayed, running, completing };

  explicit partition_queue(std::size_t capacity) : capacity_(capacity) {}

  bool has_room() const { return jobs_.size() < capacity_; }
  std::size_t size() const { return jobs_.size(); }
  bool contains(const job_id& id) const { return jobs_.count(id) != 0; }
  /// True while a job of this key is held (it is the key's head).
  bool key_busy(std::string_view key) const { return heads_.find(key) != heads_.end(); }
  /// key_busy by the key's stable_hash, for index entries that carry only the
  /// hash (the pager skips a busy key's jobs without reading their records).
  bool key_hash_busy(std::uint64_t hash) const { return head_hashes_.count(hash) != 0; }
  std::size_t key_count() const { return heads_.size(); }

  /// Adds a job loaded from the store: only what ordering needs is kept
  /// (id, kind, key, priority, seq, run_at; about 150 bytes), params and
  /// the rest stay in LMDB until the job starts. A job that was running
  /// when the process died is simply ready again; one with run_at in the
  /// future waits.
  void add(const job_head& j, std::int64_t now_ms);
  void add(const job& j, std::int64_t now_ms) {
    add(job_head{j.id, j.kind, j.partition_key, j.status, j.priority, j.seq, j.run_at_ms}, now_ms);
  }

  /// Moves delayed jobs that are due to ready; returns the earliest run_at of
  /// those still waiting.
  std::optional<std::int64_t> promote_due(std::int64_t now_ms);

  /// Takes the best ready job whose kind may start (has_credit) and marks it
  /// running; the caller loads the whole job and gives it to hold().
  std::optional<job_id> take_next(const std::function<bool(const std::string& kind)>& has_credit);

  /// The whole job of a running (or completing) attempt, kept until its
  /// outcome is written.
  void hold(const job_id& id, job whole);
  /// The job hold() keeps, or nullptr (not running, or not here).
  job* running_job(const job_id& id);
  std::optional<slot_state> state_of(const job_id& id) const;

  /// Running -> completing: the outcome is on its way to the journal.
  void mark_completing(const job_id& id);
  /// Back to waiting for run_at (a retry; the key stays held). The whole
  /// job is let go: the next start reads it again, with its new history.
  void schedule(const job_id& id, std::int64_t run_at_ms, std::int64_t now_ms);
  /// Back to ready (an attempt that could not start).
  void requeue(const job_id& id);

  /// What remove() tells of a job that left: its key and place, so the
  /// key's next job can be paged in.
  struct departed {
    std::string partition_key;
    std::uint64_t seq = 0;
  };
  /// Removes a job that became terminal and releases its key.
  std::optional<departed> remove(const job_id& id);

  std::size_t ready_count() const { return ready_total_; }
  std::size_t delayed_count() const { return delayed_.size(); }
  std::size_t running_count() const { return running_; }
  /// Per kind, the earliest run_at of a job ready to run (waiting for a
  /// credit or behind its key), for "oldest pending age"; O(window).
  std::map<std::string, std::int64_t> oldest_ready_by_kind() const;

private:
  using rank = std::pair<std::int64_t, std::uint64_t>; // (-priority, seq)

  // Kept small: a window of 4,096 jobs per partition is resident, and most
  // of them only wait. The id is the map's key; `kind` points at ready_'s
  // key for the kind (map keys are stable and kinds are never erased).
  struct slot {
    std::uint64_t seq = 0;
    std::int64_t run_at_ms = 0;
    const std::string* kind = nullptr;
    std::unique_ptr<std::string> key;  // null: unkeyed
    std::unique_ptr<job> whole;        // set while running or completing
    std::int32_t priority = 0;
    slot_state state = slot_state::ready;
  };

  void make_ready(const job_id& id, slot& s);
  void unlink(const job_id& id, slot& s);

  std::size_t capacity_;
  std::unordered_map<job_id, slot, job_id_hash> jobs_;
  // Transparent, so a key read as a view from a record is looked up as is.
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  std::unordered_map<std::string, job_id, key_hash, std::equal_to<>> heads_;
  /// stable_hash of each key in heads_, counted (distinct keys may collide).
  std::unordered_map<std::uint64_t, std::uint32_t> head_hashes_;
  /// Ready jobs per kind, best first; the value points at jobs_'s key.
  std::map<std::string, std::map<rank, const job_id*>, std::less<>> ready_;
  std::multimap<std::int64_t, job_id> delayed_;
  std::size_t ready_total_ = 0;
  std::size_t running_ = 0;
};

} // namespace hypercore
