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

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "hypercore/actors/admission.hpp"
#include "hypercore/actors/journal.hpp"
#include "hypercore/actors/kind_catalog.hpp"
#include "hypercore/core/messages.hpp"

namespace hypercore {

/// Handlers besides run_job:
///  (drain_atom)                    -> no attempt starts any more; queued ones are answered
///                                     with a retryable "shutting down" failure
///  (halt_atom)                     -> asks running attempts to stop (agent_context::stop_requested)
///  (journal_atom, journal_actor)   -> the journal was restarted: send starts there
///  (stats_atom)                    -> (workers alive, queued attempts, restarts, running attempts)
/// `journal` may be a null handle (tests): starts are then not journaled.
caf::actor spawn_agent_pool(caf::actor_system& sys, catalog_ptr catalog,
                            std::string kind, admission_limits limits,
                            journal_actor journal = {});

} // namespace hypercore
