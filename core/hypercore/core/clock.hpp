// SPDX-License-Identifier: Apache-2.0
#pragma once

// The wall clock, and the seam that lets tests replace it. Every decision
// that depends on the time (retries, TTLs, retention, idempotency windows,
// restart intensity) reads a clock_fn it was given, so a test moves time
// with a manual_clock instead of sleeping.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace hypercore {

/// Wall-clock milliseconds since the Unix epoch: the time base of every
/// timestamp Hypercore stores (created_at, run_at, finished_at, expiry).
inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// A source of now_ms()-like readings. Callable from any thread.
using clock_fn = std::function<std::int64_t()>;

/// `clock` when set, otherwise the system clock.
inline clock_fn clock_or_system(const clock_fn& clock) {
  return clock ? clock : clock_fn{[] { return now_ms(); }};
}

/// A clock that moves only when told (tests). Starts at the system time so
/// stored timestamps look ordinary. Thread-safe; share it by shared_ptr.
class manual_clock {
public:
  manual_clock() : ms_(now_ms()) {}
  std::int64_t now() const { return ms_.load(std::memory_order_acquire); }
  void advance(std::chrono::milliseconds by) { ms_.fetch_add(by.count(), std::memory_order_acq_rel); }
  /// A clock_fn reading this clock (it keeps the clock alive).
  static clock_fn reader(std::shared_ptr<manual_clock> c) {
    return [c = std::move(c)] { return c->now(); };
  }

private:
  std::atomic<std::int64_t> ms_;
};

} // namespace hypercore
