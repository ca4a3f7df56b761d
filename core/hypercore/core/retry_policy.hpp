// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

namespace hypercore {

/// How a kind retries: exponential backoff with full jitter.
/// Attempt n (1-based) that fails waits uniform(0, min(cap, base * factor^(n-1))).
struct retry_policy {
  std::uint64_t base_ms = 100;
  double factor = 2.0;
  std::uint64_t cap_ms = 30'000;
  std::uint32_t max_attempts = 5;
};

/// What happens to a job whose attempt failed.
struct retry_decision {
  bool retry = false;
  /// Milliseconds to wait before the next attempt, when retry is true.
  std::uint64_t delay_ms = 0;
};

/// Decides the fate of a failed attempt. Pure: the randomness comes in as
/// `unit_random`, a number in [0, 1), so tests can pin it.
/// `attempt` is the number of the attempt that just failed (1-based).
retry_decision decide_retry(const retry_policy& policy, std::uint32_t attempt,
                            std::uint32_t max_attempts, bool retryable,
                            double unit_random);

/// The upper bound of the backoff window after `attempt` failed.
std::uint64_t backoff_ceiling_ms(const retry_policy& policy, std::uint32_t attempt);

} // namespace hypercore
