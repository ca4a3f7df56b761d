// SPDX-License-Identifier: Apache-2.0
// Writes through the engine: submits (admitted here, appended by the
// journal), cancels (decided by the owning partition) and replays.
#include "hypercore/engine_impl.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>

#include <caf/send.hpp>

#include "hypercore/core/clock.hpp"

namespace hypercore {

namespace {

std::vector<job_id> ids_of(const std::vector<submission>& done) {
  std::vector<job_id> ids;
  ids.reserve(done.size());
  for (const auto& s : done) ids.push_back(s.id);
  return ids;
}

} // namespace

caf::expected<job_id> engine::submit(const job_spec& spec) {
  return submit(job_spec{spec});  // the one copy; braces around a vector would make two
}

caf::expected<job_id> engine::submit(job_spec&& spec) {
  std::vector<job_spec> one;
  one.push_back(std::move(spec));
  auto done = impl_->submit_now(std::move(one));
  if (!done) return done.error();
  return done->front().id;
}

caf::expected<std::vector<job_id>> engine::submit_batch(const std::vector<job_spec>& specs) {
  return submit_batch(std::vector<job_spec>(specs));
}

caf::expected<std::vector<job_id>> engine::submit_batch(std::vector<job_spec>&& specs) {
  auto done = impl_->submit_now(std::move(specs));
  if (!done) return done.error();
  return ids_of(*done);
}

caf::expected<std::vector<submission>> engine::submit_all(const std::vector<job_spec>& specs) {
  return impl_->submit_now(std::vector<job_spec>(specs));
}

caf::expected<std::vector<submission>> engine::submit_all(std::vector<job_spec>&& specs) {
  return impl_->submit_now(std::move(specs));
}

caf::expected<append_jobs> engine::impl::admit_batch(std::vector<job_spec>&& specs) {
  if (auto err = check_writable()) return err;
  if (specs.empty()) return make_error(errc::invalid_request, "a batch needs at least one job");
  if (specs.size() > cfg.max_batch_jobs)
    return make_error(errc::payload_too_large,
                      "a batch holds at most " + std::to_string(cfg.max_batch_jobs) + " jobs");
  if (cfg.max_pending_jobs > 0) {
    // As of the journal's last commit (one atomic load; it was a read
    // transaction per submit). Submits in flight are not counted, as they
    // were not by the read either.
    auto pending = health->waiting();
    if (pending + specs.size() > cfg.max_pending_jobs)
      return make_error(errc::overloaded, std::to_string(pending)
                                            + " jobs are pending; the limit is "
                                            + std::to_string(cfg.max_pending_jobs)
                                            + ". Retry later.");
  }
  append_jobs cmd;
  cmd.jobs.reserve(specs.size());
  auto now = clock();
  std::string problems;
  caf::error first;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto admitted = admit(std::move(specs[i]), *catalog, limits, nullptr, now);
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
  return cmd;
}

namespace {

std::vector<submission> submissions_of(const append_receipt& receipt) {
  std::vector<submission> out;
  out.reserve(receipt.refs.size());
  for (const auto& ref : receipt.refs) out.push_back({ref.id, ref.duplicate});
  return out;
}

// A blocking caller's end of a ticket: filled by the answerer's thread.
struct answer_slot {
  std::mutex mutex;
  std::condition_variable filled;
  std::optional<caf::expected<append_receipt>> result;

  void fill(caf::expected<append_receipt> r) {
    {
      std::lock_guard<std::mutex> guard{mutex};
      result.emplace(std::move(r));
    }
    filled.notify_one();
  }
};

} // namespace

std::uint64_t engine::impl::send_ticketed(const journal_actor& journal, append_jobs&& cmd,
                                          submit_tickets::completion done,
                                          submit_tickets::clock_type::time_point deadline) {
  // Opened before the send, so the answer cannot arrive first.
  auto ticket = tickets->open(std::move(done), deadline, journal->id());
  // 0: refused at once (that journal is down, or the engine is stopping),
  // and `done` already ran.
  if (ticket != 0) caf::anon_send(journal, ticketed_append{ticket, std::move(cmd)});
  return ticket;
}

caf::expected<std::vector<submission>> engine::impl::submit_now(std::vector<job_spec>&& specs) {
  if (auto err = check_writable()) return err;
  auto [life, refused] = enter();
  if (refused) return refused;
  auto cmd = admit_batch(std::move(specs));
  if (!cmd) return cmd.error();
  auto journal = journal_handle();
  if (!journal) return make_error(errc::unavailable, "the journal is restarting; retry shortly");
  // The partitions hear of the new jobs from the feed.
  auto slot = std::make_shared<answer_slot>();
  auto deadline = submit_tickets::clock_type::now() + cfg.request_timeout;
  auto ticket = send_ticketed(journal, std::move(*cmd),
                              [slot](caf::expected<append_receipt> r) { slot->fill(std::move(r)); },
                              deadline);
  std::unique_lock<std::mutex> lock{slot->mutex};
  auto answered = [&] { return slot->result.has_value(); };
  if (!slot->filled.wait_until(lock, deadline, answered)) {
    lock.unlock();
    if (tickets->withdraw(ticket))
      return make_error(errc::timeout, "timed out waiting for the journal's answer");
    // An answer took the ticket first: its completion is filling the slot.
    lock.lock();
    slot->filled.wait(lock, answered);
  }
  auto& result = *slot->result;
  if (!result) return result.error();
  return submissions_of(*result);
}

void engine::submit_async(std::vector<job_spec> specs, submit_done done) {
  auto& m = *impl_;
  if (auto err = m.check_writable()) return done(err);
  auto [life, refused] = m.enter();
  if (refused) return done(refused);
  auto cmd = m.admit_batch(std::move(specs));
  if (!cmd) return done(cmd.error());
  auto journal = m.journal_handle();
  if (!journal) return done(make_error(errc::unavailable, "the journal is restarting; retry shortly"));
  auto deadline = submit_tickets::clock_type::now() + m.cfg.request_timeout;
  m.send_ticketed(journal, std::move(*cmd),
                  [done = std::move(done)](caf::expected<append_receipt> r) {
                    if (!r) done(r.error());
                    else done(submissions_of(*r));
                  },
                  deadline);
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
