// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hypercore {

/// Where a job is in its life. Values are stored on disk: never renumber.
enum class job_status : std::uint8_t {
  /// Waiting to run: not yet started, or re-queued after a restart.
  pending = 0,
  /// Handed to an agent; an attempt is in progress.
  running = 1,
  /// The last attempt failed with a retryable error; waits for run_at.
  retrying = 2,
  /// Finished with an output; terminal.
  succeeded = 3,
  /// Attempts exhausted or permanent error; terminal, listed as a dead letter.
  dead = 4,
  /// Cancelled before it could succeed; terminal.
  cancelled = 5,
};

constexpr bool is_terminal(job_status s) {
  return s == job_status::succeeded || s == job_status::dead
         || s == job_status::cancelled;
}

std::string_view to_string(job_status s);
std::optional<job_status> parse_job_status(std::string_view text);

} // namespace hypercore
