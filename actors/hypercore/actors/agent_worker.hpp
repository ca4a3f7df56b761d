// SPDX-License-Identifier: Apache-2.0
#pragma once

// agent_worker: runs one agent instance, one attempt at a time. Workers of
// blocking kinds (the default) run detached, on their own thread, so a
// blocking agent never stalls CAF's scheduler; those of kinds that declare
// blocking = false share the scheduler's threads.
// Receives: run_job from its pool (a request); answers job_finished.
// Persists: nothing.
// Fails: an agent that throws makes the worker quit with agent_crashed; its
//   pool (the supervisor) answers the attempt and starts a new worker.

#include <atomic>
#include <memory>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "hypercore/core/admission.hpp"
#include "hypercore/core/clock.hpp"
#include "hypercore/core/kind_catalog.hpp"
#include "hypercore/core/messages.hpp"

namespace hypercore {

using agent_worker_actor = caf::typed_actor<
  /// One attempt; an agent that throws ends the worker (agent_crashed).
  caf::replies_to<run_job>::with<job_finished>>;

/// `stop` is raised by the pool when the attempt timed out or the engine
/// shuts down; the agent sees it through agent_context::stop_requested().
/// `clock` stamps the follow-ups an agent asks for (admission).
agent_worker_actor spawn_agent_worker(caf::actor_system& sys, catalog_ptr catalog,
                                      std::string kind, admission_limits limits,
                                      std::shared_ptr<std::atomic<bool>> stop, clock_fn clock = {});

} // namespace hypercore
