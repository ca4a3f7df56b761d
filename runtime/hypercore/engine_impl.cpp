// SPDX-License-Identifier: Apache-2.0
// The engine's shared helpers: spawning the core actors, subscribing to the
// feed, reading a job, and replacing a core actor that died.
#include "hypercore/engine_impl.hpp"

#include <future>

#include <caf/exit_reason.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/actors/feed_subscriber.hpp"
#include "hypercore/persistence/store_call.hpp"

namespace hypercore {

using persistence::job_tables;

caf::expected<subscription> engine::impl::subscribe(const feed_filter& filter, subscription_hooks hooks,
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

caf::expected<job_view> engine::impl::read_job(const job_id& id) {
  auto found = persistence::read_tables(*env, [&](job_tables& t) -> std::optional<job_view> {
    auto j = t.get_job(id);
    if (!j) return std::nullopt;
    job_view view{std::move(*j), std::nullopt};
    if (view.record.status == job_status::succeeded) view.output = t.get_result(id);
    return view;
  });
  if (!found) return found.error();
  if (!*found) return make_error(errc::not_found, "no job " + id.to_string());
  return std::move(**found);
}

partition_options engine::impl::partition_opts(std::uint16_t p) const {
  partition_options popts;
  popts.index = p;
  popts.window = cfg.partition_window;
  popts.limits = limits;
  popts.clock = clock;
  return popts;
}

partition_actor engine::impl::make_partition(std::uint16_t p, journal_actor j) {
  // `feed` without the lock: the callers hold `handles` (start) or are the
  // supervisor, the only one that replaces the feed while running.
  return spawn_partition(*sys, partition_links{std::move(j), feed, pools, env, catalog},
                         partition_opts(p));
}

janitor_actor engine::impl::make_janitor(journal_actor j) {
  janitor_options jan;
  jan.retention = cfg.retention;
  jan.interval = cfg.janitor_interval;
  jan.batch = cfg.janitor_batch;
  jan.clock = clock;
  return spawn_janitor(*sys, std::move(j), env, jan);
}

session_store_actor engine::impl::make_sessions(journal_actor j) {
  session_options sess;
  sess.max_data_bytes = cfg.max_params_bytes;
  sess.clock = clock;
  return spawn_session_store(*sys, std::move(j), env, sess);
}

journal_actor engine::impl::make_journal() {
  journal_options jopts;
  jopts.partitions = cfg.partitions;
  jopts.health = health;
  jopts.meter = meter;
  jopts.inject_write_error = cfg.inject_write_error;
  jopts.feed = caf::actor_cast<caf::actor>(feed); // see make_partition
  jopts.answers = caf::actor_cast<caf::actor>(answerer);
  jopts.event_log_capacity = cfg.event_log_capacity;
  jopts.preallocate.ahead_bytes = cfg.sync ? cfg.preallocate_bytes : 0;
  jopts.clock = clock;
  return spawn_journal(*sys, env, jopts);
}

caf::expected<std::uint64_t> engine::impl::stored_next_position() {
  return persistence::read_tables(*env, [](job_tables& t) {
    auto last = t.last_event();
    return std::max<std::uint64_t>({1, t.feed_mark(), last ? *last + 1 : 0});
  });
}

feed_filter engine::impl::on_transition_filter() {
  feed_filter outcomes;
  outcomes.causes = feed_filter::bit(transition_cause::outcome);
  outcomes.statuses = feed_filter::terminal_statuses() | feed_filter::bit(job_status::retrying);
  return outcomes;
}

subscription_hooks engine::impl::on_transition_hooks() {
  subscription_hooks hooks;
  hooks.on_transitions = [this, listener = cfg.on_transition](const std::vector<transition>& batch) {
    for (const auto& t : batch) listener(t.id, t.to);
    if (!batch.empty()) on_transition_next = batch.back().position + 1;
  };
  return hooks;
}

void engine::impl::relisten_on_transition() {
  auto gate = std::make_shared<subscription_gate>(on_transition_hooks());
  feed_subscriber_options opts;
  opts.filter = on_transition_filter();
  opts.capacity = 65536;
  opts.own_thread = true;
  opts.resume_from = on_transition_next.load();
  opts.name = "on_transition";
  auto actor = spawn_feed_subscriber(*sys, feed_handle(), env, std::move(opts), gate,
                                     [](caf::expected<std::uint64_t>) {});
  std::lock_guard<std::mutex> guard{handles};
  on_transition_sub = subscription{std::move(gate), actor.address()};
}

caf::actor engine::impl::replace(const std::string& name) {
  if (stopping || !running) return {};
  ++core_restarts;
  if (name == "feed") {
    // Whoever publishes or subscribes is told the new one. Commits the old
    // one never passed on are in the event log: the new feed sees the jump
    // in positions and sends every subscriber a gap (partitions look at the
    // store again), and on_transition resumes where it stopped.
    // Unreadable store: start at 1; the journal's first commit tells the
    // feed the real position, and the jump gaps every subscriber.
    auto stored_next = stored_next_position();
    if (!stored_next)
      spdlog::error("hypercore: reading the feed position failed: {}", message_of(stored_next.error()));
    auto fresh = spawn_feed(*sys, stored_next ? *stored_next : 1);
    std::vector<partition_actor> told;
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
    std::vector<partition_actor> told;
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
    caf::anon_send(answerer, journal_atom::value, fresh);
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
    return caf::actor_cast<caf::actor>(fresh);
  }
  return {};
}

} // namespace hypercore
