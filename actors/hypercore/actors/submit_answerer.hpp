// SPDX-License-Identifier: Apache-2.0
#pragma once

// submit_answerer: answers the engine's ticketed submits.
// Owns: nothing; the open tickets are in submit_tickets, shared with the
//   engine, which opens them.
// Receives: ticket_answers from the journal (one per commit), the journal
//   to watch (journal_atom, at start and after a replacement), and its own
//   sweep timer.
// Fails: when a watched journal goes down, the tickets handed to it fail
//   with unavailable (CAF delivers what it sent before its down message
//   first, so those will never be answered); a ticket past its deadline
//   fails with timeout at the next sweep, which also covers a submit sent
//   to a journal that was already gone. Completions that throw are logged.

#include <chrono>
#include <memory>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "hypercore/actors/journal.hpp"
#include "hypercore/actors/submit_tickets.hpp"

namespace hypercore {

using submit_answerer_actor = caf::typed_actor<
  caf::reacts_to<ticket_answers>,
  caf::reacts_to<journal_atom, journal_actor>,
  caf::reacts_to<sweep_atom>>;

/// Spawns the answerer on CAF's scheduler; it sweeps expired tickets every
/// `sweep_every`.
submit_answerer_actor spawn_submit_answerer(caf::actor_system& sys,
                                            std::shared_ptr<submit_tickets> tickets,
                                            std::chrono::milliseconds sweep_every);

} // namespace hypercore
