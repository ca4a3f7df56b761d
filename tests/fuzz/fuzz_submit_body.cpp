// SPDX-License-Identifier: Apache-2.0
// Fuzzes the submit body (POST /v1/jobs): any bytes are either a job spec
// within the documented ranges or a 4xx whose error body renders.

#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "hypercore/http/job_request.hpp"

using namespace hypercore;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = http::parse_job_request(fuzz::as_text(data, size), http::request_limits{});

  if (auto* err = std::get_if<http::api_error>(&parsed)) {
    fuzz::require_renderable(*err);
    return 0;
  }
  const auto& spec = std::get<job_spec>(parsed);
  fuzz::require(!spec.kind.empty(), "an accepted job has a kind");
  fuzz::require(spec.priority >= -1'000'000 && spec.priority <= 1'000'000, "priority in range");
  fuzz::require(spec.delay_ms <= 366ULL * 24 * 3600 * 1000, "delay_ms at most 366 days");
  fuzz::require(spec.max_attempts <= 1000, "max_attempts at most 1000");
  // The params travel on as JSON text: the engine must be able to read them.
  if (!spec.params.empty())
    fuzz::require(!nlohmann::json::parse(spec.params, nullptr, false).is_discarded(),
                  "accepted params are JSON");
  return 0;
}
