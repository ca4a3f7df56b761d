// SPDX-License-Identifier: Apache-2.0
// Writes through the engine: submits (admitted here, appended by the
// journal), cancels (decided by the owning partition) and replays.
#include "hypercore/engine_impl.hpp"

#include "hypercore/core/clock.hpp"

namespace hypercore {

caf::expected<job_id> engine::submit(const job_spec& spec) {
  auto ids = submit_batch({spec});
  if (!ids) return ids.error();
  return ids->front();
}

caf::expected<std::vector<job_id>> engine::submit_batch(const std::vector<job_spec>& specs) {
  auto done = submit_all(specs);
  if (!done) return done.error();
  std::vector<job_id> ids;
  ids.reserve(done->size());
  for (const auto& s : *done) ids.push_back(s.id);
  return ids;
}

caf::expected<std::vector<submission>> engine::submit_all(const std::vector<job_spec>& specs) {
  auto& m = *impl_;
  if (auto err = m.check_writable()) return err;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  if (specs.empty()) return make_error(errc::invalid_request, "a batch needs at least one job");
  if (specs.size() > m.cfg.max_batch_jobs)
    return make_error(errc::payload_too_large,
                      "a batch holds at most " + std::to_string(m.cfg.max_batch_jobs) + " jobs");
  if (m.cfg.max_pending_jobs > 0) {
    // As of the journal's last commit (one atomic load; it was a read
    // transaction per submit). Submits in flight are not counted, as they
    // were not by the read either.
    auto pending = m.health->waiting();
    if (pending + specs.size() > m.cfg.max_pending_jobs)
      return make_error(errc::overloaded, std::to_string(pending)
                                            + " jobs are pending; the limit is "
                                            + std::to_string(m.cfg.max_pending_jobs)
                                            + ". Retry later.");
  }
  append_jobs cmd;
  cmd.jobs.reserve(specs.size());
  auto now = m.clock();
  std::string problems;
  caf::error first;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto admitted = admit(specs[i], *m.catalog, m.limits, nullptr, now);
    if (!admitted) {
      if (!first) first = admitted.error();
      if (specs.size() > 1) problems += "\n  jobs[" + std::to_string(i) + "]: " + message_of(admitted.error());
      continue;
    }
    cmd.jobs.push_back(std::move(*admitted));
  }
  if (first) {
    if (specs.size() == 1) return first;
    return make_error(code_of(first), "batch refused, nothing was written:" + problems);
  }
  // The partitions hear of the new jobs from the feed.
  auto receipt = m.ask<append_receipt>(m.journal_handle(), m.request_timeout(), std::move(cmd));
  if (!receipt) return receipt.error();
  std::vector<submission> out;
  out.reserve(receipt->refs.size());
  for (const auto& ref : receipt->refs) out.push_back({ref.id, ref.duplicate});
  return out;
}

caf::expected<job_view> engine::submit_and_wait(const job_spec& spec,
                                                std::chrono::milliseconds timeout) {
  auto id = submit(spec);
  if (!id) return id.error();
  return wait(*id, timeout);
}

caf::expected<job_status> engine::cancel(const job_id& id) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  auto current = m.read_job(id);
  if (!current) return current.error();
  if (is_terminal(current->record.status))
    return make_error(errc::invalid_transition,
                      "job " + id.to_string() + " is already "
                        + std::string{to_string(current->record.status)});
  return m.ask<job_status>(m.partition_handle(current->record.partition), m.request_timeout(),
                           cancel_atom::value, id);
}

caf::expected<std::vector<job_id>> engine::replay(const std::vector<job_id>& ids) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  auto receipt = m.ask<append_receipt>(m.journal_handle(), m.request_timeout(), replay_dead{ids});
  if (!receipt) return receipt.error();
  std::vector<job_id> out;
  for (const auto& ref : receipt->refs) out.push_back(ref.id);
  return out;
}

caf::expected<std::vector<job_id>> engine::replay(const dead_filter& filter) {
  auto dead = dead_letters(filter);
  if (!dead) return dead.error();
  std::vector<job_id> ids;
  for (const auto& j : *dead) ids.push_back(j.id);
  if (ids.empty()) return ids;
  return replay(ids);
}

} // namespace hypercore
