// SPDX-License-Identifier: Apache-2.0
// The engine's lifecycle: agents registered, start, stats, shutdown.
#include "hypercore/engine_impl.hpp"

#include <thread>

#include <caf/exit_reason.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/actors/supervisor.hpp"
#include "hypercore/persistence/job_tables.hpp"
#include "hypercore/persistence/store_call.hpp"
#include "hypercore/core/utf8.hpp"
#include "hypercore/schema_validator.hpp"

namespace hypercore {

engine::engine(engine_config cfg) : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->clock = clock_or_system(impl_->cfg.clock);
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
  auto stored_next = m.stored_next_position();
  if (!stored_next) return stored_next.error();
  auto next_position = *stored_next;
  {
    std::lock_guard<std::mutex> guard{m.handles};
    m.feed = spawn_feed(*m.sys, next_position);
  }
  m.on_transition_next = next_position;
  // Subscribed before anything can commit, and before the partitions start
  // paging a recovered backlog in: the registration would otherwise queue
  // behind those page loads on the scheduler (measured: start() took 29 ms
  // instead of 1 ms on a 2,000-job backlog).
  if (m.cfg.on_transition) {
    subscribe_options how;
    how.capacity = 65536;
    how.own_thread = true;
    auto sub = m.subscribe(m.on_transition_filter(), m.on_transition_hooks(), how, "on_transition");
    if (!sub) return sub.error();
    m.on_transition_sub = std::move(*sub);
  }
  // Before the journal, which sends it the answers to ticketed submits.
  m.tickets->reopen();
  m.answerer = spawn_submit_answerer(*m.sys, m.tickets, std::chrono::seconds(1));
  {
    std::lock_guard<std::mutex> guard{m.handles};
    m.journal = m.make_journal();
    caf::anon_send(m.answerer, journal_atom::value, m.journal);
    for (const auto& [kind, entry] : m.catalog->kinds)
      m.pools[kind] = spawn_agent_pool(*m.sys, m.catalog, kind, m.limits, m.journal, m.clock);
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
    m.watch(caf::actor_cast<caf::actor>(m.partitions[p]), "partition-" + std::to_string(p));
  m.watch(caf::actor_cast<caf::actor>(m.janitor), "janitor");
  m.watch(caf::actor_cast<caf::actor>(m.sessions), "sessions");
  m.watch(caf::actor_cast<caf::actor>(m.feed), "feed");
  m.journal_up = true;
  m.running = true;
  spdlog::info("hypercore: started on {} with {} partitions and {} agent kinds",
               m.cfg.data_dir, m.cfg.partitions, m.pools.size());
  return {};
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

engine_stats engine::stats() {
  auto& m = *impl_;
  engine_stats out;
  auto [life, refused] = m.enter();
  if (refused) return out;
  std::vector<partition_actor> parts;
  {
    std::lock_guard<std::mutex> guard{m.handles};
    parts = m.partitions;
  }
  std::map<std::string, std::int64_t> oldest;
  for (auto& p : parts)
    if (auto s = m.ask<partition_stats>(p, caf::duration{std::chrono::seconds(5)}, stats_atom::value)) {
      out.resident += s->resident;
      out.running += s->running;
      out.records_paged += s->records_paged;
      for (std::size_t i = 0; i < s->oldest_kinds.size() && i < s->oldest_ready_ms.size(); ++i) {
        auto [it, fresh] = oldest.emplace(s->oldest_kinds[i], s->oldest_ready_ms[i]);
        if (!fresh) it->second = std::min(it->second, s->oldest_ready_ms[i]);
      }
    }
  if (auto j = m.ask<journal_stats>(m.journal_handle(), caf::duration{std::chrono::seconds(30)},
                                    stats_atom::value)) {
    out.commits = j->commits;
    out.records = j->records;
  }
  for (auto& [kind, pool] : m.pools)
    if (auto s = m.ask<pool_stats>(pool, caf::duration{std::chrono::seconds(5)}, stats_atom::value)) {
      out.restarts += s->restarts;
      out.executing += s->executing;
      out.kinds.push_back({kind, s->workers, s->queued, s->executing, s->restarts, s->paused,
                           oldest.count(kind) != 0 ? oldest[kind] : 0});
    }
  if (auto f = m.ask<feed_stats>(m.feed_handle(), caf::duration{std::chrono::seconds(5)}, stats_atom::value)) {
    out.feed_published = f->published;
    out.feed_gaps = f->gaps;
    out.feed_subscribers = f->subscribers;
  }
  out.core_restarts = m.core_restarts;
  if (m.health) out.waiting = m.health->waiting();
  // O(1): LMDB keeps entry counts in the tables' headers.
  if (auto counts = persistence::read_tables(*m.env, [](persistence::job_tables& t) {
        return std::pair{t.count(t.dbs().dead), t.count(t.dbs().sessions)};
      })) {
    out.dead_letters = counts->first;
    out.sessions = counts->second;
  }
  out.commit_seconds = m.meter->seconds();
  out.commit_records = m.meter->records();
  return out;
}

std::size_t engine::submits_in_flight() const { return impl_->tickets->open_count(); }

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
    else if (name.rfind("partition-", 0) == 0 && name.size() > 10 && name.size() < 16
             && name.find_first_not_of("0123456789", 10) == std::string::npos
             && std::stoul(name.substr(10)) < m.partitions.size())
      target = caf::actor_cast<caf::actor>(m.partitions[std::stoul(name.substr(10))]);
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
  std::vector<partition_actor> parts;
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
        .receive([](drain_report&) {}, [](caf::error&) {});
    // Wait for the attempts agents hold until the deadline: each pool
    // answers idle_atom once its last running attempt has ended (a worker
    // handing back an attempt is not a durable transition, so the feed
    // cannot announce it; the pool can).
    std::uint64_t executing = 0;
    for (auto& [kind, pool] : m.pools) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
      bool idle = false;
      if (left.count() > 0)
        self->request(pool, left, idle_atom::value)
          .receive([&](pool_stats&) { idle = true; }, [](caf::error&) {});
      if (!idle)
        self->request(pool, std::chrono::seconds(5), stats_atom::value)
          .receive([&](pool_stats& s) { executing += s.executing; }, [](caf::error&) {});
    }
    // Outcomes of attempts that just ended are on their way to the journal.
    if (executing > 0)
      spdlog::warn("hypercore: shutdown deadline passed with {} attempts running; "
                   "they count, and the next start records them as interrupted",
                   executing);
    for (auto& [kind, pool] : m.pools) self->send(pool, halt_atom::value);
    // The partitions' last outcome writes, then the journal's barrier: its
    // stats reply comes only after committing what it holds.
    for (auto& p : parts)
      self->request(p, std::chrono::seconds(1), stats_atom::value)
        .receive([](partition_stats&) {}, [](caf::error&) {});
    self->request(m.journal_handle(), std::chrono::seconds(30), stats_atom::value)
      .receive([](journal_stats&) {}, [](caf::error&) {});
    for (auto& [kind, pool] : m.pools) self->send_exit(pool, caf::exit_reason::kill);
    for (auto& p : parts) self->send_exit(p, caf::exit_reason::kill);
    self->send_exit(m.janitor_handle(), caf::exit_reason::kill);
    self->send_exit(m.sessions_handle(), caf::exit_reason::kill);
    self->send_exit(m.journal_handle(), caf::exit_reason::kill);
    self->send_exit(m.answerer, caf::exit_reason::kill);
    // Subscribers monitor the feed: they end with it, and their owners
    // (waits, streams) are told.
    self->send_exit(m.feed_handle(), caf::exit_reason::user_shutdown);
  }
  m.on_transition_sub.reset();
  // Submits the journal did not answer before it stopped end now, not at
  // their timeout (their callers hold the engine, which the lock below
  // waits for), and so do those that entered before `stopping` and open
  // their ticket only now.
  m.tickets->close(make_error(errc::shutting_down,
                                 "the engine shut down before this submit was answered; retry "
                                 "(with an Idempotency-Key a retry cannot make a second job)"));
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
  m.answerer = nullptr;
  m.supervisor = nullptr;
  m.sys.reset(); // waits for every actor, detached workers included
  m.env.reset();
  m.journal_up = false;
  m.running = false;
  m.stopping = false;
}

} // namespace hypercore
