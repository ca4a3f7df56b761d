// SPDX-License-Identifier: Apache-2.0
#pragma once

// admission: turns a job_spec into a job ready to journal, or refuses it
// with a typed error before anything is written. Used for submits and for
// the follow-ups an agent emits, so both obey the same rules.

#include <cstdint>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "hypercore/core/kind_catalog.hpp"
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
  /// Kinds are names people read in logs and URLs.
  std::size_t max_kind_bytes = 128;
  /// Priorities outside this range are refused (not clamped, not wrapped).
  std::int32_t min_priority = -1'000'000;
  std::int32_t max_priority = 1'000'000;
  /// 366 days: keeps run_at far from overflow whatever the clock says.
  std::uint64_t max_delay_ms = 366ULL * 24 * 3600 * 1000;
};

/// Parses JSON text with a nesting bound; errors are invalid_params or
/// payload_too_large. Empty text is {}.
caf::expected<nlohmann::json> parse_params(const std::string& text,
                                           const admission_limits& limits);

/// Validates `spec` and builds its job (new id, partition, run_at, trace id).
/// The one admission path: submits and follow-ups obey the same bounds
/// (UTF-8 strings, key and kind lengths, priority, delay, attempts, params).
/// `spec` is taken by value so a caller done with it moves it in (its
/// strings, params included, become the job's without a copy).
/// `parent` is set for follow-ups: they inherit its trace id and session and
/// sit one level deeper in the chain.
caf::expected<job> admit(job_spec spec, const kind_catalog& catalog,
                         const admission_limits& limits, const job* parent,
                         std::int64_t now_ms);

} // namespace hypercore
