// SPDX-License-Identifier: Apache-2.0
#pragma once

// admission: turns a job_spec into a job ready to journal, or refuses it
// with a typed error before anything is written. Used for submits and for
// the follow-ups an agent emits, so both obey the same rules.

#include <cstdint>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "hypercore/actors/kind_catalog.hpp"
#include "hypercore/core/job.hpp"

namespace hypercore {

struct admission_limits {
  std::size_t max_params_bytes = 1 << 20;
  std::size_t max_json_depth = 64;
  /// Idempotency keys and session ids are LMDB keys (at most 511 bytes).
  std::size_t max_key_bytes = 255;
  std::uint32_t max_chain_depth = 32;
  std::uint32_t max_attempts_cap = 1000;
  std::uint16_t partitions = 8;
};

/// Parses JSON text with a nesting bound; errors are invalid_params or
/// payload_too_large. Empty text is {}.
caf::expected<nlohmann::json> parse_params(const std::string& text,
                                           const admission_limits& limits);

/// Validates `spec` and builds its job (new id, partition, run_at, trace id).
/// `parent` is set for follow-ups: they inherit its trace id and session and
/// sit one level deeper in the chain.
caf::expected<job> admit(const job_spec& spec, const kind_catalog& catalog,
                         const admission_limits& limits, const job* parent,
                         std::int64_t now_ms);

} // namespace hypercore
