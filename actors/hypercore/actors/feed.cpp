// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/feed.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

namespace hypercore {

namespace {

struct subscriber {
  feed_sink_actor target;
  feed_filter filter;
  std::string name;
  std::uint64_t capacity = 0;
  std::uint64_t in_flight = 0;
  /// First position not sent since the subscriber fell behind; 0: none.
  std::uint64_t gap_from = 0;
  /// This commit's matching transitions, gathered during one publish.
  std::vector<transition> scratch;
};

struct feed_state {
  static inline const char* name = "hypercore.feed";

  std::uint64_t next_position = 1;
  std::unordered_map<caf::actor_id, subscriber> subs;
  /// Subscribers that follow one job, by job: a commit touches only those
  /// of its jobs, however many streams are open.
  std::unordered_map<job_id, std::vector<caf::actor_id>, job_id_hash> by_job;
  std::vector<caf::actor_id> general;
  /// The general subscribers during one publish (reused, not reallocated).
  std::vector<subscriber*> general_now;
  std::uint64_t published = 0;
  std::uint64_t gaps = 0;

  // Sends what a subscriber missed, once it has room again.
  void resume_if_room(subscriber& s, std::uint64_t up_to) {
    if (s.gap_from == 0 || s.in_flight > s.capacity / 2) return;
    caf::anon_send(s.target, feed_gap{s.gap_from, up_to});
    s.gap_from = 0;
  }

  // Sends one commit's matching transitions, or records a gap when the
  // subscriber has too many unacknowledged (one batch alone always goes:
  // a subscriber with nothing in flight is never starved).
  void offer(subscriber& s, std::vector<transition>&& batch, std::uint64_t first) {
    resume_if_room(s, first);
    if (s.gap_from != 0 || batch.empty()) return;
    if (s.in_flight > 0 && s.in_flight + batch.size() > s.capacity) {
      s.gap_from = first;
      if (gaps++ % 1000 == 0)
        spdlog::warn("feed: subscriber {} fell behind ({} unacknowledged); it catches up "
                     "from the event log ({} gaps so far)",
                     s.name, s.in_flight, gaps);
      return;
    }
    s.in_flight += batch.size();
    caf::anon_send(s.target, feed_batch{std::move(batch)});
  }

  void publish(committed& c) {
    auto first = c.transitions.empty() ? c.next_position : c.transitions.front().position;
    if (first > next_position) {
      // Positions this feed never received (it was replaced while the
      // journal published to its predecessor): every subscriber reads them
      // from the event log.
      for (auto& [id, s] : subs)
        if (s.gap_from == 0 || s.gap_from > next_position) s.gap_from = next_position;
    }
    published += c.transitions.size();
    // Job-filtered subscribers first: they copy. The general ones then take
    // each transition by move where it is the last to match (most match one:
    // their partition, or on_transition), so a commit is copied as little
    // as it can be.
    if (!by_job.empty()) {
      std::vector<caf::actor_id> touched;
      for (const auto& t : c.transitions) {
        auto it = by_job.find(t.id);
        if (it == by_job.end()) continue;
        for (auto id : it->second) {
          auto& s = subs.at(id);
          if (!matches(s.filter, t)) continue;
          if (s.scratch.empty()) touched.push_back(id);
          s.scratch.push_back(t);
        }
      }
      for (auto id : touched) {
        auto& s = subs.at(id);
        offer(s, std::exchange(s.scratch, {}), first);
      }
    }
    general_now.clear();
    for (auto id : general) general_now.push_back(&subs.at(id));
    for (auto& t : c.transitions) {
      subscriber* previous = nullptr;
      for (auto* s : general_now) {
        if (!matches(s->filter, t)) continue;
        if (previous) previous->scratch.push_back(t);
        previous = s;
      }
      if (previous) previous->scratch.push_back(std::move(t));
    }
    for (auto* s : general_now) offer(*s, std::exchange(s->scratch, {}), first);
    next_position = std::max(next_position, c.next_position);
  }

  void forget(caf::actor_id id) {
    auto it = subs.find(id);
    if (it == subs.end()) return;
    const auto& job = it->second.filter.job;
    if (!job.empty()) {
      auto list = by_job.find(job);
      if (list != by_job.end()) {
        std::erase(list->second, id);
        if (list->second.empty()) by_job.erase(list);
      }
    } else {
      std::erase(general, id);
    }
    subs.erase(it);
  }
};

using feed_pointer = feed_actor::stateful_pointer<feed_state>;

feed_actor::behavior_type feed_behavior(feed_pointer self, std::uint64_t next_position) {
  self->state.next_position = next_position;
  self->set_down_handler([=](caf::down_msg& msg) {
    self->state.forget(msg.source.id());
  });
  return {
    [=](committed& c) { self->state.publish(c); },
    [=](subscribe_feed& cmd) -> caf::result<std::uint64_t> {
      if (!cmd.target) return caf::sec::invalid_argument;
      auto& st = self->state;
      auto id = cmd.target.id();
      st.forget(id);
      if (cmd.filter.job.empty()) st.general.push_back(id);
      else st.by_job[cmd.filter.job].push_back(id);
      self->monitor(cmd.target);
      subscriber s;
      s.target = std::move(cmd.target);
      s.filter = std::move(cmd.filter);
      s.name = std::move(cmd.name);
      s.capacity = std::max<std::uint32_t>(1, cmd.capacity);
      st.subs.emplace(id, std::move(s));
      return st.next_position;
    },
    [=](ack_atom, std::uint64_t count) {
      auto& st = self->state;
      auto sender = self->current_sender();
      if (!sender) return;
      auto it = st.subs.find(sender->id());
      if (it == st.subs.end()) return;
      auto& s = it->second;
      s.in_flight -= std::min(s.in_flight, count);
      st.resume_if_room(s, st.next_position);
    },
    [=](unsub_atom) {
      if (auto sender = self->current_sender()) self->state.forget(sender->id());
    },
    [=](stats_atom) {
      auto& st = self->state;
      return feed_stats{st.subs.size(), st.published, st.gaps, st.next_position};
    },
  };
}

} // namespace

feed_actor spawn_feed(caf::actor_system& sys, std::uint64_t next_position) {
  return sys.spawn(feed_behavior, next_position);
}

} // namespace hypercore
