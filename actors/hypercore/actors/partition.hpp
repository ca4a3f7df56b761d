// SPDX-License-Identifier: Apache-2.0
#pragma once

// partition: owns the jobs whose partition index it is, and their order.
// Receives: the feed's batches of its partition's new work (submits,
//   follow-ups, replays) and gaps, job outcomes from the agent pools (as
//   replies to run_job), and the engine's cancels, drains and stats
//   (partition_actor is the contract).
// Persists: nothing itself; every transition goes to the journal, and a job
//   leaves memory only after the journal confirmed its terminal write.
// Fails: it holds no state the store lacks. After a crash, a new partition
//   pages its pending jobs in again; jobs that were running are simply ready.
//
// Memory is bounded: at most `window` jobs live here; the rest wait in the
// store's pending index and are paged in, in submit order, as room frees up.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "hypercore/actors/agent_pool.hpp"
#include "hypercore/actors/feed.hpp"
#include "hypercore/actors/journal.hpp"
#include "hypercore/core/admission.hpp"
#include "hypercore/core/clock.hpp"
#include "hypercore/core/kind_catalog.hpp"
#include "hypercore/persistence/lmdb_env.hpp"

namespace hypercore {

struct partition_options {
  std::uint16_t index = 0;
  /// Jobs held in memory at most (see partition_queue).
  std::size_t window = 1024;
  admission_limits limits;
  /// Where "now" comes from (run_at of retries, due scheduled jobs, the
  /// session liveness check); empty: the system clock.
  clock_fn clock;
};

using partition_actor = caf::typed_actor<
  /// The feed's batches of this partition's new work (submits, follow-ups,
  /// replays), and its gaps: page the new work in (a gap: look again).
  caf::reacts_to<feed_batch>,
  caf::reacts_to<feed_gap>,
  /// The feed was replaced: subscribe to the new one and look again.
  caf::reacts_to<feed_atom, feed_actor>,
  /// From itself: page in jobs up to at least seq; at > 0 is the run_at of
  /// a job put in the scheduled index.
  caf::reacts_to<work_atom, std::uint64_t, std::int64_t>,
  /// From itself: a timer for a scheduled job or a retry fired.
  caf::reacts_to<tick_atom>,
  /// The job's status after the cancel: cancelled, or running (it ends
  /// cancelled when its agent returns).
  caf::replies_to<cancel_atom, job_id>::with<job_status>,
  /// No new attempts start; the reply counts the ones still running.
  caf::replies_to<drain_atom>::with<drain_report>,
  /// The journal was replaced: write there from now on.
  caf::reacts_to<journal_atom, journal_actor>,
  /// From itself: write an outcome whose write failed again.
  caf::reacts_to<rewrite_atom, record_outcome>,
  caf::replies_to<stats_atom>::with<partition_stats>>;

/// Wiring a partition needs. Partitions do not know each other: follow-ups
/// reach their partitions through the feed.
struct partition_links {
  journal_actor journal;
  /// The partition learns of new work here (it subscribes at start).
  feed_actor feed;
  std::map<std::string, agent_pool_actor> pools;
  std::shared_ptr<persistence::lmdb_env> env;
  catalog_ptr catalog;
};

/// Spawns the partition; it subscribes to the feed and pages its jobs in.
partition_actor spawn_partition(caf::actor_system& sys, partition_links links,
                                partition_options opts);

} // namespace hypercore
