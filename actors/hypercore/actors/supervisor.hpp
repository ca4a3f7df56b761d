// SPDX-License-Identifier: Apache-2.0
#pragma once

// supervisor: watches an engine's core actors (journal, partitions, session
// store, janitor) and replaces each one that dies.
// Owns: a monitor per watched actor and its name.
// Receives: (watch_atom, actor, name) from the engine; down messages.
// Persists: nothing; a replacement recovers from the store by itself.
// Fails: never by itself; the replace callback runs on the supervisor's
//   thread, and what it returns is watched in turn (a null actor: nothing).

#include <chrono>
#include <functional>
#include <string>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "hypercore/core/messages.hpp"

namespace hypercore {

/// What the supervisor calls, on its own thread, for a watched actor that died.
struct supervisor_hooks {
  /// At once: returns how long to wait before replacing it (a pause bounds a
  /// crash loop; meanwhile the owner reports itself degraded).
  std::function<std::chrono::milliseconds(const std::string& name, const caf::error& reason)> on_down;
  /// After the pause: returns the replacement to watch, or a null actor.
  std::function<caf::actor(const std::string& name)> replace;
};

using supervisor_actor = caf::typed_actor<
  /// Watch `actor` under `name` (any core actor: its untyped handle).
  caf::reacts_to<watch_atom, caf::actor, std::string>,
  /// From itself: the pause after a death is over; replace `name` now.
  caf::reacts_to<respawn_atom, std::string>>;

/// The owner kills the supervisor before it stops the watched actors on purpose.
supervisor_actor spawn_supervisor(caf::actor_system& sys, supervisor_hooks hooks);

} // namespace hypercore
