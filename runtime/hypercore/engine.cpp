// SPDX-License-Identifier: Apache-2.0
#include "hypercore/engine.hpp"

#include <atomic>
#include <map>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/actors/admission.hpp"
#include "hypercore/actors/agent_pool.hpp"
#include "hypercore/actors/janitor.hpp"
#include "hypercore/actors/journal.hpp"
#include "hypercore/actors/partition.hpp"
#include "hypercore/actors/session_store.hpp"
#include "hypercore/core/clock.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/persistence/codec.hpp"
#include "hypercore/persistence/job_tables.hpp"
#include "hypercore/schema_validator.hpp"

namespace hypercore {

using persistence::job_tables;
using persistence::read_txn;

struct engine::impl {
  engine_config cfg;
  std::shared_ptr<kind_catalog> catalog = std::make_shared<kind_catalog>();
  admission_limits limits;
  std::unique_ptr<caf::actor_system_config> sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<persistence::lmdb_env> env;
  journal_actor journal;
  std::vector<caf::actor> partitions;
  std::map<std::string, caf::actor> pools;
  caf::actor janitor;
  caf::actor sessions;
  std::atomic<bool> running{false};
  std::atomic<bool> stopping{false};

  // Runs a blocking request and returns its single result, or the error.
  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& dest, caf::duration timeout, Ts&&... xs) {
    caf::scoped_actor self{*sys};
    caf::expected<T> out{make_error(errc::timeout, "no reply")};
    self->request(dest, timeout, std::forward<Ts>(xs)...)
      .receive([&](T& value) { out = std::move(value); },
               [&](caf::error& err) {
                 out = err == caf::sec::request_timeout
                         ? make_error(errc::timeout, "timed out waiting for a reply")
                         : std::move(err);
               });
    return out;
  }

  void announce(const append_receipt& receipt) {
    // Tell each partition the highest new seq it owns and the earliest
    // run_at it must wake up for; it pages the jobs in itself.
    std::vector<std::uint64_t> top(partitions.size(), 0);
    std::vector<std::int64_t> wake(partitions.size(), 0);
    for (const auto& ref : receipt.refs) {
      if (ref.duplicate || ref.partition >= top.size()) continue;
      top[ref.partition] = std::max(top[ref.partition], ref.seq);
      if (ref.run_at_ms > 0 && (wake[ref.partition] == 0 || ref.run_at_ms < wake[ref.partition]))
        wake[ref.partition] = ref.run_at_ms;
    }
    for (std::size_t p = 0; p < top.size(); ++p)
      if (top[p] > 0) caf::anon_send(partitions[p], work_atom::value, top[p], wake[p]);
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
      return make_error(errc::storage_failure, e.what());
    }
  }

  caf::error check_running() const {
    if (!running) return make_error(errc::not_running, "the engine is not running");
    if (stopping) return make_error(errc::shutting_down, "the engine is shutting down");
    return {};
  }
};

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
  if (impl_->running) return make_error(errc::not_running, "register agents before start()");
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
  if (m.running) return make_error(errc::not_running, "engine already started");
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

  journal_options jopts;
  jopts.partitions = m.cfg.partitions;
  m.journal = spawn_journal(*m.sys, m.env, jopts);
  for (const auto& [kind, entry] : m.catalog->kinds)
    m.pools[kind] = spawn_agent_pool(*m.sys, m.catalog, kind, m.limits);
  for (std::uint16_t p = 0; p < m.cfg.partitions; ++p) {
    partition_options popts;
    popts.index = p;
    popts.window = m.cfg.partition_window;
    popts.limits = m.limits;
    m.partitions.push_back(
      spawn_partition(*m.sys, partition_links{m.journal, m.pools, m.env, m.catalog, m.cfg.on_transition}, popts));
  }
  for (auto& p : m.partitions) caf::anon_send(p, peers_atom::value, m.partitions);
  janitor_options jan;
  jan.retention = m.cfg.retention;
  jan.interval = m.cfg.janitor_interval;
  jan.batch = m.cfg.janitor_batch;
  m.janitor = spawn_janitor(*m.sys, m.journal, m.env, jan);
  session_options sess;
  sess.max_data_bytes = m.cfg.max_params_bytes;
  m.sessions = spawn_session_store(*m.sys, m.journal, m.env, sess);
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

bool engine::ready() const { return impl_->running && !impl_->stopping; }

std::vector<agent_info> engine::agents() const {
  std::vector<agent_info> out;
  for (const auto& [kind, entry] : impl_->catalog->kinds)
    out.push_back({kind, entry.schema, entry.options});
  return out;
}

caf::expected<std::vector<submission>> engine::submit_all(const std::vector<job_spec>& specs) {
  auto& m = *impl_;
  if (auto err = m.check_running()) return err;
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
      return make_error(errc::storage_failure, e.what());
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
  auto receipt = m.ask<append_receipt>(m.journal, caf::infinite, std::move(cmd));
  if (!receipt) return receipt.error();
  m.announce(*receipt);
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
  if (!m.running) return make_error(errc::not_running, "the engine is not running");
  auto current = m.read_job(id);
  if (!current) return current.error();
  if (is_terminal(current->record.status)) return current;
  auto& partition = m.partitions.at(current->record.partition % m.partitions.size());
  auto done = m.ask<job>(partition, caf::duration{timeout}, wait_atom::value, id);
  if (!done) return done.error();
  return m.read_job(id);
}

caf::expected<job_view> engine::get(const job_id& id) {
  if (!impl_->running) return make_error(errc::not_running, "the engine is not running");
  return impl_->read_job(id);
}

caf::expected<job_view> engine::get(const std::string& id_text) {
  auto id = job_id::parse(id_text);
  if (!id) return make_error(errc::malformed_id, "not a job id: '" + id_text.substr(0, 64) + "'");
  return get(*id);
}

caf::expected<job_status> engine::cancel(const job_id& id) {
  auto& m = *impl_;
  if (!m.running) return make_error(errc::not_running, "the engine is not running");
  auto current = m.read_job(id);
  if (!current) return current.error();
  if (is_terminal(current->record.status))
    return make_error(errc::invalid_transition,
                      "job " + id.to_string() + " is already "
                        + std::string{to_string(current->record.status)});
  auto& partition = m.partitions.at(current->record.partition % m.partitions.size());
  return m.ask<job_status>(partition, caf::infinite, cancel_atom::value, id);
}

caf::expected<std::vector<job>> engine::dead_letters(const dead_filter& filter) {
  auto& m = *impl_;
  if (!m.running) return make_error(errc::not_running, "the engine is not running");
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
    return make_error(errc::storage_failure, e.what());
  }
  return out;
}

caf::expected<std::vector<job_id>> engine::replay(const std::vector<job_id>& ids) {
  auto& m = *impl_;
  if (auto err = m.check_running()) return err;
  auto receipt = m.ask<append_receipt>(m.journal, caf::infinite, replay_dead{ids});
  if (!receipt) return receipt.error();
  m.announce(*receipt);
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
  if (auto err = m.check_running()) return err;
  put_session cmd{{}, data.dump(), std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count(),
                  false, false};
  auto created = m.ask<session_record>(m.sessions, caf::infinite, std::move(cmd));
  if (!created) return created.error();
  return created->id;
}

caf::expected<session_view> engine::session(const std::string& id) {
  auto& m = *impl_;
  if (!m.running) return make_error(errc::not_running, "the engine is not running");
  return to_view(m.ask<session_record>(m.sessions, caf::infinite, get_atom::value, id));
}

caf::expected<session_view> engine::update_session(const std::string& id,
                                                   const std::optional<nlohmann::json>& data,
                                                   std::optional<std::chrono::seconds> ttl) {
  auto& m = *impl_;
  if (auto err = m.check_running()) return err;
  put_session cmd;
  cmd.id = id;
  cmd.update = true;
  cmd.keep_data = !data.has_value();
  if (data) cmd.data = data->dump();
  if (ttl) cmd.expires_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(*ttl).count();
  if (ttl && cmd.expires_at_ms == 0)
    return make_error(errc::invalid_request, "ttl must be at least 1 second");
  return to_view(m.ask<session_record>(m.sessions, caf::infinite, std::move(cmd)));
}

caf::error engine::delete_session(const std::string& id) {
  auto& m = *impl_;
  if (auto err = m.check_running()) return err;
  auto removed = m.ask<std::uint64_t>(m.sessions, caf::infinite, delete_atom::value, id);
  return removed ? caf::error{} : removed.error();
}

caf::expected<std::uint64_t> engine::sweep_sessions() {
  auto& m = *impl_;
  if (!m.running) return make_error(errc::not_running, "the engine is not running");
  return m.ask<std::uint64_t>(m.sessions, caf::infinite, sweep_atom::value);
}

std::optional<nlohmann::json> engine::session_data(const std::string& id) {
  auto found = session(id);
  if (!found) return std::nullopt;
  return found->data;
}

caf::expected<std::uint64_t> engine::purge_expired() {
  auto& m = *impl_;
  if (!m.running) return make_error(errc::not_running, "the engine is not running");
  return m.ask<std::uint64_t>(m.janitor, caf::infinite, sweep_atom::value);
}

engine_stats engine::stats() {
  auto& m = *impl_;
  engine_stats out;
  if (!m.running) return out;
  for (auto& p : m.partitions)
    if (auto s = m.ask<partition_stats>(p, caf::duration{std::chrono::seconds(5)}, stats_atom::value)) {
      out.resident += s->resident;
      out.running += s->running;
    }
  caf::scoped_actor self{*m.sys};
  self->request(m.journal, std::chrono::seconds(30), stats_atom::value)
    .receive([&](std::uint64_t commits, std::uint64_t records) {
      out.commits = commits;
      out.records = records;
    }, [](caf::error&) {});
  for (auto& [kind, pool] : m.pools)
    self->request(pool, std::chrono::seconds(5), stats_atom::value)
      .receive([&](std::uint64_t, std::uint64_t, std::uint64_t restarts) {
        out.restarts += restarts;
      }, [](caf::error&) {});
  return out;
}

void engine::shutdown(std::chrono::milliseconds deadline) {
  auto& m = *impl_;
  if (!m.running || m.stopping.exchange(true)) return;
  auto until = std::chrono::steady_clock::now() + deadline;
  {
    caf::scoped_actor self{*m.sys};
    // Stop starting attempts; wait for the running ones until the deadline.
    for (;;) {
      std::uint64_t running = 0;
      for (auto& p : m.partitions)
        self->request(p, std::chrono::seconds(5), drain_atom::value)
          .receive([&](std::uint64_t n) { running += n; }, [](caf::error&) {});
      if (running == 0 || std::chrono::steady_clock::now() >= until) {
        if (running > 0)
          spdlog::warn("hypercore: shutdown deadline passed with {} attempts running; "
                       "they stay pending for the next start",
                       running);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (auto& [kind, pool] : m.pools) self->send(pool, drain_atom::value);
    // The journal answers stats only after committing what it holds.
    self->request(m.journal, std::chrono::seconds(30), stats_atom::value)
      .receive([](std::uint64_t, std::uint64_t) {}, [](caf::error&) {});
    for (auto& [kind, pool] : m.pools) self->send_exit(pool, caf::exit_reason::kill);
    for (auto& p : m.partitions) self->send_exit(p, caf::exit_reason::kill);
    self->send_exit(m.janitor, caf::exit_reason::kill);
    self->send_exit(m.sessions, caf::exit_reason::kill);
    self->send_exit(m.journal, caf::exit_reason::kill);
  }
  m.pools.clear();
  m.partitions.clear();
  m.janitor = nullptr;
  m.sessions = nullptr;
  m.journal = nullptr;
  m.sys.reset(); // waits for every actor, detached workers included
  m.env.reset();
  m.running = false;
  m.stopping = false;
}

} // namespace hypercore
