// SPDX-License-Identifier: Apache-2.0
#pragma once

// session_store: sessions with a TTL, for jobs that share state.
// Owns: the session rules (ids, TTL bounds, expiry) and the expiry sweep.
// Receives: create/update (put_session), get and delete from the engine;
//   sweep_atom from its own timer.
// Persists: through the journal (put_session with an absolute expiry,
//   delete_sessions), so a session write is durable when answered, and the
//   answer is the session as the journal wrote it; reads use a short read
//   transaction.
// Fails: an expired session is gone for every read at once, before the sweep
//   removes it; a failed sweep is logged and retried at the next tick.

#include <chrono>
#include <memory>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "hypercore/actors/journal.hpp"
#include "hypercore/core/clock.hpp"
#include "hypercore/persistence/lmdb_env.hpp"

namespace hypercore {

struct session_options {
  std::chrono::seconds min_ttl{1};
  std::chrono::seconds max_ttl{std::chrono::hours(24 * 30)};
  std::size_t max_data_bytes = std::size_t{1} << 20;
  std::chrono::milliseconds sweep_interval{std::chrono::minutes(1)};
  std::size_t sweep_batch = 1000;
  /// Where "now" comes from for expiry; empty: the system clock.
  clock_fn clock;
};

/// Errors: not_found, invalid_request (TTL out of bounds), payload_too_large.
using session_store_actor = caf::typed_actor<
  /// A new session, ttl_ms from now.
  caf::replies_to<create_session>::with<session_record>,
  /// Change a live session's data and/or restart its TTL (0 keeps it).
  caf::replies_to<update_session>::with<session_record>,
  /// A live session.
  caf::replies_to<get_atom, std::string>::with<session_record>,
  /// Sessions removed (1; not_found when there was none).
  caf::replies_to<delete_atom, std::string>::with<std::uint64_t>,
  /// Expired sessions removed now.
  caf::replies_to<sweep_atom>::with<std::uint64_t>,
  /// Its own timer.
  caf::reacts_to<tick_atom>>;

session_store_actor spawn_session_store(caf::actor_system& sys, journal_actor journal,
                                        std::shared_ptr<persistence::lmdb_env> env,
                                        session_options opts);

} // namespace hypercore
