// SPDX-License-Identifier: Apache-2.0
#include "hypercore/engine.hpp"

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/logger.hpp>
#include <caf/scoped_actor.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/actors/admission.hpp"
#include "hypercore/actors/agent_pool.hpp"
#include "hypercore/actors/feed.hpp"
#include "hypercore/actors/feed_subscriber.hpp"
#include "hypercore/actors/janitor.hpp"
#include "hypercore/actors/journal.hpp"
#include "hypercore/actors/partition.hpp"
#include "hypercore/actors/session_store.hpp"
#include "hypercore/actors/supervisor.hpp"
#include "hypercore/core/clock.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/persistence/codec.hpp"
#include "hypercore/persistence/job_tables.hpp"
#include "hypercore/schema_validator.hpp"
#include "hypercore/core/utf8.hpp"

namespace hypercore {

using persistence::job_tables;
using persistence::read_txn;

namespace {

// A scoped_actor leaves CAF's logger referenced from the calling thread
// (thread-local, CAF 0.17), and ~actor_system waits until every such
// reference is gone: a caller's thread that lives on (an HTTP worker) would
// hang shutdown. Drop the reference when the call ends.
struct caller_thread_guard {
  ~caller_thread_guard() { caf::logger::set_current_actor_system(nullptr); }
};

} // namespace

struct engine::impl {
  engine_config cfg;
  std::shared_ptr<kind_catalog> catalog = std::make_shared<kind_catalog>();
  admission_limits limits;
  std::unique_ptr<caf::actor_system_config> sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<persistence::lmdb_env> env;
  std::shared_ptr<journal_health> health = std::make_shared<journal_health>();
  std::map<std::string, caf::actor> pools;
  caf::actor supervisor;
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
  std::vector<caf::actor> partitions;
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
  caf::actor partition_handle(std::uint16_t p) const {
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
                 if (err == caf::sec::request_timeout)
                   out = make_error(errc::timeout, "timed out waiting for a reply");
                 else if (err == caf::sec::request_receiver_down)
                   out = make_error(errc::unavailable,
                                    "the actor that answers this stopped; retry: it is being replaced");
                 else
                   out = std::move(err);
               });
    return out;
  }

  caf::duration request_timeout() const { return caf::duration{cfg.request_timeout}; }

  // Subscribes without entering (start() holds the lifecycle lock).
  caf::expected<subscription> subscribe(const feed_filter& filter, subscription_hooks hooks,
                                        const subscribe_options& how, std::string name) {
    caller_thread_guard guard;
    auto gate = std::make_shared<subscription_gate>(std::move(hooks));
    auto done = std::make_shared<std::promise<caf::expected<std::uint64_t>>>();
    auto registered = done->get_future();
    feed_subscriber_options opts;
    opts.filter = filter;
    opts.capacity = std::max<std::uint32_t>(1, how.capacity);
    opts.resume_from = how.resume_from;
    opts.own_thread = how.own_thread;
    opts.name = std::move(name);
    auto actor = spawn_feed_subscriber(*sys, feed_handle(), env, std::move(opts), gate,
                                       [done](caf::expected<std::uint64_t> r) {
                                         done->set_value(std::move(r));
                                       });
    if (registered.wait_for(cfg.request_timeout) != std::future_status::ready) {
      gate->close();
      caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
      return make_error(errc::timeout, "the feed did not register the subscription in time");
    }
    auto next = registered.get();
    if (!next) {
      gate->close();
      return next.error();
    }
    return subscription{std::move(gate), actor.address()};
  }

  caf::expected<job_view> read_job(const job_id& id) {
    try {
      read_txn txn{*env};
      job_tables t{*env, txn.get()};
      auto j = t.get_job(id);
      if (!j) return make_error(errc::not_found, "no job " + id.to_string());
      job_view view{std::move(*j), std::nullopt};
      if (view.record.status == job_status::succeeded) view.output = t.get_result(id);
      return view;
    } catch (const std::exception& e) {
      return make_error(errc::storage_unavailable, e.what());
    }
  }

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

  partition_options partition_opts(std::uint16_t p) const {
    partition_options popts;
    popts.index = p;
    popts.window = cfg.partition_window;
    popts.limits = limits;
    return popts;
  }

  caf::actor make_partition(std::uint16_t p, journal_actor j) {
    // `feed` without the lock: the callers hold `handles` (start) or are the
    // supervisor, the only one that replaces the feed while running.
    return spawn_partition(*sys, partition_links{std::move(j), feed, pools, env, catalog},
                           partition_opts(p));
  }

  janitor_actor make_janitor(journal_actor j) {
    janitor_options jan;
    jan.retention = cfg.retention;
    jan.interval = cfg.janitor_interval;
    jan.batch = cfg.janitor_batch;
    return spawn_janitor(*sys, std::move(j), env, jan);
  }

  session_store_actor make_sessions(journal_actor j) {
    session_options sess;
    sess.max_data_bytes = cfg.max_params_bytes;
    return spawn_session_store(*sys, std::move(j), env, sess);
  }

  journal_actor make_journal() {
    journal_options jopts;
    jopts.partitions = cfg.partitions;
    jopts.health = health;
    jopts.inject_write_error = cfg.inject_write_error;
    jopts.feed = caf::actor_cast<caf::actor>(feed); // see make_partition
    jopts.event_log_capacity = cfg.event_log_capacity;
    return spawn_journal(*sys, env, jopts);
  }

  // The feed position the next transition gets, as the store says.
  std::uint64_t stored_next_position() {
    read_txn txn{*env};
    job_tables t{*env, txn.get()};
    auto last = t.last_event();
    return std::max<std::uint64_t>({1, t.feed_mark(), last ? *last + 1 : 0});
  }

  static feed_filter on_transition_filter() {
    feed_filter outcomes;
    outcomes.causes = feed_filter::bit(transition_cause::outcome);
    outcomes.statuses = feed_filter::terminal_statuses() | feed_filter::bit(job_status::retrying);
    return outcomes;
  }

  subscription_hooks on_transition_hooks() {
    subscription_hooks hooks;
    hooks.on_transitions = [this, listener = cfg.on_transition](const std::vector<transition>& batch) {
      for (const auto& t : batch) listener(t.id, t.to);
      if (!batch.empty()) on_transition_next = batch.back().position + 1;
    };
    return hooks;
  }

  // After a feed restart, from where on_transition stopped (the event log
  // fills in what the old feed never delivered). Not awaited: this runs on
  // the supervisor, which must not block a scheduler thread.
  void relisten_on_transition() {
    auto gate = std::make_shared<subscription_gate>(on_transition_hooks());
    feed_subscriber_options opts;
    opts.filter = on_transition_filter();
    opts.capacity = 65536;
    opts.resume_from = on_transition_next.load();
    opts.name = "on_transition";
    auto actor = spawn_feed_subscriber(*sys, feed_handle(), env, std::move(opts), gate,
                                       [](caf::expected<std::uint64_t>) {});
    std::lock_guard<std::mutex> guard{handles};
    on_transition_sub = subscription{std::move(gate), actor.address()};
  }

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

caf::actor engine::impl::replace(const std::string& name) {
  if (stopping || !running) return {};
  ++core_restarts;
  if (name == "feed") {
    // Whoever publishes or subscribes is told the new one. Commits the old
    // one never passed on are in the event log: the new feed sees the jump
    // in positions and sends every subscriber a gap (partitions look at the
    // store again), and on_transition resumes where it stopped.
    std::uint64_t next = 1;
    try {
      next = stored_next_position();
    } catch (const std::exception& e) {
      spdlog::error("hypercore: reading the feed position failed: {}", e.what());
    }
    auto fresh = spawn_feed(*sys, next);
    std::vector<caf::actor> told;
    journal_actor j;
    {
      std::lock_guard<std::mutex> guard{handles};
      feed = fresh;
      told = partitions;
      j = journal;
    }
    caf::anon_send(j, feed_atom::value, caf::actor_cast<caf::actor>(fresh));
    for (auto& p : told) caf::anon_send(p, feed_atom::value, fresh);
    if (cfg.on_transition) relisten_on_transition();
    announce_feed_change();
    spdlog::warn("hypercore: feed replaced");
    return caf::actor_cast<caf::actor>(fresh);
  }
  if (name == "journal") {
    // Everything that holds the journal's handle is told the new one.
    auto fresh = make_journal();
    std::vector<caf::actor> told;
    janitor_actor old_janitor;
    session_store_actor old_sessions;
    {
      std::lock_guard<std::mutex> guard{handles};
      journal = fresh;
      told = partitions;
      old_janitor = janitor;
      old_sessions = sessions;
    }
    for (auto& p : told) caf::anon_send(p, journal_atom::value, fresh);
    for (auto& [kind, pool] : pools) caf::anon_send(pool, journal_atom::value, fresh);
    // These two hold the journal from their spawn: replacing them is simpler
    // than teaching them a new handle (neither keeps state the store lacks).
    caf::anon_send_exit(old_janitor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(old_sessions, caf::exit_reason::user_shutdown);
    journal_up = true;
    spdlog::warn("hypercore: journal replaced");
    return caf::actor_cast<caf::actor>(fresh);
  }
  if (name == "janitor") {
    auto fresh = make_janitor(journal_handle());
    std::lock_guard<std::mutex> guard{handles};
    janitor = fresh;
    return caf::actor_cast<caf::actor>(fresh);
  }
  if (name == "sessions") {
    auto fresh = make_sessions(journal_handle());
    std::lock_guard<std::mutex> guard{handles};
    sessions = fresh;
    return caf::actor_cast<caf::actor>(fresh);
  }
  if (name.rfind("partition-", 0) == 0) {
    auto p = static_cast<std::uint16_t>(std::stoul(name.substr(10)));
    // A new partition pages its jobs in again from the store; attempts the
    // old one had running are recorded as interrupted when they restart.
    auto fresh = make_partition(p, journal_handle());
    std::lock_guard<std::mutex> guard{handles};
    partitions.at(p) = fresh;
    return fresh;
  }
  return {};
}

engine::engine(engine_config cfg) : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
  auto& l = impl_->limits;
  l.max_params_bytes = impl_->cfg.max_params_bytes;
  l.max_json_depth = impl_->cfg.max_json_depth;
  l.max_chain_depth = impl_->cfg.max_chain_depth;
  l.partitions = impl_->cfg.partitions;
}

engine::~engine() { shutdown(std::chrono::seconds(10)); }

const engine_config& engine::config() const { return impl_->cfg; }

caf::error engine::register_agent(agent_factory factory) {
  if (impl_->running) return make_error(errc::already_running, "register agents before start()");
  if (!factory) return make_error(errc::invalid_config, "empty agent factory");
  auto sample = factory();
  if (!sample) return make_error(errc::invalid_config, "agent factory returned nothing");
  kind_entry entry;
  entry.kind = sample->kind();
  if (entry.kind.empty() || entry.kind.size() > 128)
    return make_error(errc::invalid_config, "agent kind must be 1 to 128 characters");
  entry.options = sample->options();
  entry.schema = sample->params_schema();
  if (entry.schema) {
    auto validator = compile_schema(*entry.schema);
    if (!validator) return validator.error();
    entry.validate = std::move(*validator);
  }
  entry.factory = std::move(factory);
  impl_->catalog->kinds[entry.kind] = std::move(entry);
  return {};
}

caf::error engine::start() {
  auto& m = *impl_;
  // Creating the system and spawning set CAF's logger in this thread too;
  // shutdown may run on another one.
  caller_thread_guard guard;
  std::unique_lock<std::shared_mutex> life{m.lifecycle};
  if (m.running) return make_error(errc::already_running, "engine already started");
  if (m.cfg.partitions == 0 || m.cfg.partition_window == 0)
    return make_error(errc::invalid_config, "partitions and partition_window must be positive");
  persistence::env_options env_opts;
  env_opts.dir = m.cfg.data_dir;
  env_opts.map_bytes = m.cfg.initial_map_bytes;
  env_opts.sync = m.cfg.sync;
  env_opts.partitions = m.cfg.partitions;
  auto env = persistence::lmdb_env::open(env_opts);
  if (!env) return env.error();
  m.env = std::move(*env);
  m.health = std::make_shared<journal_health>();

  m.sys_cfg = std::make_unique<caf::actor_system_config>();
  register_message_types(*m.sys_cfg);
  // The journal and blocking agents have threads of their own, so the
  // scheduler gets the remaining cores (CAF's default of at least 4 threads
  // oversubscribes small machines: measured 28k vs 20k jobs/s on 2 cores).
  auto threads = m.cfg.scheduler_threads;
  if (threads == 0)
    threads = std::max<std::size_t>(1, std::thread::hardware_concurrency() - 1);
  m.sys_cfg->set("scheduler.max-threads", threads);
  m.sys = std::make_unique<caf::actor_system>(*m.sys_cfg);

  // The feed starts where the journal will: at the next position of the store.
  std::uint64_t next_position = 1;
  try {
    next_position = m.stored_next_position();
  } catch (const std::exception& e) {
    return make_error(errc::storage_failure, e.what());
  }
  {
    std::lock_guard<std::mutex> guard{m.handles};
    m.feed = spawn_feed(*m.sys, next_position);
  }
  m.on_transition_next = next_position;
  {
    std::lock_guard<std::mutex> guard{m.handles};
    m.journal = m.make_journal();
    for (const auto& [kind, entry] : m.catalog->kinds)
      m.pools[kind] = spawn_agent_pool(*m.sys, m.catalog, kind, m.limits, m.journal);
    for (std::uint16_t p = 0; p < m.cfg.partitions; ++p)
      m.partitions.push_back(m.make_partition(p, m.journal));
    m.janitor = m.make_janitor(m.journal);
    m.sessions = m.make_sessions(m.journal);
  }
  supervisor_hooks hooks;
  auto* self = &m;
  hooks.on_down = [self](const std::string& name, const caf::error&) { return self->on_down(name); };
  hooks.replace = [self](const std::string& name) { return self->replace(name); };
  m.supervisor = spawn_supervisor(*m.sys, std::move(hooks));
  m.watch(caf::actor_cast<caf::actor>(m.journal), "journal");
  for (std::uint16_t p = 0; p < m.cfg.partitions; ++p)
    m.watch(m.partitions[p], "partition-" + std::to_string(p));
  m.watch(caf::actor_cast<caf::actor>(m.janitor), "janitor");
  m.watch(caf::actor_cast<caf::actor>(m.sessions), "sessions");
  m.watch(caf::actor_cast<caf::actor>(m.feed), "feed");
  if (m.cfg.on_transition) {
    subscribe_options how;
    how.capacity = 65536;
    auto sub = m.subscribe(m.on_transition_filter(), m.on_transition_hooks(), how, "on_transition");
    if (!sub) return sub.error();
    m.on_transition_sub = std::move(*sub);
  }
  m.journal_up = true;
  m.running = true;
  spdlog::info("hypercore: started on {} with {} partitions and {} agent kinds",
               m.cfg.data_dir, m.cfg.partitions, m.pools.size());
  return {};
}

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

bool engine::ready() const { return not_ready_reason().empty(); }

std::string engine::not_ready_reason() const {
  const auto& m = *impl_;
  if (!m.running) return "the engine is not running";
  if (m.stopping) return "the engine is shutting down";
  if (!m.journal_up) return "the journal is restarting";
  if (!m.health->ok()) return "the store cannot write: " + m.health->reason();
  return {};
}

std::vector<agent_info> engine::agents() const {
  std::vector<agent_info> out;
  for (const auto& [kind, entry] : impl_->catalog->kinds)
    out.push_back({kind, entry.schema, entry.options});
  return out;
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
    // Two O(1) counts from LMDB's page headers: cheap enough per submit.
    std::uint64_t pending = 0;
    try {
      read_txn txn{*m.env};
      job_tables t{*m.env, txn.get()};
      pending = t.count(t.dbs().pending) + t.count(t.dbs().scheduled);
    } catch (const std::exception& e) {
      return make_error(errc::storage_unavailable, e.what());
    }
    if (pending + specs.size() > m.cfg.max_pending_jobs)
      return make_error(errc::overloaded, std::to_string(pending)
                                            + " jobs are pending; the limit is "
                                            + std::to_string(m.cfg.max_pending_jobs)
                                            + ". Retry later.");
  }
  append_jobs cmd;
  cmd.jobs.reserve(specs.size());
  auto now = now_ms();
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

caf::expected<std::vector<job>> engine::dead_letters(const dead_filter& filter) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  std::vector<job> out;
  auto cutoff = now_ms() - filter.older_than.count();
  try {
    read_txn txn{*m.env};
    job_tables t{*m.env, txn.get()};
    t.scan_dead([&](const job_id& id) {
      auto j = t.get_job(id);
      if (j && (filter.kind.empty() || j->kind == filter.kind) && j->finished_at_ms <= cutoff)
        out.push_back(std::move(*j));
      return out.size() < filter.limit;
    });
  } catch (const std::exception& e) {
    return make_error(errc::storage_unavailable, e.what());
  }
  return out;
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

namespace {

caf::expected<session_view> to_view(caf::expected<session_record> r) {
  if (!r) return r.error();
  auto data = nlohmann::json::parse(r->data, nullptr, false);
  if (data.is_discarded()) data = nlohmann::json::object();
  return session_view{std::move(r->id), std::move(data), r->expires_at_ms};
}

} // namespace

caf::expected<std::string> engine::create_session(const nlohmann::json& data,
                                                  std::chrono::seconds ttl) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  hypercore::create_session cmd{data.dump(), std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count()};
  auto created = m.ask<session_record>(m.sessions_handle(), m.request_timeout(), std::move(cmd));
  if (!created) return created.error();
  return created->id;
}

caf::expected<session_view> engine::session(const std::string& id) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  return to_view(m.ask<session_record>(m.sessions_handle(), m.request_timeout(), get_atom::value, id));
}

caf::expected<session_view> engine::update_session(const std::string& id,
                                                   const std::optional<nlohmann::json>& data,
                                                   std::optional<std::chrono::seconds> ttl) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  hypercore::update_session cmd;
  cmd.id = id;
  cmd.has_data = data.has_value();
  if (data) cmd.data = data->dump();
  if (ttl) cmd.ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*ttl).count();
  if (ttl && cmd.ttl_ms == 0)
    return make_error(errc::invalid_request, "ttl must be at least 1 second");
  return to_view(m.ask<session_record>(m.sessions_handle(), m.request_timeout(), std::move(cmd)));
}

caf::error engine::delete_session(const std::string& id) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  auto removed = m.ask<std::uint64_t>(m.sessions_handle(), m.request_timeout(), delete_atom::value, id);
  return removed ? caf::error{} : removed.error();
}

caf::expected<std::uint64_t> engine::sweep_sessions() {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  return m.ask<std::uint64_t>(m.sessions_handle(), m.request_timeout(), sweep_atom::value);
}

std::optional<nlohmann::json> engine::session_data(const std::string& id) {
  auto found = session(id);
  if (!found) return std::nullopt;
  return found->data;
}

caf::expected<std::uint64_t> engine::purge_expired() {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  if (auto err = m.check_writable()) return err;
  return m.ask<std::uint64_t>(m.janitor_handle(), m.request_timeout(), sweep_atom::value);
}

engine_stats engine::stats() {
  auto& m = *impl_;
  engine_stats out;
  auto [life, refused] = m.enter();
  if (refused) return out;
  std::vector<caf::actor> parts;
  {
    std::lock_guard<std::mutex> guard{m.handles};
    parts = m.partitions;
  }
  for (auto& p : parts)
    if (auto s = m.ask<partition_stats>(p, caf::duration{std::chrono::seconds(5)}, stats_atom::value)) {
      out.resident += s->resident;
      out.running += s->running;
      out.records_paged += s->records_paged;
    }
  caller_thread_guard guard;
  caf::scoped_actor self{*m.sys};
  self->request(m.journal_handle(), std::chrono::seconds(30), stats_atom::value)
    .receive([&](std::uint64_t commits, std::uint64_t records) {
      out.commits = commits;
      out.records = records;
    }, [](caf::error&) {});
  for (auto& [kind, pool] : m.pools)
    self->request(pool, std::chrono::seconds(5), stats_atom::value)
      .receive([&](std::uint64_t, std::uint64_t, std::uint64_t restarts, std::uint64_t executing) {
        out.restarts += restarts;
        out.executing += executing;
      }, [](caf::error&) {});
  if (auto f = m.ask<feed_stats>(m.feed_handle(), caf::duration{std::chrono::seconds(5)}, stats_atom::value)) {
    out.feed_published = f->published;
    out.feed_gaps = f->gaps;
    out.feed_subscribers = f->subscribers;
  }
  out.core_restarts = m.core_restarts;
  return out;
}

caf::error engine::kill_core_actor(const std::string& name) {
  auto& m = *impl_;
  auto [life, refused] = m.enter();
  if (refused) return refused;
  caf::actor target;
  {
    std::lock_guard<std::mutex> guard{m.handles};
    if (name == "journal") target = caf::actor_cast<caf::actor>(m.journal);
    else if (name == "janitor") target = caf::actor_cast<caf::actor>(m.janitor);
    else if (name == "sessions") target = caf::actor_cast<caf::actor>(m.sessions);
    else if (name == "feed") target = caf::actor_cast<caf::actor>(m.feed);
    else if (name.rfind("partition-", 0) == 0 && name.size() > 10
             && name.find_first_not_of("0123456789", 10) == std::string::npos
             && std::stoul(name.substr(10)) < m.partitions.size())
      target = m.partitions[std::stoul(name.substr(10))];
  }
  if (!target) return make_error(errc::not_found, "no core actor named '" + quote_for_message(name) + "'");
  caf::anon_send_exit(target, caf::exit_reason::kill);
  return {};
}

void engine::shutdown(std::chrono::milliseconds deadline) {
  auto& m = *impl_;
  // One caller does the work; the others return at once (the engine is
  // then stopping, and calls made meanwhile fail with shutting_down).
  if (!m.running || m.stopping.exchange(true)) return;
  m.announce_feed_change(); // a wait() between feeds gives up now
  auto until = std::chrono::steady_clock::now() + deadline;
  std::vector<caf::actor> parts;
  {
    std::lock_guard<std::mutex> guard{m.handles};
    parts = m.partitions;
  }
  {
    caf::scoped_actor self{*m.sys};
    // Nobody replaces what is stopped on purpose.
    self->send_exit(m.supervisor, caf::exit_reason::kill);
    // No attempt starts from here on: pools stop handing out what they
    // queued (first, so nothing queued slips through), partitions stop
    // dispatching.
    for (auto& [kind, pool] : m.pools) self->send(pool, drain_atom::value);
    for (auto& p : parts)
      self->request(p, std::chrono::seconds(5), drain_atom::value)
        .receive([](std::uint64_t) {}, [](caf::error&) {});
    // Wait for the attempts agents hold until the deadline.
    for (;;) {
      std::uint64_t executing = 0;
      for (auto& [kind, pool] : m.pools)
        self->request(pool, std::chrono::seconds(5), stats_atom::value)
          .receive([&](std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t n) { executing += n; },
                   [](caf::error&) {});
      // Outcomes of attempts that just ended are on their way to the journal.
      if (executing == 0 || std::chrono::steady_clock::now() >= until) {
        if (executing > 0)
          spdlog::warn("hypercore: shutdown deadline passed with {} attempts running; "
                       "they count, and the next start records them as interrupted",
                       executing);
        break;
      }
      // A deliberate bounded poll, only while shutting down: a worker
      // handing back its attempt is not a durable transition (a late or
      // refused result commits nothing), so the feed cannot announce it;
      // the pools' count is the fact, asked every 5 ms until the deadline.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (auto& [kind, pool] : m.pools) self->send(pool, halt_atom::value);
    // The partitions' last outcome writes, then the journal's barrier: its
    // stats reply comes only after committing what it holds.
    for (auto& p : parts)
      self->request(p, std::chrono::seconds(1), stats_atom::value)
        .receive([](partition_stats&) {}, [](caf::error&) {});
    self->request(m.journal_handle(), std::chrono::seconds(30), stats_atom::value)
      .receive([](std::uint64_t, std::uint64_t) {}, [](caf::error&) {});
    for (auto& [kind, pool] : m.pools) self->send_exit(pool, caf::exit_reason::kill);
    for (auto& p : parts) self->send_exit(p, caf::exit_reason::kill);
    self->send_exit(m.janitor_handle(), caf::exit_reason::kill);
    self->send_exit(m.sessions_handle(), caf::exit_reason::kill);
    self->send_exit(m.journal_handle(), caf::exit_reason::kill);
    // Subscribers monitor the feed: they end with it, and their owners
    // (waits, streams) are told.
    self->send_exit(m.feed_handle(), caf::exit_reason::user_shutdown);
  }
  m.on_transition_sub.reset();
  // Calls still inside the engine finish (their actors are gone, so they
  // return errors) before the system and the store go away.
  std::unique_lock<std::shared_mutex> life{m.lifecycle};
  {
    std::lock_guard<std::mutex> guard{m.handles};
    m.partitions.clear();
    m.janitor = nullptr;
    m.sessions = nullptr;
    m.journal = nullptr;
  }
  m.pools.clear();
  m.feed = nullptr;
  m.supervisor = nullptr;
  m.sys.reset(); // waits for every actor, detached workers included
  m.env.reset();
  m.journal_up = false;
  m.running = false;
  m.stopping = false;
}

} // namespace hypercore
