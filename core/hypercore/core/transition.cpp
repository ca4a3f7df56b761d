// SPDX-License-Identifier: Apache-2.0
#include "hypercore/core/transition.hpp"

#include "hypercore/core/errc.hpp"

namespace hypercore {

namespace {

caf::error refuse(const job& j, std::string_view what) {
  return make_error(errc::invalid_transition,
                    "job " + j.id.to_string() + " is " + std::string{to_string(j.status)}
                      + ": cannot " + std::string{what});
}

} // namespace

error_entry interrupted_entry(std::uint32_t attempt, std::int64_t at_ms) {
  return {attempt, at_ms,
          "attempt " + std::to_string(attempt) + " interrupted: the process stopped during it",
          true};
}

caf::error apply_start(job& j, const record_start& cmd) {
  if (is_terminal(j.status)) return refuse(j, "start");
  // A start older than the stored attempt is a stale message; ignore it.
  if (cmd.attempt < j.attempts) return refuse(j, "start an older attempt");
  // Stored as running, yet a later attempt starts: the earlier one never
  // ended (the process, or its partition, stopped during it). Say so, so the
  // history has one entry per attempt that did not succeed.
  if (j.status == job_status::running && cmd.attempt > j.attempts && j.attempts > 0)
    j.errors.push_back(interrupted_entry(j.attempts, cmd.at_ms));
  j.status = job_status::running;
  j.attempts = cmd.attempt;
  j.updated_at_ms = cmd.at_ms;
  return {};
}

caf::error apply_outcome(job& j, const record_outcome& cmd) {
  if (is_terminal(j.status)) return refuse(j, std::string{"become "} + std::string{to_string(cmd.next)});
  if (cmd.attempt != 0 && cmd.attempt < j.attempts)
    return refuse(j, "apply the result of an older attempt");
  if (cmd.attempt > j.attempts) j.attempts = cmd.attempt;
  if (cmd.error.attempt != 0) j.errors.push_back(cmd.error);
  j.updated_at_ms = cmd.at_ms;
  switch (cmd.next) {
    case job_status::retrying:
      j.status = job_status::retrying;
      j.run_at_ms = cmd.run_at_ms;
      return {};
    case job_status::succeeded:
    case job_status::dead:
    case job_status::cancelled:
      j.status = cmd.next;
      j.finished_at_ms = cmd.at_ms;
      return {};
    default:
      return refuse(j, "move to a non-outcome status");
  }
}

caf::error apply_replay(job& j, std::int64_t at_ms) {
  if (j.status != job_status::dead) return refuse(j, "be replayed (only dead jobs can)");
  j.status = job_status::pending;
  j.attempts = 0;
  j.run_at_ms = at_ms;
  j.updated_at_ms = at_ms;
  j.finished_at_ms = 0;
  return {};
}

} // namespace hypercore
