// SPDX-License-Identifier: Apache-2.0
#pragma once

// feed: fans the journal's commits out to subscribers.
// Owns: the subscriber list, each subscriber's filter and its count of
//   transitions sent but not yet acknowledged.
// Receives: `committed` from the journal (once per write transaction, after
//   it committed); subscribe_feed, acks and unsubscribes from subscribers.
// Persists: nothing; the journal wrote every transition to the event log
//   in the transaction that made it.
// Fails: never blocks the journal and never drops a commit silently: a
//   subscriber with `capacity` transitions unacknowledged is sent nothing
//   more until it has worked off half, then a feed_gap naming the positions
//   it missed, which it reads from the event log. A subscriber that dies is
//   forgotten (monitored).
//
// Ordering: a subscriber receives transitions in position order, so one
// job's transitions arrive in revision order. The journal publishes a
// commit before answering the commands in it, so a client that hears of a
// write and subscribes afterwards finds it in the store or in the feed.

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "hypercore/core/feed_messages.hpp"
#include "hypercore/core/messages.hpp"

namespace hypercore {

using feed_actor = caf::typed_actor<
  caf::reacts_to<committed>,
  /// Answered with the next position once `target` is registered.
  caf::replies_to<subscribe_feed>::with<std::uint64_t>,
  /// From a subscriber: it handled `count` transitions of its batches.
  caf::reacts_to<ack_atom, std::uint64_t>,
  /// From a subscriber: forget it.
  caf::reacts_to<unsub_atom>,
  caf::replies_to<stats_atom>::with<feed_stats>>;

/// `next_position` is the position the journal gives its next transition.
feed_actor spawn_feed(caf::actor_system& sys, std::uint64_t next_position);

} // namespace hypercore
