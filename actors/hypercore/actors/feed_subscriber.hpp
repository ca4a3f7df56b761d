// SPDX-License-Identifier: Apache-2.0
#pragma once

// feed_subscriber: one subscription to the feed, delivered to callbacks.
// Owns: the subscription's position: what it delivered and, after a gap or
//   when resuming, what it still reads from the event log.
// Receives: feed_batch and feed_gap from the feed; catchup_atom from itself.
// Persists: nothing; it reads the event log (bounded read transactions,
//   `catchup_chunk` records each) to catch up.
// Fails: transitions the event log no longer holds (trimmed, or the log is
//   off) are reported to on_lost, never skipped silently. It monitors the
//   feed: when the feed stops, so does the subscriber, and on_end is called.
//
// Callbacks run on the subscriber's actor, one at a time, in position order,
// so a job's transitions arrive in revision order. A slow callback makes its
// subscription fall behind (gaps, then catch-up from LMDB), never the
// journal.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "hypercore/actors/feed.hpp"
#include "hypercore/core/subscription_gate.hpp"
#include "hypercore/persistence/lmdb_env.hpp"

namespace hypercore {

/// A subscriber's contract: the feed's batches and gaps, and its own
/// catch-up steps (one bounded read of the event log each).
using feed_subscriber_actor = feed_sink_actor::extend<caf::reacts_to<catchup_atom>>;

struct feed_subscriber_options {
  feed_filter filter;
  std::uint32_t capacity = 4096;
  /// First position to deliver; 0: from the next commit on. An older
  /// position is read from the event log first.
  std::uint64_t resume_from = 0;
  std::string name = "subscriber";
  /// Detached (a thread of its own): for callbacks that may block.
  bool own_thread = false;
  /// Event log records read per catch-up step (one read transaction).
  std::size_t catchup_chunk = 1024;
};

/// Spawns the subscriber; `registered` is called once, with the feed's next
/// position when the feed registered it (from then on nothing is missed) or
/// with the error.
feed_subscriber_actor spawn_feed_subscriber(caf::actor_system& sys, feed_actor feed,
                                 std::shared_ptr<persistence::lmdb_env> env,
                                 feed_subscriber_options opts,
                                 std::shared_ptr<subscription_gate> gate,
                                 std::function<void(caf::expected<std::uint64_t>)> registered);

} // namespace hypercore
