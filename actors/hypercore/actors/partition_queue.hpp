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
#include <optional>
#include <set>
#include <string>
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
  bool key_busy(const std::string& key) const { return heads_.count(key) != 0; }
  /// key_busy by the key's stable_hash, for index entries that carry only the
  /// hash (the pager skips a busy key's jobs without reading their records).
  bool key_hash_busy(std::uint64_t hash) const { return head_hashes_.count(hash) != 0; }
  std::size_t key_count() const { return heads_.size(); }

  /// Adds a job loaded from the store. A job that was running when the
  /// process died is simply ready again; one with run_at in the future waits.
  void add(job j, std::int64_t now_ms);

  /// Moves delayed jobs that are due to ready; returns the earliest run_at of
  /// those still waiting.
  std::optional<std::int64_t> promote_due(std::int64_t now_ms);

  /// Takes the best ready job whose kind may start (has_credit) and marks it
  /// running. The pointer stays valid until the job is removed.
  job* take_next(const std::function<bool(const std::string& kind)>& has_credit);

  job* find(const job_id& id);
  std::optional<slot_state> state_of(const job_id& id) const;

  /// Running -> completing: the outcome is on its way to the journal.
  void mark_completing(const job_id& id);
  /// Back to waiting for run_at (a retry; the key stays held).
  void schedule(const job_id& id, std::int64_t run_at_ms, std::int64_t now_ms);
  /// Back to ready (an attempt whose outcome could not be written).
  void requeue(const job_id& id);
  /// Removes a job that became terminal and releases its key.
  std::optional<job> remove(const job_id& id);

  std::size_t ready_count() const { return ready_total_; }
  std::size_t delayed_count() const { return delayed_.size(); }
  std::size_t running_count() const { return running_; }

private:
  using rank = std::pair<std::int64_t, std::uint64_t>; // (-priority, seq)

  struct slot {
    job j;
    slot_state state = slot_state::ready;
  };

  void make_ready(slot& s);
  void unlink(slot& s);

  std::size_t capacity_;
  std::unordered_map<job_id, slot, job_id_hash> jobs_;
  std::unordered_map<std::string, job_id> heads_;
  /// stable_hash of each key in heads_, counted (distinct keys may collide).
  std::unordered_map<std::uint64_t, std::uint32_t> head_hashes_;
  std::map<std::string, std::map<rank, job_id>> ready_;
  std::multimap<std::int64_t, job_id> delayed_;
  std::size_t ready_total_ = 0;
  std::size_t running_ = 0;
};

} // namespace hypercore
