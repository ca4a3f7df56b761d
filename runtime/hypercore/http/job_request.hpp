// SPDX-License-Identifier: Apache-2.0
#pragma once

// Reads submit bodies with simdjson (the hot path); every failure is an
// api_error with a stable code, and nothing is half-read into a spec.

#include <string_view>
#include <variant>
#include <vector>

#include "hypercore/core/job.hpp"
#include "hypercore/http/api_error.hpp"

namespace hypercore::http {

/// Limits on a request body beyond its byte size.
struct request_limits {
  std::size_t max_depth = 64;
  std::size_t max_batch = 1000;
};

/// {kind, params?, partition_key?, session_id?, priority?, delay_ms?, max_attempts?}
std::variant<job_spec, api_error> parse_job_request(std::string_view body,
                                                    const request_limits& limits);

/// {jobs: [job request, ...]}
std::variant<std::vector<job_spec>, api_error> parse_batch_request(std::string_view body,
                                                                   const request_limits& limits);

} // namespace hypercore::http
