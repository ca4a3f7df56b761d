// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>

namespace hypercore {

/// The supervisor's restart intensity: at most `intensity` restarts within
/// `window_ms`; past that, restarts of the kind pause with a backoff that
/// doubles up to `max_pause_ms` and resets once the kind calms down.
/// Pure: the caller passes the time in.
class restart_limiter {
public:
  restart_limiter(std::uint32_t intensity = 10, std::int64_t window_ms = 5'000,
                  std::int64_t first_pause_ms = 1'000, std::int64_t max_pause_ms = 30'000)
    : intensity_(intensity), window_ms_(window_ms), first_pause_ms_(first_pause_ms),
      max_pause_ms_(max_pause_ms) {}

  /// Records a crash at now_ms; returns how long to wait before restarting
  /// (0: restart at once).
  std::int64_t on_crash(std::int64_t now_ms) {
    while (!crashes_.empty() && now_ms - crashes_.front() > window_ms_) crashes_.pop_front();
    crashes_.push_back(now_ms);
    if (crashes_.size() <= intensity_) {
      if (crashes_.size() == 1) next_pause_ms_ = first_pause_ms_;
      return 0;
    }
    auto pause = next_pause_ms_;
    next_pause_ms_ = std::min(next_pause_ms_ * 2, max_pause_ms_);
    return pause;
  }

private:
  std::uint32_t intensity_;
  std::int64_t window_ms_;
  std::int64_t first_pause_ms_;
  std::int64_t max_pause_ms_;
  std::int64_t next_pause_ms_ = 1'000;
  std::deque<std::int64_t> crashes_;
};

} // namespace hypercore
