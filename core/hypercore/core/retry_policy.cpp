// SPDX-License-Identifier: Apache-2.0
#include "hypercore/core/retry_policy.hpp"

#include <algorithm>
#include <cmath>

namespace hypercore {

std::uint64_t backoff_ceiling_ms(const retry_policy& policy, std::uint32_t attempt) {
  auto exponent = attempt == 0 ? 0.0 : static_cast<double>(attempt - 1);
  auto raw = static_cast<double>(policy.base_ms) * std::pow(policy.factor, exponent);
  auto cap = static_cast<double>(policy.cap_ms);
  // pow overflows to inf for large attempts; min() with the cap tames it.
  return static_cast<std::uint64_t>(std::min(raw, cap));
}

retry_decision decide_retry(const retry_policy& policy, std::uint32_t attempt,
                            std::uint32_t max_attempts, bool retryable,
                            double unit_random) {
  if (!retryable || attempt >= max_attempts) return {false, 0};
  auto ceiling = backoff_ceiling_ms(policy, attempt);
  auto r = std::clamp(unit_random, 0.0, 1.0);
  auto delay = static_cast<std::uint64_t>(r * static_cast<double>(ceiling));
  return {true, std::min(delay, ceiling)};
}

} // namespace hypercore
