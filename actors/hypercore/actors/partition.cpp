// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/partition.hpp"
#include "hypercore/core/log_context.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/actors/outcome.hpp"
#include "hypercore/actors/partition_state.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/core/transition.hpp"
#include "hypercore/persistence/store_call.hpp"

namespace hypercore::partition_detail {

using persistence::job_tables;

// The journal confirmed a terminal write: release the job and its key.
void on_terminal(partition_self self, const job_id& id) {
  auto& st = self->state;
  st.cancel_requested.erase(id);
  auto left = st.queue.remove(id);
  if (left) load_next_of_key(self, *left);
  // Page in once a quarter of the window is free, not per finished job:
  // one read transaction then serves many jobs.
  if (st.backlog && st.queue.size() + st.opts.window / 4 <= st.opts.window) page_in(self);
}

// Pause before writing a kept outcome again: 50 ms doubling to 5 s, with
// jitter so partitions do not retry in step.
namespace {

std::chrono::milliseconds rewrite_delay(std::uint32_t tries, double unit) {
  double base = 50.0 * std::pow(2.0, std::min<std::uint32_t>(tries - 1, 10));
  double capped = std::min(base, 5000.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(capped * (0.5 + unit / 2)));
}

} // namespace

void write_outcome(partition_self self, record_outcome cmd) {
  auto& st = self->state;
  auto id = cmd.id;
  auto next = cmd.next;
  auto run_at = cmd.run_at_ms;
  st.queue.mark_completing(id);
  auto resend = cmd;
  self->request(st.links.journal, caf::infinite, std::move(cmd))
    .then(
      [=](append_receipt&) {
        self->state.rewrite_tries.erase(id);
        auto* j = self->state.queue.running_job(id);
        if (next == job_status::retrying && self->state.cancel_requested.erase(id) != 0) {
          // Cancelled while this retry was being written: cancel wins.
          record_outcome cancel;
          cancel.id = id;
          cancel.next = job_status::cancelled;
          cancel.at_ms = self->state.now();
          write_outcome(self, std::move(cancel));
          return;
        }
        if (next == job_status::retrying && j != nullptr && !j->partition_key.empty()) {
          // A keyed job keeps its key (and its slot) while it waits.
          self->state.queue.schedule(id, run_at, self->state.now());
          arm_timer(self, run_at);
        } else if (next == job_status::retrying) {
          // An unkeyed one waits in the scheduled index, outside the window.
          self->state.queue.remove(id);
          note_scheduled(self, run_at);
          page_in(self);
        } else {
          // Follow-ups reach their partitions through the feed.
          on_terminal(self, id);
        }
        dispatch(self);
      },
      [=](caf::error& err) {
        if (code_of(err) == errc::invalid_transition || code_of(err) == errc::not_found) {
          // The store says the job is already terminal (cancelled meanwhile):
          // the store wins.
          on_terminal(self, id);
          dispatch(self);
          return;
        }
        // The outcome was reached; only its write failed (full disk, I/O
        // error, journal restarting). Keep it and write it again later:
        // running the agent again would spend an attempt on a storage fault.
        auto& s = self->state;
        auto tries = ++s.rewrite_tries[id];
        if (tries == 1 || tries % 20 == 0) {
          log_scope scope{{{"job_id", id.to_string()}, {"partition", std::to_string(s.opts.index)}}};
          spdlog::warn("partition {}: writing the outcome of {} failed ({}); retrying, try {}",
                       s.opts.index, id.to_string(), message_of(err), tries);
        }
        std::uniform_real_distribution<double> unit{0.0, 1.0};
        auto delay = rewrite_delay(tries, unit(s.rng));
        self->delayed_send(self, delay, rewrite_atom::value, resend);
      });
}

void on_finished(partition_self self, job_finished& f) {
  auto& st = self->state;
  auto* j = st.queue.running_job(f.id);
  if (j == nullptr || j->attempts != f.attempt
      || st.queue.state_of(f.id) != partition_queue::slot_state::running)
    return; // a late result of an attempt that no longer counts
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  outcome_context ctx{*st.links.catalog, st.opts.limits, st.cancel_requested.count(f.id) != 0,
                      unit(st.rng), self->state.now()};
  auto cmd = decide_outcome(*j, std::move(f), ctx);
  write_outcome(self, std::move(cmd));
}

void start_attempt(partition_self self, job j, job_tables& t) {
  auto& st = self->state;
  if (j.attempts >= j.max_attempts && j.max_attempts > 0) {
    // Every allowed attempt has started, yet the job is not finished: the
    // process stopped during the last one. A job that takes the process down
    // with it must not run at every start forever.
    record_outcome cmd;
    cmd.id = j.id;
    cmd.attempt = j.attempts;
    cmd.next = job_status::dead;
    cmd.at_ms = self->state.now();
    cmd.error = interrupted_entry(j.attempts, cmd.at_ms);
    cmd.error.message += "; no attempts left";
    cmd.error.retryable = false;
    st.queue.hold(j.id, std::move(j));
    write_outcome(self, std::move(cmd));
    return;
  }
  ++j.attempts;
  // The pool journals the start when a worker takes the attempt; until then
  // the stored job still reads pending (or retrying).
  j.status = job_status::running;
  auto now = self->state.now();
  run_job cmd;
  if (!j.session_id.empty()) {
    // As before the window was lean: a session that cannot be read is
    // logged and the attempt runs without it, rather than holding up the
    // partition's other jobs.
    try {
      auto stored = t.get_session(j.session_id);
      if (stored && stored->live_at(now)) {
        cmd.has_session = true;
        cmd.session_data = std::move(stored->data);
      }
    } catch (const std::exception& e) {
      spdlog::warn("partition {}: reading session failed: {}", st.opts.index, e.what());
    }
  }
  // The agent gets the params; what the partition keeps for the outcome
  // (kind, attempts, chain fields) does not need them.
  auto params = std::move(j.params);
  cmd.j = j;
  cmd.j.params = std::move(params);
  auto kind = j.kind;
  ++st.in_flight[kind];
  auto id = j.id;
  auto attempt = j.attempts;
  st.queue.hold(id, std::move(j));
  self->request(st.links.pools.at(kind), caf::infinite, std::move(cmd))
    .then(
      [=](job_finished& f) {
        --self->state.in_flight[kind];
        on_finished(self, f);
        dispatch(self);
      },
      [=](caf::error& err) {
        --self->state.in_flight[kind];
        // Shutdown began before the attempt started: it cost nothing.
        if (code_of(err) == errc::shutting_down) return;
        // The pool itself is gone (shutdown): the attempt simply did not end.
        job_finished f;
        f.id = id;
        f.attempt = attempt;
        f.error = "agent pool unavailable: " + message_of(err);
        f.retryable = true;
        if (!self->state.draining) on_finished(self, f);
      });
}

void dispatch(partition_self self) {
  auto& st = self->state;
  if (st.draining) return;
  auto now = self->state.now();
  if (auto next = st.queue.promote_due(now)) arm_timer(self, *next);
  auto has_credit = [&](const std::string& kind) {
    auto pool = st.links.pools.find(kind);
    if (pool == st.links.pools.end()) return false; // waits for its agent
    const auto* entry = st.links.catalog->find(kind);
    auto limit = entry != nullptr ? std::max<std::uint32_t>(1, entry->options.concurrency) : 1;
    return st.in_flight[kind] < limit;
  };
  // The window keeps only what ordering needs; each job taken is read
  // whole from the store here, all of them in one read transaction, opened
  // only when there is a job to start (dispatch runs after every message).
  std::optional<job_id> in_hand = st.queue.take_next(has_credit);
  if (!in_hand) return;
  std::vector<job_id> gone;
  auto read = persistence::read_tables(*st.links.env, [&](job_tables& t) {
    while (in_hand) {
      if (auto j = t.get_job(*in_hand); j && !is_terminal(j->status)) {
        start_attempt(self, std::move(*j), t);
      } else {
        // Purged, ended behind our back, or a record that does not decode
        // whole: let it go (the last is logged; it cannot be run).
        if (!j) spdlog::error("partition {}: job {} cannot be read whole; left out", st.opts.index,
                              in_hand->to_string());
        gone.push_back(*in_hand);
      }
      in_hand = st.queue.take_next(has_credit);
    }
  });
  if (read) {
    // The store could not be read: the job in hand is ready again for the
    // next dispatch (the next message or page-in).
    if (in_hand) st.queue.requeue(*in_hand);
    spdlog::error("partition {}: reading jobs to start failed: {}; trying again in 100 ms", st.opts.index,
                  message_of(read));
    // Nothing else may wake an idle partition: look again shortly.
    self->delayed_send(self, std::chrono::milliseconds(100), work_atom::value, std::uint64_t{0},
                       std::int64_t{0});
  }
  for (const auto& id : gone) on_terminal(self, id);
  // on_terminal may have paged in a key's next job: start it too.
  if (!gone.empty()) dispatch(self);
}

caf::result<job_status> cancel(partition_self self, const job_id& id) {
  auto& st = self->state;
  auto state = st.queue.state_of(id);
  if (state == partition_queue::slot_state::running
      || state == partition_queue::slot_state::completing) {
    // Cancel wins: whatever the agent returns, the job ends cancelled.
    st.cancel_requested.insert(id);
    return job_status::running;
  }
  auto rp = self->make_response_promise<job_status>();
  st.cancelling.insert(id);
  record_outcome cmd;
  cmd.id = id;
  cmd.next = job_status::cancelled;
  cmd.at_ms = self->state.now();
  self->request(st.links.journal, caf::infinite, std::move(cmd))
    .then(
      [=](append_receipt&) mutable {
        self->state.cancelling.erase(id);
        on_terminal(self, id);
        rp.deliver(job_status::cancelled);
        dispatch(self);
      },
      [=](caf::error& err) mutable {
        self->state.cancelling.erase(id);
        rp.deliver(err);
      });
  return rp;
}

// What a partition asks of the feed: its own partition's new work.
subscribe_feed feed_subscription(partition_self self) {
  subscribe_feed sub;
  sub.filter.partition = self->state.opts.index;
  sub.filter.causes = feed_filter::bit(transition_cause::submitted)
                      | feed_filter::bit(transition_cause::followup)
                      | feed_filter::bit(transition_cause::replayed);
  sub.target = caf::actor_cast<feed_sink_actor>(self);
  sub.capacity = partition_feed_capacity;
  sub.name = "partition-" + std::to_string(self->state.opts.index);
  return sub;
}

partition_actor::behavior_type partition_behavior(partition_self self, partition_links links,
                                                  partition_options opts) {
  auto& st = self->state;
  st.links = std::move(links);
  st.clock = clock_or_system(opts.clock);
  st.opts = std::move(opts);
  st.queue = partition_queue{opts.window};
  // New work is announced by the feed; subscribe before the first page-in,
  // so nothing committed in between is missed. Recovery is the ordinary
  // pager starting at seq 0: no full load.
  self->request(st.links.feed, caf::infinite, feed_subscription(self))
    .await([=](std::uint64_t) { on_new_work(self, 1, 0); },
           [=](caf::error& err) {
             spdlog::error("partition {}: cannot subscribe to the feed: {}", opts.index,
                           message_of(err));
             self->quit(err);
           });
  return {
    [=](feed_batch& batch) {
      auto& s = self->state;
      std::uint64_t top = 0;
      for (const auto& t : batch.transitions) {
        // Where the journal indexed it: the scheduled index for an unkeyed
        // job whose run_at is still ahead, the pending index otherwise.
        if (t.partition_key.empty() && t.run_at_ms > t.at_ms) note_scheduled(self, t.run_at_ms);
        else top = std::max(top, t.seq);
      }
      if (auto acked = s.feed_acks.handled(batch.transitions.size()))
        self->send(s.links.feed, ack_atom::value, acked);
      on_new_work(self, top, 0);
    },
    [=](feed_gap&) { look_again(self); },
    [=](feed_atom, feed_actor& feed) {
      // The feed was replaced: subscribe there, then look at the store for
      // whatever was published to the old one.
      self->state.links.feed = std::move(feed);
      self->state.feed_acks = ack_batcher{partition_feed_capacity};
      self->request(self->state.links.feed, caf::infinite, feed_subscription(self))
        .then([=](std::uint64_t) { look_again(self); },
              [=](caf::error& err) {
                spdlog::error("partition {}: cannot subscribe to the new feed: {}",
                              self->state.opts.index, message_of(err));
              });
    },
    [=](work_atom, std::uint64_t seq, std::int64_t scheduled_at) {
      on_new_work(self, seq, scheduled_at);
    },
    [=](tick_atom) {
      auto& s = self->state;
      if (s.timer_at && *s.timer_at > self->state.now() + 1) {
        // An earlier timer fired for a later run_at: re-arm for the rest.
        auto at = *s.timer_at;
        s.timer_at.reset();
        arm_timer(self, at);
      } else {
        s.timer_at.reset();
      }
      if (s.queue.has_room()) page_in(self);
      dispatch(self);
    },
    [=](cancel_atom, const job_id& id) { return cancel(self, id); },
    [=](drain_atom) {
      self->state.draining = true;
      return drain_report{static_cast<std::uint64_t>(self->state.queue.running_count())};
    },
    [=](journal_atom, journal_actor& j) { self->state.links.journal = std::move(j); },
    [=](rewrite_atom, record_outcome& cmd) {
      // A kept outcome whose job left meanwhile (cancel won) is dropped.
      if (!self->state.queue.contains(cmd.id)) {
        self->state.rewrite_tries.erase(cmd.id);
        return;
      }
      write_outcome(self, std::move(cmd));
    },
    [=](stats_atom) {
      auto& s = self->state;
      partition_stats out;
      out.partition = s.opts.index;
      out.resident = s.queue.size();
      out.running = s.queue.running_count();
      out.ready = s.queue.ready_count();
      out.delayed = s.queue.delayed_count();
      out.keys = s.queue.key_count();
      out.backlog = s.backlog;
      out.records_paged = s.records_paged;
      for (auto& [kind, at] : s.queue.oldest_ready_by_kind()) {
        out.oldest_kinds.push_back(kind);
        out.oldest_ready_ms.push_back(at);
      }
      return out;
    },
  };
}

} // namespace hypercore::partition_detail

namespace hypercore {

partition_actor spawn_partition(caf::actor_system& sys, partition_links links,
                                partition_options opts) {
  return sys.spawn(partition_detail::partition_behavior, std::move(links), std::move(opts));
}

} // namespace hypercore
