// SPDX-License-Identifier: Apache-2.0
#pragma once

// janitor: keeps the data directory from growing without end.
// Owns: nothing but its timer.
// Receives: sweep_atom from its own timer (every `interval`) or the engine.
// Persists: through the journal (purge_jobs), in batches of `batch` jobs,
//   so a sweep never holds a long write transaction.
// Fails: a failed sweep is logged and retried at the next tick.

#include <chrono>
#include <memory>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "hypercore/actors/journal.hpp"
#include "hypercore/core/clock.hpp"
#include "hypercore/persistence/lmdb_env.hpp"

namespace hypercore {

struct janitor_options {
  std::chrono::milliseconds retention{std::chrono::hours(24 * 7)};
  std::chrono::milliseconds interval{std::chrono::minutes(1)};
  std::size_t batch = 1000;
  /// Where "now" comes from for the retention cutoff; empty: the system clock.
  clock_fn clock;
};

using janitor_actor = caf::typed_actor<
  /// One sweep now: the jobs it removed.
  caf::replies_to<sweep_atom>::with<std::uint64_t>,
  /// Its own timer.
  caf::reacts_to<tick_atom>>;

janitor_actor spawn_janitor(caf::actor_system& sys, journal_actor journal,
                         std::shared_ptr<persistence::lmdb_env> env, janitor_options opts);

} // namespace hypercore
