// SPDX-License-Identifier: Apache-2.0
#pragma once

// agent_pool: one per kind; supervises `concurrency` workers (one-for-one).
// Receives: run_job requests from partitions (each partition holds at most
//   `concurrency` credits, so the pool's queue is bounded); answers each with
//   the attempt's job_finished.
// Persists: an attempt's start (record_start to the journal) when a worker
//   takes it, so a job reads "running" only while an agent holds it; queued
//   attempts still read pending/retrying. The partition journals the outcome.
// Fails: a crashed worker is replaced and its attempt answered as a retryable
//   failure whose message says "agent crashed: ..."; past the restart intensity (10 in 5 s) restarts
//   pause with backoff and the pause is logged as an error. An attempt that
//   runs past the kind's timeout is answered as a retryable failure ("agent
//   timed out after N ms"), its worker is
//   told to stop and replaced, and the late result is dropped.

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "hypercore/actors/agent_worker.hpp"
#include "hypercore/actors/journal.hpp"
#include "hypercore/core/admission.hpp"
#include "hypercore/core/clock.hpp"
#include "hypercore/core/kind_catalog.hpp"
#include "hypercore/core/messages.hpp"

namespace hypercore {

using agent_pool_actor = caf::typed_actor<
  /// One attempt, answered with its outcome when a worker has run it (or
  /// with a retryable failure: crashed, timed out, shutting down).
  caf::replies_to<run_job>::with<job_finished>,
  /// From itself: start a worker after a restart pause.
  caf::reacts_to<respawn_atom>,
  /// From itself: end the attempts that ran past the kind's timeout.
  caf::reacts_to<sweep_atom>,
  /// No attempt starts any more; queued ones are answered with a retryable
  /// "shutting down" failure.
  caf::reacts_to<drain_atom>,
  /// Asks running attempts to stop (agent_context::stop_requested).
  caf::reacts_to<halt_atom>,
  /// Answered once no attempt is running (at once when none is): what
  /// shutdown waits on, instead of asking the count again and again.
  caf::replies_to<idle_atom>::with<pool_stats>,
  /// The journal was replaced: send starts there.
  caf::reacts_to<journal_atom, journal_actor>,
  caf::replies_to<stats_atom>::with<pool_stats>>;

/// `journal` may be a null handle (tests): starts are then not journaled.
/// `clock` stamps journaled starts and paces restarts; empty: the system clock.
agent_pool_actor spawn_agent_pool(caf::actor_system& sys, catalog_ptr catalog,
                                  std::string kind, admission_limits limits,
                                  journal_actor journal = {}, clock_fn clock = {});

} // namespace hypercore
