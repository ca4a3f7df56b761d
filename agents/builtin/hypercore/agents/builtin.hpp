// SPDX-License-Identifier: Apache-2.0
#pragma once

// The built-in agents, for users trying Hypercore and for its own tests:
//   echo  returns its params as output
//   sleep waits params.ms milliseconds (stops early when asked to)
//   flaky fails (retryably) its first params.fail_times attempts, then echoes
//   crash throws while params.crash is true (default), crashing its worker
//   chain emits each element of params.next (an array of job specs) as a follow-up

#include <memory>
#include <vector>

#include "hypercore/core/agent.hpp"

namespace hypercore::agents {

/// Factories for every built-in agent, each with the given concurrency.
std::vector<agent_factory> builtin_agents(std::uint32_t concurrency = 4);

/// Reads a job_spec from its JSON form: {kind, params, partition_key?,
/// session_id?, priority?, delay_ms?, max_attempts?}. Throws on bad shape.
job_spec spec_from_json(const nlohmann::json& j);

} // namespace hypercore::agents
