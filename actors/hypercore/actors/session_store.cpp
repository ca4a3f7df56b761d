// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/session_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/core/clock.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/core/job_id.hpp"
#include "hypercore/persistence/codec.hpp"
#include "hypercore/persistence/store_call.hpp"
#include "hypercore/core/utf8.hpp"

namespace hypercore {

namespace {

caf::expected<session_record> read_live(persistence::lmdb_env& env, const std::string& id,
                                         std::int64_t now) {
  auto stored = persistence::read_tables(
    env, [&](persistence::job_tables& t) { return t.get_session(id); });
  if (!stored) return stored.error();
  if (!*stored) return make_error(errc::not_found, "no session " + quote_for_message(id));
  if (!(*stored)->live_at(now))
    return make_error(errc::not_found, "session " + quote_for_message(id) + " expired");
  return session_record{id, std::move((*stored)->data), (*stored)->expires_at_ms};
}

caf::error check_ttl(std::int64_t ttl_ms, const session_options& opts) {
  auto lo = std::chrono::duration_cast<std::chrono::milliseconds>(opts.min_ttl).count();
  auto hi = std::chrono::duration_cast<std::chrono::milliseconds>(opts.max_ttl).count();
  if (ttl_ms < lo || ttl_ms > hi)
    return make_error(errc::invalid_request, "ttl must be from " + std::to_string(opts.min_ttl.count())
                                               + " to " + std::to_string(opts.max_ttl.count())
                                               + " seconds");
  return {};
}

caf::error too_large(const session_options& opts) {
  return make_error(errc::payload_too_large,
                    "session data exceeds " + std::to_string(opts.max_data_bytes) + " bytes");
}

} // namespace

session_store_actor spawn_session_store(caf::actor_system& sys, journal_actor journal,
                                        std::shared_ptr<persistence::lmdb_env> env,
                                        session_options opts) {
  auto clock = clock_or_system(opts.clock);
  return sys.spawn([=](session_store_actor::pointer self) -> session_store_actor::behavior_type {
    self->delayed_send(self, opts.sweep_interval, tick_atom::value);
    return {
      [=](create_session& cmd) -> caf::result<session_record> {
        if (cmd.data.size() > opts.max_data_bytes) return too_large(opts);
        if (auto err = check_ttl(cmd.ttl_ms, opts)) return err;
        put_session write{job_id::generate().to_string(), std::move(cmd.data),
                          clock() + cmd.ttl_ms, false, false};
        // The journal answers with the session as written.
        return self->delegate(journal, std::move(write));
      },
      [=](update_session& cmd) -> caf::result<session_record> {
        if (cmd.has_data && cmd.data.size() > opts.max_data_bytes) return too_large(opts);
        if (cmd.ttl_ms != 0)
          if (auto err = check_ttl(cmd.ttl_ms, opts)) return err;
        put_session write{std::move(cmd.id), std::move(cmd.data),
                          cmd.ttl_ms != 0 ? clock() + cmd.ttl_ms : 0, true, !cmd.has_data};
        return self->delegate(journal, std::move(write));
      },
      [=](get_atom, const std::string& id) -> caf::result<session_record> {
        auto found = read_live(*env, id, clock());
        if (!found) return found.error();
        return std::move(*found);
      },
      [=](delete_atom, const std::string& id) -> caf::result<std::uint64_t> {
        auto rp = self->make_response_promise<std::uint64_t>();
        self->request(journal, caf::infinite, delete_sessions{{id}, 0})
          .then([=](std::uint64_t n) mutable {
                  if (n == 0) rp.deliver(make_error(errc::not_found, "no session " + quote_for_message(id)));
                  else rp.deliver(n);
                },
                [=](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [=](sweep_atom) -> caf::result<std::uint64_t> {
        auto now = clock();
        std::vector<std::string> expired;
        auto read = persistence::read_tables(*env, [&](persistence::job_tables& t) {
          t.scan_sessions([&](std::string_view id, std::int64_t expires) {
            if (expires <= now) expired.emplace_back(id);
            return expired.size() < opts.sweep_batch;
          });
        });
        if (read) return read;
        if (expired.empty()) return std::uint64_t{0};
        auto rp = self->make_response_promise<std::uint64_t>();
        self->request(journal, caf::infinite, delete_sessions{std::move(expired), now + 1})
          .then([=](std::uint64_t n) mutable { rp.deliver(n); },
                [=](caf::error& err) mutable { rp.deliver(err); });
        return rp;
      },
      [=](tick_atom) {
        self->request(caf::actor_cast<session_store_actor>(self), caf::infinite, sweep_atom::value)
          .then(
            [=](std::uint64_t n) {
              if (n > 0) spdlog::info("sessions: removed {} expired", n);
              self->delayed_send(self, opts.sweep_interval, tick_atom::value);
            },
            [=](caf::error& err) {
              spdlog::warn("sessions: sweep failed: {}", message_of(err));
              self->delayed_send(self, opts.sweep_interval, tick_atom::value);
            });
      },
    };
  });
}

} // namespace hypercore
