// SPDX-License-Identifier: Apache-2.0
#pragma once

// session_store: sessions with a TTL, for jobs that share state.
// Owns: the session rules (ids, TTL bounds, expiry) and the expiry sweep.
// Receives: create/update (put_session), get and delete from the engine;
//   sweep_atom from its own timer.
// Persists: through the journal (put_session, delete_sessions), so a session
//   write is durable when answered; reads use a short read transaction.
// Fails: an expired session is gone for every read at once, before the sweep
//   removes it; a failed sweep is logged and retried at the next tick.

#include <chrono>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "hypercore/actors/journal.hpp"
#include "hypercore/persistence/lmdb_env.hpp"

namespace hypercore {

struct session_options {
  std::chrono::seconds min_ttl{1};
  std::chrono::seconds max_ttl{std::chrono::hours(24 * 30)};
  std::size_t max_data_bytes = std::size_t{1} << 20;
  std::chrono::milliseconds sweep_interval{std::chrono::minutes(1)};
  std::size_t sweep_batch = 1000;
};

/// Handlers (errors: not_found, invalid_request, payload_too_large):
///  (put_session) with id empty        -> session_record  create; expires_at_ms holds the TTL in ms
///  (put_session) with update = true   -> session_record  change data and/or TTL (ms, 0 keeps)
///  (get_atom, std::string id)         -> session_record  a live session
///  (delete_atom, std::string id)      -> uint64          sessions removed (0 or 1)
///  (sweep_atom)                       -> uint64          expired sessions removed
caf::actor spawn_session_store(caf::actor_system& sys, journal_actor journal,
                               std::shared_ptr<persistence::lmdb_env> env, session_options opts);

} // namespace hypercore
