// SPDX-License-Identifier: Apache-2.0
#pragma once

// engine::impl: what the facade holds (the actor system, the store, the
// handles of the core actors, which the supervisor replaces) and the helpers
// every group of engine calls shares. Private to runtime/: the facade's
// sources are split by responsibility (engine.cpp: lifecycle and stats;
// engine_submit.cpp: submits, cancels, replays; engine_reads.cpp: reads,
// waits and subscriptions; engine_sessions.cpp: sessions and retention).

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/logger.hpp>
#include <caf/scoped_actor.hpp>

#include "hypercore/actors/agent_pool.hpp"
#include "hypercore/actors/feed.hpp"
#include "hypercore/actors/janitor.hpp"
#include "hypercore/actors/journal.hpp"
#include "hypercore/actors/submit_answerer.hpp"
#include "hypercore/actors/partition.hpp"
#include "hypercore/actors/session_store.hpp"
#include "hypercore/actors/supervisor.hpp"
#include "hypercore/core/admission.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/core/kind_catalog.hpp"
#include "hypercore/engine.hpp"
#include "hypercore/persistence/lmdb_env.hpp"

namespace hypercore {

// A scoped_actor leaves CAF's logger referenced from the calling thread
// (thread-local, CAF 0.17), and ~actor_system waits until every such
// reference is gone: a caller's thread that lives on (an HTTP worker) would
// hang shutdown. Drop the reference when the call ends.
struct caller_thread_guard {
  ~caller_thread_guard() { caf::logger::set_current_actor_system(nullptr); }
};

// A failed request's error as the engine reports it.
inline caf::error request_error_of(caf::error err) {
  if (err == caf::sec::request_timeout)
    return make_error(errc::timeout, "timed out waiting for a reply");
  if (err == caf::sec::request_receiver_down)
    return make_error(errc::unavailable,
                      "the actor that answers this stopped; retry: it is being replaced");
  return err;
}

struct engine::impl {
  engine_config cfg;
  /// cfg.clock, or the system clock: what every actor is given.
  clock_fn clock;
  std::shared_ptr<kind_catalog> catalog = std::make_shared<kind_catalog>();
  admission_limits limits;
  std::unique_ptr<caf::actor_system_config> sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<persistence::lmdb_env> env;
  std::shared_ptr<journal_health> health = std::make_shared<journal_health>();
  /// Every journal of this engine records its commits here (metrics).
  std::shared_ptr<commit_meter> meter = std::make_shared<commit_meter>();
  std::map<std::string, agent_pool_actor> pools;
  supervisor_actor supervisor;
  std::atomic<bool> running{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> journal_up{false};
  std::atomic<std::uint64_t> core_restarts{0};
  /// Shared by every call, unique while start() or shutdown() changes what
  /// the calls use (the actor system, the store): a call never runs into a
  /// half-torn-down engine.
  mutable std::shared_mutex lifecycle;
  /// Guards the core handles below, which the supervisor replaces.
  mutable std::mutex handles;
  journal_actor journal;
  /// The submits handed to the journal and not answered yet, and the actor
  /// that answers them from the journal's commits (see submit_tickets.hpp).
  std::shared_ptr<submit_tickets> tickets = std::make_shared<submit_tickets>();
  submit_answerer_actor answerer;
  /// Set in start(), reset in shutdown(); the supervisor replaces it.
  feed_actor feed;
  /// engine_config::on_transition, fed by the feed, and the position it
  /// expects next (where a resubscription after a feed restart resumes).
  subscription on_transition_sub;
  std::atomic<std::uint64_t> on_transition_next{1};
  /// Bumped (and announced) each time the feed is replaced or shutdown
  /// begins: a wait() whose feed died sleeps on this, not on a timer.
  std::mutex feed_mutex;
  std::condition_variable feed_changed;
  std::uint64_t feed_generation = 0;

  void announce_feed_change() {
    {
      std::lock_guard<std::mutex> guard{feed_mutex};
      ++feed_generation;
    }
    feed_changed.notify_all();
  }
  std::vector<partition_actor> partitions;
  janitor_actor janitor;
  session_store_actor sessions;

  feed_actor feed_handle() const {
    std::lock_guard<std::mutex> guard{handles};
    return feed;
  }
  journal_actor journal_handle() const {
    std::lock_guard<std::mutex> guard{handles};
    return journal;
  }
  partition_actor partition_handle(std::uint16_t p) const {
    std::lock_guard<std::mutex> guard{handles};
    return partitions.at(p % partitions.size());
  }
  session_store_actor sessions_handle() const {
    std::lock_guard<std::mutex> guard{handles};
    return sessions;
  }
  janitor_actor janitor_handle() const {
    std::lock_guard<std::mutex> guard{handles};
    return janitor;
  }

  // Runs a blocking request and returns its single result, or the error.
  // A receiver that is gone (being replaced) is errc::unavailable.
  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& dest, caf::duration timeout, Ts&&... xs) {
    if (!dest) return make_error(errc::unavailable, "the actor that answers this is restarting");
    caller_thread_guard guard;
    caf::scoped_actor self{*sys};
    caf::expected<T> out{make_error(errc::timeout, "no reply")};
    self->request(dest, timeout, std::forward<Ts>(xs)...)
      .receive([&](T& value) { out = std::move(value); },
               [&](caf::error& err) {
                 out = request_error_of(std::move(err));
               });
    return out;
  }

  // Checks and admits a batch of submits (the shared front of every
  // submit); the caller holds enter().
  caf::expected<append_jobs> admit_batch(std::vector<job_spec>&& specs);
  // Admits and journals a batch, waiting for the commit.
  caf::expected<std::vector<submission>> submit_now(std::vector<job_spec>&& specs);
  // Hands an admitted batch to `journal` under a ticket whose completion is
  // `done`: run by the answerer, or with an error at `deadline`, or at once
  // on this thread when that journal is already down or the engine is
  // stopping (then nothing is sent).
  std::uint64_t send_ticketed(const journal_actor& journal, append_jobs&& cmd,
                              submit_tickets::completion done,
                              submit_tickets::clock_type::time_point deadline);

  caf::duration request_timeout() const { return caf::duration{cfg.request_timeout}; }

  // Subscribes without entering (start() holds the lifecycle lock).
  caf::expected<subscription> subscribe(const feed_filter& filter, subscription_hooks hooks,
                                        const subscribe_options& how, std::string name);

  caf::expected<job_view> read_job(const job_id& id);

  // A call's hold on the engine, or none (with the reason) once shutdown
  // began: new calls must not keep the lock busy, or shutdown would wait
  // for a stream of readers forever.
  std::pair<std::shared_lock<std::shared_mutex>, caf::error> enter() const {
    if (auto err = check_running()) return {std::shared_lock<std::shared_mutex>{}, err};
    std::shared_lock<std::shared_mutex> life{lifecycle};
    if (auto err = check_running()) return {std::shared_lock<std::shared_mutex>{}, err};
    return {std::move(life), caf::error{}};
  }

  caf::error check_running() const {
    if (!running) return make_error(errc::not_running, "the engine is not running");
    if (stopping) return make_error(errc::shutting_down, "the engine is shutting down");
    return {};
  }

  // Writes need a journal; while it is being replaced they fail fast.
  caf::error check_writable() const {
    if (auto err = check_running()) return err;
    if (!journal_up) return make_error(errc::unavailable, "the journal is restarting; retry shortly");
    return {};
  }

  partition_options partition_opts(std::uint16_t p) const;

  partition_actor make_partition(std::uint16_t p, journal_actor j);

  janitor_actor make_janitor(journal_actor j);

  session_store_actor make_sessions(journal_actor j);

  journal_actor make_journal();

  // The feed position the next transition gets, as the store says.
  caf::expected<std::uint64_t> stored_next_position();

  static feed_filter on_transition_filter();

  subscription_hooks on_transition_hooks();

  // After a feed restart, from where on_transition stopped (the event log
  // fills in what the old feed never delivered). Not awaited: this runs on
  // the supervisor, which must not block a scheduler thread.
  void relisten_on_transition();

  void watch(const caf::actor& target, std::string name) {
    caf::anon_send(supervisor, watch_atom::value, target, std::move(name));
  }

  // The supervisor's callbacks (its thread): a core actor died; replace it.
  std::chrono::milliseconds on_down(const std::string& name) {
    if (name != "journal") return std::chrono::milliseconds(0);
    // Not ready while it is away; the pause bounds a crash loop.
    journal_up = false;
    return cfg.journal_restart_delay;
  }
  caf::actor replace(const std::string& name);
};

} // namespace hypercore
