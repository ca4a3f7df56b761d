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

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "hypercore/actors/admission.hpp"
#include "hypercore/actors/kind_catalog.hpp"
#include "hypercore/core/messages.hpp"

namespace hypercore {

/// `stop` is raised by the pool when the attempt timed out or the engine
/// shuts down; the agent sees it through agent_context::stop_requested().
caf::actor spawn_agent_worker(caf::actor_system& sys, catalog_ptr catalog,
                              std::string kind, admission_limits limits,
                              std::shared_ptr<std::atomic<bool>> stop);

} // namespace hypercore
