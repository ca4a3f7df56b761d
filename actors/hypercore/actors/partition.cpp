// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/partition.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/actors/outcome.hpp"
#include "hypercore/actors/partition_queue.hpp"
#include "hypercore/core/clock.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/core/routing.hpp"
#include "hypercore/core/transition.hpp"
#include "hypercore/persistence/codec.hpp"
#include "hypercore/persistence/job_tables.hpp"

namespace hypercore {

namespace {

using persistence::job_tables;
using persistence::read_txn;

struct partition_state {
  static inline const char* name = "hypercore.partition";

  partition_links links;
  partition_options opts;
  partition_queue queue{1024};
  /// Highest seq of this partition that the pager has looked at.
  std::uint64_t cursor = 0;
  /// True when the last page-in stopped for lack of room.
  bool backlog = true;
  /// Earliest run_at that may be due in the scheduled index (max: none
  /// known). 0 at start, so recovery looks once.
  std::int64_t scheduled_due_at = 0;
  bool draining = false;
  std::unordered_map<std::string, std::uint32_t> in_flight;
  std::unordered_set<job_id, job_id_hash> cancel_requested;
  std::unordered_set<job_id, job_id_hash> cancelling;
  std::optional<std::int64_t> timer_at;
  std::mt19937_64 rng{std::random_device{}()};
  /// Outcomes whose write failed and is being retried: tries so far.
  std::unordered_map<job_id, std::uint32_t, job_id_hash> rewrite_tries;
  /// Job records the pager decoded since start (what recovery costs).
  std::uint64_t records_paged = 0;
};

using partition_actor = caf::stateful_actor<partition_state>;

void dispatch(partition_actor* self);

// Index entries one page-in may visit: a few windows' worth.
std::size_t page_budget(std::size_t window) { return std::max<std::size_t>(4096, window * 4); }

// Loads the job that became a key's head after `after_seq` left.
void load_next_of_key(partition_actor* self, const job& left) {
  auto& st = self->state;
  if (left.partition_key.empty()) return;
  try {
    read_txn txn{*st.links.env};
    job_tables t{*st.links.env, txn.get()};
    auto next = t.next_of_key(st.opts.index, stable_hash(left.partition_key), left.seq);
    if (!next || st.queue.contains(*next)) return;
    auto j = t.get_job(*next);
    if (j && !is_terminal(j->status)) st.queue.add(std::move(*j), now_ms());
  } catch (const std::exception& e) {
    spdlog::error("partition {}: reading key chain failed: {}", st.opts.index, e.what());
  }
}

void arm_timer(partition_actor* self, std::int64_t run_at);

// Pages in unkeyed jobs whose run_at has come (delayed submits and retries
// wait in the scheduled index, outside the window) and arms the timer for
// the next one.
// The scan starts at the beginning of the partition's range each time (no
// cursor): entries are written with run_at values that can tie or trail a
// cursor, and the due entries already held here are bounded by the window.
void page_in_scheduled(partition_actor* self, job_tables& t, std::int64_t now,
                       bool& stopped_full) {
  auto& st = self->state;
  if (st.scheduled_due_at > now) {
    // Not due yet; but its timer may never have been armed (arm_timer keeps
    // only the earliest pending timer), so arm it now that that one fired.
    if (st.scheduled_due_at != std::numeric_limits<std::int64_t>::max())
      arm_timer(self, st.scheduled_due_at);
    return;
  }
  t.scan_scheduled(st.opts.index, 0, 0, now,
                   [&](std::int64_t, std::uint64_t, const job_id& id) {
                     if (st.queue.contains(id) || st.cancelling.count(id) != 0) return true;
                     if (!st.queue.has_room()) {
                       stopped_full = true;
                       return false;
                     }
                     auto j = t.get_job(id);
                     if (j && !is_terminal(j->status)) st.queue.add(std::move(*j), now);
                     return true;
                   });
  if (stopped_full) return; // look again as soon as room frees up
  auto next = t.next_scheduled(st.opts.index, now + 1, 0);
  st.scheduled_due_at = next.value_or(std::numeric_limits<std::int64_t>::max());
  if (next) arm_timer(self, *next);
}

void note_scheduled(partition_actor* self, std::int64_t run_at) {
  auto& st = self->state;
  st.scheduled_due_at = std::min(st.scheduled_due_at, run_at);
  arm_timer(self, run_at);
}

// Pages pending jobs in, in seq order, while there is room. A page-in
// visits at most page_budget index entries: a backlog of a million jobs on
// busy keys is passed over in slices between other messages, not in one
// long handler, and their records are not read (the entry names the key).
void page_in(partition_actor* self) {
  auto& st = self->state;
  std::size_t visited = 0;
  bool budget_spent = false;
  try {
    read_txn txn{*st.links.env};
    job_tables t{*st.links.env, txn.get()};
    auto now = now_ms();
    bool stopped_full = false;
    page_in_scheduled(self, t, now, stopped_full);
    if (!stopped_full)
    t.scan_pending(st.opts.index, st.cursor, [&](const persistence::pending_entry& e) {
      if (!st.queue.has_room()) {
        stopped_full = true;
        return false;
      }
      if (++visited > page_budget(st.opts.window)) {
        budget_spent = true;
        return false;
      }
      st.cursor = e.seq;
      if (st.queue.contains(e.id) || st.cancelling.count(e.id) != 0) return true;
      // Not the head of its key: the key's chain brings it in later.
      if (e.key_hash && st.queue.key_hash_busy(*e.key_hash)) return true;
      auto j = t.get_job(e.id);
      ++st.records_paged;
      if (!j || is_terminal(j->status)) return true;
      if (!j->partition_key.empty() && st.queue.key_busy(j->partition_key)) return true;
      st.queue.add(std::move(*j), now);
      return true;
    });
    st.backlog = stopped_full || budget_spent;
  } catch (const std::exception& e) {
    spdlog::error("partition {}: paging in failed: {}", st.opts.index, e.what());
  }
  // Go on with the next slice after whatever else is in the mailbox.
  if (budget_spent) self->send(self, work_atom::value, std::uint64_t{0}, std::int64_t{0});
}

void arm_timer(partition_actor* self, std::int64_t run_at) {
  auto& st = self->state;
  if (st.timer_at && *st.timer_at <= run_at) return;
  st.timer_at = run_at;
  auto delay = std::max<std::int64_t>(0, run_at - now_ms());
  self->delayed_send(self, std::chrono::milliseconds(delay), tick_atom::value);
}

// The journal confirmed a terminal write: release the job and its key.
void on_terminal(partition_actor* self, const job_id& id) {
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
std::chrono::milliseconds rewrite_delay(std::uint32_t tries, double unit) {
  double base = 50.0 * std::pow(2.0, std::min<std::uint32_t>(tries - 1, 10));
  double capped = std::min(base, 5000.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(capped * (0.5 + unit / 2)));
}

void write_outcome(partition_actor* self, record_outcome cmd) {
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
        auto* j = self->state.queue.find(id);
        if (next == job_status::retrying && self->state.cancel_requested.erase(id) != 0) {
          // Cancelled while this retry was being written: cancel wins.
          record_outcome cancel;
          cancel.id = id;
          cancel.next = job_status::cancelled;
          cancel.at_ms = now_ms();
          write_outcome(self, std::move(cancel));
          return;
        }
        if (next == job_status::retrying && j != nullptr && !j->partition_key.empty()) {
          // A keyed job keeps its key (and its slot) while it waits.
          self->state.queue.schedule(id, run_at, now_ms());
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
        if (tries == 1 || tries % 20 == 0)
          spdlog::warn("partition {}: writing the outcome of {} failed ({}); retrying, try {}",
                       s.opts.index, id.to_string(), message_of(err), tries);
        std::uniform_real_distribution<double> unit{0.0, 1.0};
        auto delay = rewrite_delay(tries, unit(s.rng));
        self->delayed_send(self, delay, rewrite_atom::value, resend);
      });
}

void on_finished(partition_actor* self, job_finished& f) {
  auto& st = self->state;
  auto* j = st.queue.find(f.id);
  if (j == nullptr || j->attempts != f.attempt
      || st.queue.state_of(f.id) != partition_queue::slot_state::running)
    return; // a late result of an attempt that no longer counts
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  outcome_context ctx{*st.links.catalog, st.opts.limits, st.cancel_requested.count(f.id) != 0,
                      unit(st.rng), now_ms()};
  auto cmd = decide_outcome(*j, std::move(f), ctx);
  write_outcome(self, std::move(cmd));
}

void start_attempt(partition_actor* self, job& j) {
  auto& st = self->state;
  if (j.attempts >= j.max_attempts && j.max_attempts > 0) {
    // Every allowed attempt has started, yet the job is not finished: the
    // process stopped during the last one. A job that takes the process down
    // with it must not run at every start forever.
    record_outcome cmd;
    cmd.id = j.id;
    cmd.attempt = j.attempts;
    cmd.next = job_status::dead;
    cmd.at_ms = now_ms();
    cmd.error = interrupted_entry(j.attempts, cmd.at_ms);
    cmd.error.message += "; no attempts left";
    cmd.error.retryable = false;
    write_outcome(self, std::move(cmd));
    return;
  }
  ++j.attempts;
  // The pool journals the start when a worker takes the attempt; until then
  // the stored job still reads pending (or retrying).
  j.status = job_status::running;
  auto now = now_ms();
  run_job cmd;
  cmd.j = j;
  if (!j.session_id.empty()) {
    try {
      read_txn txn{*st.links.env};
      job_tables t{*st.links.env, txn.get()};
      auto stored = t.get_session(j.session_id);
      if (stored && stored->live_at(now)) {
        cmd.has_session = true;
        cmd.session_data = std::move(stored->data);
      }
    } catch (const std::exception& e) {
      spdlog::warn("partition {}: reading session failed: {}", st.opts.index, e.what());
    }
  }
  auto kind = j.kind;
  ++st.in_flight[kind];
  auto id = j.id;
  auto attempt = j.attempts;
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

void dispatch(partition_actor* self) {
  auto& st = self->state;
  if (st.draining) return;
  auto now = now_ms();
  if (auto next = st.queue.promote_due(now)) arm_timer(self, *next);
  auto has_credit = [&](const std::string& kind) {
    auto pool = st.links.pools.find(kind);
    if (pool == st.links.pools.end()) return false; // waits for its agent
    const auto* entry = st.links.catalog->find(kind);
    auto limit = entry != nullptr ? std::max<std::uint32_t>(1, entry->options.concurrency) : 1;
    return st.in_flight[kind] < limit;
  };
  while (auto* j = st.queue.take_next(has_credit)) start_attempt(self, *j);
}

caf::result<job_status> cancel(partition_actor* self, const job_id& id) {
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
  cmd.at_ms = now_ms();
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
subscribe_feed feed_subscription(partition_actor* self) {
  subscribe_feed sub;
  sub.filter.partition = self->state.opts.index;
  sub.filter.causes = feed_filter::bit(transition_cause::submitted)
                      | feed_filter::bit(transition_cause::followup)
                      | feed_filter::bit(transition_cause::replayed);
  sub.target = caf::actor_cast<caf::actor>(self);
  sub.capacity = 16384;
  sub.name = "partition-" + std::to_string(self->state.opts.index);
  return sub;
}

// Jobs up to `seq` were journaled here (scheduled_at > 0: one waits in the
// scheduled index until then): page them in if there is room.
void on_new_work(partition_actor* self, std::uint64_t seq, std::int64_t scheduled_at) {
  auto& s = self->state;
  if (scheduled_at > 0) note_scheduled(self, scheduled_at);
  if (s.queue.has_room()) page_in(self);
  else if (seq > s.cursor) s.backlog = true;
  dispatch(self);
}

// Whatever may have been missed is in the store: look at both indexes again.
void look_again(partition_actor* self) {
  auto& s = self->state;
  s.scheduled_due_at = 0;
  s.backlog = true;
  on_new_work(self, std::numeric_limits<std::uint64_t>::max(), 0);
}

caf::behavior partition_behavior(partition_actor* self, partition_links links,
                                 partition_options opts) {
  auto& st = self->state;
  st.links = std::move(links);
  st.opts = opts;
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
      self->send(s.links.feed, ack_atom::value, static_cast<std::uint64_t>(batch.transitions.size()));
      on_new_work(self, top, 0);
    },
    [=](feed_gap&) { look_again(self); },
    [=](feed_atom, feed_actor& feed) {
      // The feed was replaced: subscribe there, then look at the store for
      // whatever was published to the old one.
      self->state.links.feed = std::move(feed);
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
      if (s.timer_at && *s.timer_at > now_ms() + 1) {
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
      return static_cast<std::uint64_t>(self->state.queue.running_count());
    },
    [=](journal_atom, journal_actor& j) { self->state.links.journal = std::move(j); },
    [=](rewrite_atom, record_outcome& cmd) {
      // A kept outcome whose job left meanwhile (cancel won) is dropped.
      if (self->state.queue.find(cmd.id) == nullptr) {
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
      return out;
    },
  };
}

} // namespace

caf::actor spawn_partition(caf::actor_system& sys, partition_links links,
                           partition_options opts) {
  return sys.spawn(partition_behavior, std::move(links), opts);
}

} // namespace hypercore
