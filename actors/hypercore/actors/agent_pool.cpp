// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/agent_pool.hpp"

#include <deque>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/actors/agent_worker.hpp"
#include "hypercore/actors/restart_limiter.hpp"
#include "hypercore/core/log_context.hpp"
#include "hypercore/core/clock.hpp"
#include "hypercore/core/errc.hpp"

namespace hypercore {

namespace {

struct worker_slot {
  agent_worker_actor handle;
  std::shared_ptr<std::atomic<bool>> stop;
};

struct queued_attempt {
  run_job cmd;
  caf::typed_response_promise<job_finished> promise;
};

// One attempt handed to a worker, until it answers or times out.
struct in_flight_attempt {
  worker_slot worker;
  job_id id;
  std::uint32_t attempt = 0;
  caf::actor_clock::time_point started;
  caf::typed_response_promise<job_finished> promise;
};

struct pool_state {
  static inline const char* name = "hypercore.agent_pool";

  catalog_ptr catalog;
  std::string kind;
  admission_limits limits;
  agent_options options;
  std::deque<worker_slot> idle;
  /// Stop flags of every worker started, to end attempts at shutdown.
  std::vector<std::weak_ptr<std::atomic<bool>>> stops;
  std::deque<queued_attempt> queue;
  std::size_t alive = 0;
  std::size_t pending_respawns = 0;
  std::uint64_t restarts = 0;
  bool paused = false;
  bool sweep_armed = false;
  std::uint64_t next_token = 0;
  std::unordered_map<std::uint64_t, in_flight_attempt> in_flight;
  restart_limiter limiter;
  journal_actor journal;
  /// Shutdown began: no attempt starts any more.
  bool draining = false;
  /// Wall-clock time for journaled starts and the restart intensity.
  clock_fn clock;
  /// Asked idle_atom while attempts were running: answered when none is.
  std::vector<caf::typed_response_promise<pool_stats>> idle_waiters;

  pool_stats stats() const {
    return pool_stats{static_cast<std::uint64_t>(alive), static_cast<std::uint64_t>(queue.size()),
                      restarts, static_cast<std::uint64_t>(in_flight.size()), paused};
  }
};

using pool_actor = agent_pool_actor::stateful_base<pool_state>;


void pump(pool_actor* self);

// An attempt ended: answer whoever waits for the pool to be idle.
void notify_if_idle(pool_actor* self) {
  auto& st = self->state;
  if (!st.in_flight.empty() || st.idle_waiters.empty()) return;
  for (auto& rp : st.idle_waiters) rp.deliver(st.stats());
  st.idle_waiters.clear();
}

void start_worker(pool_actor* self) {
  auto& st = self->state;
  auto stop = std::make_shared<std::atomic<bool>>(false);
  auto w = spawn_agent_worker(self->system(), st.catalog, st.kind, st.limits, stop, st.clock);
  // The worker dies with the pool: no orphan threads after shutdown.
  self->link_to(w);
  ++st.alive;
  st.stops.push_back(stop);
  st.idle.push_back({w, stop});
}

// A worker is gone (crashed or abandoned after a timeout): replace it, now
// or after the pause the restart intensity asks for.
void replace_worker(pool_actor* self, bool crashed) {
  auto& st = self->state;
  --st.alive;
  if (crashed) {
    ++st.restarts;
    auto pause = st.limiter.on_crash(st.clock());
    if (pause > 0) {
      spdlog::error("agent kind '{}' crashed more than 10 times in 5 s: pausing restarts "
                    "for {} ms",
                    st.kind, pause);
      st.paused = true;
      ++st.pending_respawns;
      self->delayed_send(self, std::chrono::milliseconds(pause), respawn_atom::value);
      return;
    }
  }
  start_worker(self);
}


job_finished failed_attempt(const job_id& id, std::uint32_t attempt, std::string message) {
  job_finished f;
  f.id = id;
  f.attempt = attempt;
  f.error = std::move(message);
  f.retryable = true;
  return f;
}

void arm_sweep(pool_actor* self);

// Ends every attempt that ran past the kind's timeout. One periodic sweep
// replaces a clock entry per attempt (CAF's request timeouts), which cost a
// wake-up of the clock thread for every job.
void sweep_timeouts(pool_actor* self) {
  auto& st = self->state;
  st.sweep_armed = false;
  auto now = self->clock().now();
  for (auto it = st.in_flight.begin(); it != st.in_flight.end();) {
    auto& a = it->second;
    if (now - a.started < st.options.timeout) {
      ++it;
      continue;
    }
    // The worker may be blocked inside the agent: ask it to stop, cut it
    // loose, and let the attempt count as a retryable failure. Its late
    // answer finds no entry here and is dropped.
    a.worker.stop->store(true);
    self->unlink_from(a.worker.handle);
    self->send_exit(a.worker.handle, caf::exit_reason::user_shutdown);
    a.promise.deliver(failed_attempt(
      a.id, a.attempt, "agent timed out after " + std::to_string(st.options.timeout.count()) + " ms"));
    {
      log_scope scope{{{"job_id", a.id.to_string()}, {"kind", st.kind},
                       {"attempt", std::to_string(a.attempt)}}};
      spdlog::warn("agent '{}' timed out on job {} (attempt {})", st.kind, a.id.to_string(),
                   a.attempt);
    }
    it = st.in_flight.erase(it);
    replace_worker(self, false);
  }
  notify_if_idle(self);
  arm_sweep(self);
  pump(self);
}

void arm_sweep(pool_actor* self) {
  auto& st = self->state;
  if (st.sweep_armed || st.in_flight.empty()) return;
  st.sweep_armed = true;
  auto period = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(5),
                                                    st.options.timeout / 4);
  self->delayed_send(self, period, sweep_atom::value);
}

void pump(pool_actor* self) {
  auto& st = self->state;
  while (!st.draining && !st.paused && !st.idle.empty() && !st.queue.empty()) {
    auto w = st.idle.front();
    st.idle.pop_front();
    auto item = std::move(st.queue.front());
    st.queue.pop_front();
    auto token = ++st.next_token;
    auto id = item.cmd.j.id;
    auto attempt = item.cmd.j.attempts;
    // Copied only when payloads may be logged (off by default): a crash's
    // log line then carries the params, secret-looking keys redacted.
    auto params = log_payloads() ? redacted(item.cmd.j.params) : std::string{};
    st.in_flight.emplace(token, in_flight_attempt{w, id, attempt, self->clock().now(), item.promise});
    arm_sweep(self);
    // Journaled without waiting (group-committed): the attempt count survives
    // a crash, and "running" means an agent holds the attempt.
    if (st.journal) self->send(st.journal, record_start{id, attempt, st.clock()});
    self->request(w.handle, caf::infinite, std::move(item.cmd))
      .then(
        [=](job_finished& f) {
          auto& s = self->state;
          auto it = s.in_flight.find(token);
          if (it == s.in_flight.end()) return; // timed out already
          it->second.promise.deliver(std::move(f));
          s.in_flight.erase(it);
          s.idle.push_back(w);
          notify_if_idle(self);
          pump(self);
        },
        [=](caf::error& err) {
          auto& s = self->state;
          auto it = s.in_flight.find(token);
          if (it == s.in_flight.end()) return; // timed out already
          it->second.promise.deliver(
            failed_attempt(id, attempt, "agent crashed: " + message_of(err)));
          s.in_flight.erase(it);
          {
            std::vector<log_field> fields{{"job_id", id.to_string()}, {"kind", s.kind},
                                          {"attempt", std::to_string(attempt)}};
            if (!params.empty()) fields.emplace_back("params", params);
            log_scope scope{std::move(fields)};
            spdlog::warn("agent '{}' crashed on job {} (attempt {}): {}", s.kind, id.to_string(),
                         attempt, message_of(err));
          }
          replace_worker(self, true);
          notify_if_idle(self);
          pump(self);
        });
  }
}

agent_pool_actor::behavior_type pool_behavior(pool_actor* self, catalog_ptr catalog,
                                              std::string kind, admission_limits limits,
                                              journal_actor journal, clock_fn clock) {
  auto& st = self->state;
  st.clock = clock_or_system(clock);
  st.journal = std::move(journal);
  st.catalog = std::move(catalog);
  st.kind = std::move(kind);
  st.limits = limits;
  if (const auto* entry = st.catalog->find(st.kind)) st.options = entry->options;
  // A crashing worker must not take the pool down with it: its attempt is
  // answered through the request's error branch. The engine stops pools
  // with exit_reason::kill, which no exit handler can trap.
  self->set_exit_handler([](caf::exit_msg&) {});
  for (std::uint32_t i = 0; i < std::max<std::uint32_t>(1, st.options.concurrency); ++i)
    start_worker(self);
  return {
    [=](run_job& cmd) -> caf::result<job_finished> {
      if (self->state.draining) return make_error(errc::shutting_down, "not started: shutting down");
      auto rp = self->make_response_promise<job_finished>();
      self->state.queue.push_back({std::move(cmd), rp});
      pump(self);
      return rp;
    },
    [=](respawn_atom) {
      auto& s = self->state;
      if (s.pending_respawns > 0) {
        --s.pending_respawns;
        start_worker(self);
      }
      if (s.pending_respawns == 0) s.paused = false;
      pump(self);
    },
    [=](sweep_atom) { sweep_timeouts(self); },
    [=](drain_atom) {
      // Shutdown began: start nothing more. Queued attempts never started, so
      // they cost the job nothing; the partition is draining and drops these.
      auto& s = self->state;
      s.draining = true;
      for (auto& item : s.queue)
        item.promise.deliver(make_error(errc::shutting_down, "not started: shutting down"));
      s.queue.clear();
    },
    [=](halt_atom) {
      // The shutdown deadline: ask every running attempt to end; cooperative
      // agents return.
      for (auto& weak : self->state.stops)
        if (auto flag = weak.lock()) flag->store(true);
    },
    [=](idle_atom) -> caf::result<pool_stats> {
      auto& s = self->state;
      if (s.in_flight.empty()) return s.stats();
      auto rp = self->make_response_promise<pool_stats>();
      s.idle_waiters.push_back(rp);
      return rp;
    },
    [=](journal_atom, journal_actor& j) { self->state.journal = std::move(j); },
    [=](stats_atom) {
      auto& s = self->state;
      return s.stats();
    },
  };
}

} // namespace

agent_pool_actor spawn_agent_pool(caf::actor_system& sys, catalog_ptr catalog, std::string kind,
                                  admission_limits limits, journal_actor journal, clock_fn clock) {
  return sys.spawn(pool_behavior, std::move(catalog), std::move(kind), limits,
                   std::move(journal), std::move(clock));
}

} // namespace hypercore
