// SPDX-License-Identifier: Apache-2.0
#pragma once

// partition: owns the jobs whose partition index it is, and their order.
// Receives: the feed's batches of its partition's new work (submits,
//   follow-ups, replays) and gaps, job outcomes from the agent pools,
//   cancel_atom, drain_atom and stats_atom.
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

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "hypercore/actors/admission.hpp"
#include "hypercore/actors/feed.hpp"
#include "hypercore/actors/journal.hpp"
#include "hypercore/actors/kind_catalog.hpp"
#include "hypercore/persistence/lmdb_env.hpp"

namespace hypercore {

struct partition_options {
  std::uint16_t index = 0;
  /// Jobs held in memory at most (see partition_queue).
  std::size_t window = 1024;
  admission_limits limits;
};

/// Wiring a partition needs. Partitions do not know each other: follow-ups
/// reach their partitions through the feed.
struct partition_links {
  journal_actor journal;
  /// The partition learns of new work here (it subscribes at start).
  feed_actor feed;
  std::map<std::string, caf::actor> pools;
  std::shared_ptr<persistence::lmdb_env> env;
  catalog_ptr catalog;
};

/// Handlers:
///  (feed_batch), (feed_gap)           -> page in the new work (a gap: look again from the cursor)
///  (work_atom, uint64 seq, int64 at)  -> page in jobs up to at least seq; at > 0 is
///                                        the run_at of a job put in the scheduled index
///  (cancel_atom, job_id)              -> job_status (running: cancelled when the agent returns)
///  (drain_atom)                       -> uint64 running attempts; no new attempts start
///  (stats_atom)                       -> partition_stats
caf::actor spawn_partition(caf::actor_system& sys, partition_links links,
                           partition_options opts);

} // namespace hypercore
