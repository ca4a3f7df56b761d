// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/outcome.hpp"

#include "hypercore/core/errc.hpp"
#include "hypercore/core/retry_policy.hpp"

namespace hypercore {

record_outcome decide_outcome(const job& j, job_finished f, const outcome_context& ctx) {
  record_outcome cmd;
  cmd.id = f.id;
  cmd.attempt = f.attempt;
  cmd.at_ms = ctx.now_ms;
  if (ctx.cancel_requested) {
    cmd.next = job_status::cancelled;
    return cmd;
  }
  if (f.ok) {
    cmd.next = job_status::succeeded;
    cmd.output = std::move(f.output);
    for (auto& spec : f.followups) {
      auto admitted = admit(std::move(spec), ctx.catalog, ctx.limits, &j, ctx.now_ms);
      if (!admitted) {
        // The worker checked these already; a catalog change is the only way here.
        cmd.next = job_status::dead;
        cmd.output.clear();
        cmd.followups.clear();
        cmd.error = {f.attempt, ctx.now_ms, message_of(admitted.error()), false};
        return cmd;
      }
      cmd.followups.push_back(std::move(*admitted));
    }
    cmd.session_changed = f.session_changed;
    cmd.session_data = std::move(f.session_data);
    return cmd;
  }
  const auto* entry = ctx.catalog.find(j.kind);
  retry_policy policy = entry != nullptr ? entry->options.retry : retry_policy{};
  auto decision = decide_retry(policy, f.attempt, j.max_attempts, f.retryable, ctx.unit_random);
  cmd.error = {f.attempt, ctx.now_ms, std::move(f.error), f.retryable};
  if (decision.retry) {
    cmd.next = job_status::retrying;
    cmd.run_at_ms = ctx.now_ms + static_cast<std::int64_t>(decision.delay_ms);
  } else {
    cmd.next = job_status::dead;
  }
  return cmd;
}

} // namespace hypercore
