// SPDX-License-Identifier: Apache-2.0
// Reads through the engine: a job, the dead letters, a wait for a job's end
// and subscriptions to the feed. Reads open short LMDB read transactions on
// the caller's thread; waiting is done on the feed, never by polling.
#include "hypercore/engine_impl.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include "hypercore/core/clock.hpp"
#include "hypercore/core/utf8.hpp"
#include "hypercore/persistence/store_call.hpp"

namespace hypercore {

using persistence::job_tables;

caf::expected<job_view> engine::wait(const job_id& id, std::chrono::milliseconds timeout) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  auto until = std::chrono::steady_clock::now() + timeout;
  struct waiter {
    std::mutex mutex;
    std::condition_variable changed_cv;
    bool changed = false;
    bool ended = false;
  };
  auto w = std::make_shared<waiter>();
  auto wake = [w](bool end) {
    {
      std::lock_guard<std::mutex> guard{w->mutex};
      (end ? w->ended : w->changed) = true;
    }
    w->changed_cv.notify_all();
  };
  auto hooks = [wake] {
    subscription_hooks h;
    h.on_transitions = [wake](const std::vector<transition>&) { wake(false); };
    h.on_lost = [wake](std::uint64_t, std::uint64_t) { wake(false); };
    h.on_end = [wake] { wake(true); };
    return h;
  };
  feed_filter terminal;
  terminal.job = id;
  terminal.statuses = feed_filter::terminal_statuses();
  subscribe_options how;
  how.capacity = 16;
  // A feed being replaced refuses subscriptions for a moment: try again
  // until the supervisor has put the new one in place.
  auto subscribe = [&]() -> caf::expected<subscription> {
    for (;;) {
      std::uint64_t generation = 0;
      {
        std::lock_guard<std::mutex> guard{m.feed_mutex};
        generation = m.feed_generation;
      }
      auto sub = m.subscribe(terminal, hooks(), how, "wait");
      if (sub || m.stopping) return sub;
      // Refused by a feed that is gone: wait for its replacement (or the
      // shutdown), which replace() announces, then subscribe there.
      std::unique_lock<std::mutex> lock{m.feed_mutex};
      if (!m.feed_changed.wait_until(lock, until, [&] {
            return m.feed_generation != generation || m.stopping;
          }))
        return sub;
    }
  };
  // Subscribed first, then read: a transition committed in between is in
  // the store or reaches the subscription.
  auto sub = subscribe();
  if (!sub) return sub.error();
  for (;;) {
    auto current = m.read_job(id);
    if (!current) return current.error();
    if (is_terminal(current->record.status)) return current;
    std::unique_lock<std::mutex> lock{w->mutex};
    if (!w->changed_cv.wait_until(lock, until, [&] { return w->changed || w->ended; }))
      return make_error(errc::timeout, "the job is not terminal yet");
    if (w->ended && !w->changed) {
      if (m.stopping) return make_error(errc::shutting_down, "the engine is shutting down");
      // The feed was replaced: subscribe to the new one (once the
      // supervisor has put it in place) and read again.
      w->ended = false;
      lock.unlock();
      auto again = subscribe();
      if (!again) return again.error();
      *sub = std::move(*again);
      continue;
    }
    w->changed = false;
  }
}

caf::expected<subscription> engine::subscribe(const feed_filter& filter,
                                              std::function<void(const transition&)> on_transition) {
  if (!on_transition) return make_error(errc::invalid_request, "subscribe needs a callback");
  subscription_hooks hooks;
  hooks.on_transitions = [cb = std::move(on_transition)](const std::vector<transition>& batch) {
    for (const auto& t : batch) cb(t);
  };
  return subscribe(filter, std::move(hooks));
}

caf::expected<subscription> engine::subscribe(const feed_filter& filter, subscription_hooks hooks,
                                              subscribe_options opts) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  return m.subscribe(filter, std::move(hooks), opts, "subscriber");
}

std::uint64_t engine::feed_position() {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return 0;
  auto s = m.ask<feed_stats>(m.feed_handle(), m.request_timeout(), stats_atom::value);
  return s ? s->next_position : 0;
}

caf::expected<job_view> engine::get(const job_id& id) {
  auto [life, refused] = impl_->enter();
  if (refused) return refused;
  return impl_->read_job(id);
}

caf::expected<job_view> engine::get(const std::string& id_text) {
  auto id = job_id::parse(id_text);
  if (!id) return make_error(errc::malformed_id, "not a job id: '" + quote_for_message(id_text) + "'");
  return get(*id);
}

caf::expected<std::vector<job>> engine::dead_letters(const dead_filter& filter) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  std::vector<job> out;
  auto cutoff = m.clock() - filter.older_than.count();
  auto read = persistence::read_tables(*m.env, [&](job_tables& t) {
    t.scan_dead([&](const job_id& id) {
      auto j = t.get_job(id);
      if (j && (filter.kind.empty() || j->kind == filter.kind) && j->finished_at_ms <= cutoff)
        out.push_back(std::move(*j));
      return out.size() < filter.limit;
    });
  });
  if (read) return read;
  return out;
}

caf::expected<backlog_counts> engine::backlog() {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  const auto partitions = m.cfg.partitions;
  return persistence::read_tables(*m.env, [partitions](job_tables& t) {
    backlog_counts out;
    auto last = t.last_event();
    out.position = std::max<std::uint64_t>({1, t.feed_mark(), last ? *last + 1 : 0});
    out.waiting_by_partition.assign(partitions, 0);
    auto count_waiting = [&](std::uint16_t p, const job_id& id) {
      auto head = t.get_job_head(id);
      // The pending index also holds keyed jobs while they run.
      if (!head || (head->status != job_status::pending && head->status != job_status::retrying))
        return;
      ++out.waiting_by_kind[std::string{head->kind}];
      ++out.waiting_by_partition[p];
    };
    for (std::uint16_t p = 0; p < partitions; ++p) {
      t.scan_pending(p, 0, [&](const persistence::pending_entry& e) {
        count_waiting(p, e.id);
        return true;
      });
      t.scan_scheduled(p, 0, 0, std::numeric_limits<std::int64_t>::max(),
                       [&](std::int64_t, std::uint64_t, const job_id& id) {
                         count_waiting(p, id);
                         return true;
                       });
    }
    t.scan_dead([&](const job_id& id) {
      if (auto head = t.get_job_head(id)) ++out.dead_by_kind[std::string{head->kind}];
      return true;
    });
    return out;
  });
}

} // namespace hypercore
