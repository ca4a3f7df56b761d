// SPDX-License-Identifier: Apache-2.0
#pragma once

// The partition's state and the functions its two sources share: the pager
// (partition_pager.cpp: what comes into memory from the store, and when)
// and the behaviour (partition.cpp: attempts, outcomes, cancels). Private to
// those two files.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "hypercore/actors/partition.hpp"
#include "hypercore/actors/partition_queue.hpp"
#include "hypercore/core/clock.hpp"

namespace hypercore::partition_detail {

/// Transitions a partition may have unacknowledged at the feed.
constexpr std::uint32_t partition_feed_capacity = 16384;

struct partition_state {
  static inline const char* name = "hypercore.partition";

  partition_links links;
  partition_options opts;
  partition_queue queue{1024};
  /// Highest seq of this partition that the pager has looked at.
  std::uint64_t cursor = 0;
  /// True when the last page-in stopped for lack of room.
  bool backlog = true;
  /// Earliest run_at that may be due in the scheduled index (max: none
  /// known). 0 at start, so recovery looks once.
  std::int64_t scheduled_due_at = 0;
  bool draining = false;
  std::unordered_map<std::string, std::uint32_t> in_flight;
  std::unordered_set<job_id, job_id_hash> cancel_requested;
  std::unordered_set<job_id, job_id_hash> cancelling;
  std::optional<std::int64_t> timer_at;
  std::mt19937_64 rng{std::random_device{}()};
  /// The injected clock (partition_options::clock, else the system clock).
  clock_fn clock;
  std::int64_t now() const { return clock(); }
  /// Outcomes whose write failed and is being retried: tries so far.
  std::unordered_map<job_id, std::uint32_t, job_id_hash> rewrite_tries;
  /// Job records the pager decoded since start (what recovery costs).
  std::uint64_t records_paged = 0;
  ack_batcher feed_acks{partition_feed_capacity};
};

using partition_self = partition_actor::stateful_pointer<partition_state>;

// The pager (partition_pager.cpp).

/// Pages pending and due scheduled jobs in while there is room.
void page_in(partition_self self);
/// Loads the job that became its key's head once `left` is terminal.
void load_next_of_key(partition_self self, const partition_queue::departed& left);
/// Arms the timer for `run_at` unless an earlier one is armed.
void arm_timer(partition_self self, std::int64_t run_at);
/// A job now waits in the scheduled index until `run_at`.
void note_scheduled(partition_self self, std::int64_t run_at);
/// Jobs up to `seq` were journaled here: page them in if there is room.
void on_new_work(partition_self self, std::uint64_t seq, std::int64_t scheduled_at);
/// Whatever may have been missed is in the store: look at both indexes again.
void look_again(partition_self self);

// The behaviour (partition.cpp).

/// Starts attempts while jobs are ready and their pools have credit.
void dispatch(partition_self self);

} // namespace hypercore::partition_detail
