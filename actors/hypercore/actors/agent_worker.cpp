// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/agent_worker.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/core/clock.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/core/utf8.hpp"

namespace hypercore {

namespace {

job_finished failed(const job& j, std::string message, bool retryable) {
  job_finished f;
  f.id = j.id;
  f.attempt = j.attempts;
  f.ok = false;
  f.error = std::move(message);
  f.retryable = retryable;
  return f;
}

// Runs the agent; every exception is a crash reported as an error value.
caf::expected<job_finished> run_attempt(agent& a, const kind_catalog& catalog,
                                        const admission_limits& limits, run_job& cmd,
                                        std::shared_ptr<std::atomic<bool>> stop,
                                        const clock_fn& now) {
  const auto& j = cmd.j;
  auto params = parse_params(j.params, limits);
  if (!params) return failed(j, message_of(params.error()), false);
  nlohmann::json session;
  if (cmd.has_session) {
    session = nlohmann::json::parse(cmd.session_data, nullptr, false);
    if (session.is_discarded()) session = nlohmann::json::object();
  }
  auto before = cmd.has_session ? session.dump() : std::string{};
  agent_context ctx{j, *spdlog::default_logger(), cmd.has_session ? &session : nullptr,
                    std::move(stop)};
  agent_result result;
  try {
    result = a.handle(ctx, *params);
  } catch (const std::exception& e) {
    return make_error(errc::agent_crashed, std::string{"agent threw: "} + e.what());
  } catch (...) {
    return make_error(errc::agent_crashed, "agent threw a non-standard exception");
  }
  // An error message is stored and shown: keep it UTF-8 and bounded.
  if (!result.succeeded())
    return failed(j, utf8_sanitized(utf8_prefix(result.error, 4096)), result.retryable);
  job_finished f;
  f.id = j.id;
  f.attempt = j.attempts;
  f.ok = true;
  // Malformed output (a string that is not UTF-8) fails the attempt for good
  // instead of storing something no reader could render.
  try {
    f.output = result.output->dump();
  } catch (const nlohmann::json::exception&) {
    return failed(j, "agent returned output that is not valid JSON (a string is not UTF-8)", false);
  }
  if (f.output.size() > limits.max_params_bytes)
    return failed(j, "agent output is " + std::to_string(f.output.size())
                       + " bytes; the limit is " + std::to_string(limits.max_params_bytes),
                  false);
  // Refuse bad follow-ups now, while the error can still name this job.
  for (auto& spec : ctx.emitted()) {
    auto admitted = admit(spec, catalog, limits, &j, now());
    if (!admitted)
      return failed(j, "follow-up '" + quote_for_message(spec.kind) + "' refused: "
                         + message_of(admitted.error()),
                    false);
  }
  f.followups = std::move(ctx.emitted());
  if (cmd.has_session) {
    std::string after;
    try {
      after = session.dump();
    } catch (const nlohmann::json::exception&) {
      return failed(j, "agent wrote session data that is not valid JSON (a string is not UTF-8)",
                    false);
    }
    if (after != before) {
      f.session_changed = true;
      f.session_data = std::move(after);
    }
  }
  return f;
}

} // namespace

agent_worker_actor spawn_agent_worker(caf::actor_system& sys, catalog_ptr catalog,
                                      std::string kind, admission_limits limits,
                                      std::shared_ptr<std::atomic<bool>> stop, clock_fn clock) {
  auto now = clock_or_system(clock);
  auto behavior = [catalog, kind, limits, stop,
                   now](agent_worker_actor::pointer self) -> agent_worker_actor::behavior_type {
    const auto* entry = catalog->find(kind);
    std::shared_ptr<agent> instance{entry != nullptr ? entry->factory() : nullptr};
    return {
      [=](run_job& cmd) -> caf::result<job_finished> {
        if (!instance) return make_error(errc::unknown_kind, "no factory for " + kind);
        auto out = run_attempt(*instance, *catalog, limits, cmd, stop, now);
        if (!out) {
          // A throwing agent may have left its instance in any state: end
          // this worker; the supervisor starts a fresh one.
          self->quit(out.error());
          return out.error();
        }
        return std::move(*out);
      },
    };
  };
  const auto* entry = catalog->find(kind);
  if (entry != nullptr && !entry->options.blocking) return sys.spawn(behavior);
  return sys.spawn<caf::detached>(behavior);
}

} // namespace hypercore
