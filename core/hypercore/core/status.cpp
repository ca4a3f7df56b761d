// SPDX-License-Identifier: Apache-2.0
#include "hypercore/core/status.hpp"

namespace hypercore {

std::string_view to_string(job_status s) {
  switch (s) {
    case job_status::pending: return "pending";
    case job_status::running: return "running";
    case job_status::retrying: return "retrying";
    case job_status::succeeded: return "succeeded";
    case job_status::dead: return "dead";
    case job_status::cancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<job_status> parse_job_status(std::string_view text) {
  for (auto s : {job_status::pending, job_status::running, job_status::retrying,
                 job_status::succeeded, job_status::dead, job_status::cancelled})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

} // namespace hypercore
