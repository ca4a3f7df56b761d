// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/janitor.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/core/clock.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/persistence/store_call.hpp"

namespace hypercore {

namespace {

// Collects up to opts.batch ids of jobs whose retention ran out.
caf::expected<std::vector<job_id>> expired_ids(persistence::lmdb_env& env, std::int64_t cutoff,
                                               std::size_t batch) {
  return persistence::read_tables(env, [&](persistence::job_tables& t) {
    std::vector<job_id> ids;
    t.scan_expired(cutoff, [&](const job_id& id) {
      ids.push_back(id);
      return ids.size() < batch;
    });
    return ids;
  });
}

} // namespace

janitor_actor spawn_janitor(caf::actor_system& sys, journal_actor journal,
                            std::shared_ptr<persistence::lmdb_env> env, janitor_options opts) {
  auto clock = clock_or_system(opts.clock);
  return sys.spawn([=](janitor_actor::pointer self) -> janitor_actor::behavior_type {
    self->delayed_send(self, opts.interval, tick_atom::value);
    return {
      [=](sweep_atom) -> caf::result<std::uint64_t> {
        auto cutoff = clock() - opts.retention.count();
        auto ids = expired_ids(*env, cutoff, opts.batch);
        if (!ids) return ids.error();
        if (ids->empty()) return std::uint64_t{0};
        return self->delegate(journal, purge_jobs{std::move(*ids), cutoff});
      },
      [=](tick_atom) {
        self->request(caf::actor_cast<janitor_actor>(self), caf::infinite, sweep_atom::value)
          .then(
            [=](std::uint64_t n) {
              if (n > 0) spdlog::info("janitor: removed {} expired jobs", n);
              // A full batch means more are waiting: go again soon.
              auto next = n >= opts.batch ? std::chrono::milliseconds(10) : opts.interval;
              self->delayed_send(self, next, tick_atom::value);
            },
            [=](caf::error& err) {
              spdlog::warn("janitor: sweep failed: {}", message_of(err));
              self->delayed_send(self, opts.interval, tick_atom::value);
            });
      },
    };
  });
}

} // namespace hypercore
