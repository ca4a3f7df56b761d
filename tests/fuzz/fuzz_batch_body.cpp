// SPDX-License-Identifier: Apache-2.0
// Fuzzes the batch body (POST /v1/jobs/batch): all jobs or none, never more
// than the batch limit, and a refusal (with its per-job details) renders.

#include <cstddef>
#include <cstdint>

#include "fuzz_check.hpp"
#include "hypercore/http/job_request.hpp"

using namespace hypercore;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A small batch limit, so the fuzzer reaches the limit with short inputs.
  http::request_limits limits{.max_depth = 64, .max_batch = 8};

  auto parsed = http::parse_batch_request(fuzz::as_text(data, size), limits);

  if (auto* err = std::get_if<http::api_error>(&parsed)) {
    fuzz::require_renderable(*err);
    return 0;
  }
  const auto& specs = std::get<std::vector<job_spec>>(parsed);
  fuzz::require(!specs.empty(), "an accepted batch is not empty");
  fuzz::require(specs.size() <= limits.max_batch, "an accepted batch is within the limit");
  for (const auto& spec : specs) fuzz::require(!spec.kind.empty(), "every job has a kind");
  return 0;
}
