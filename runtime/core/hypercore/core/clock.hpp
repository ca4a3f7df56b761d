// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>

namespace hypercore {

/// Wall-clock milliseconds since the Unix epoch: the time base of every
/// timestamp Hypercore stores (created_at, run_at, finished_at, expiry).
inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace hypercore
