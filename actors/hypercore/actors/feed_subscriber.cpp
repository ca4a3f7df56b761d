// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/feed_subscriber.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/persistence/event_codec.hpp"
#include "hypercore/persistence/store_call.hpp"

namespace hypercore {

namespace {

struct subscriber_state {
  static inline const char* name = "hypercore.feed_subscriber";

  // Declared so the state is not an aggregate: C++20 would then let CAF
  // construct it from the actor's self pointer (into `feed`), which a typed
  // self cannot convert to.
  subscriber_state() = default;

  feed_actor feed;
  std::shared_ptr<persistence::lmdb_env> env;
  feed_subscriber_options opts;
  std::shared_ptr<subscription_gate> gate;
  ack_batcher acks;
  /// Positions [catch_from, catch_to) are still to be read from the log.
  std::uint64_t catch_from = 0;
  std::uint64_t catch_to = 0;

  bool catching_up() const { return catch_from < catch_to; }

  ~subscriber_state() {
    if (gate) gate->end();
  }

  // Reads one chunk of the event log; true while more is left.
  bool catch_up_step() {
    std::vector<transition> found;
    auto expected = catch_from;
    std::size_t visited = 0;
    auto read = persistence::read_tables(*env, [&](persistence::job_tables& t) {
      t.scan_events(catch_from, catch_to, [&](std::uint64_t position, std::string_view bytes) {
        if (position > expected) gate->lost(expected, position);
        expected = position + 1;
        if (auto tr = persistence::decode_transition(bytes, position)) {
          if (matches(opts.filter, *tr)) found.push_back(std::move(*tr));
        } else {
          spdlog::error("feed: event log record {} does not decode; reported as lost", position);
          gate->lost(position, position + 1);
        }
        return ++visited < opts.catchup_chunk;
      });
    });
    if (read) spdlog::error("feed: reading the event log failed: {}", message_of(read));
    // Nothing (more) in range: the log does not hold it.
    if (visited == 0) {
      gate->lost(expected, catch_to);
      expected = catch_to;
    }
    gate->deliver(found);
    catch_from = expected;
    return catching_up();
  }
};

using subscriber_actor = feed_subscriber_actor::stateful_pointer<subscriber_state>;

void start_catch_up(subscriber_actor self, std::uint64_t from, std::uint64_t to) {
  auto& st = self->state;
  if (st.catching_up()) {
    st.catch_to = std::max(st.catch_to, to);
    return;
  }
  st.catch_from = from;
  st.catch_to = to;
  if (st.catching_up()) self->send(self, catchup_atom::value);
}

feed_subscriber_actor::behavior_type subscriber_behavior(subscriber_actor self, feed_actor feed,
                                  std::shared_ptr<persistence::lmdb_env> env,
                                  feed_subscriber_options opts,
                                  std::shared_ptr<subscription_gate> gate,
                                  std::function<void(caf::expected<std::uint64_t>)> registered) {
  auto& st = self->state;
  st.feed = feed;
  st.env = std::move(env);
  st.opts = opts;
  st.acks = ack_batcher{opts.capacity};
  st.gate = std::move(gate);
  // Stops with the feed (engine shutdown): the state's destructor ends the
  // subscription for its owner. A monitor, not a link: a subscription that
  // is dropped must not take the feed down with it.
  self->monitor(feed);
  self->set_down_handler([=](caf::down_msg& msg) {
    if (msg.source == self->state.feed.address()) self->quit(msg.reason);
  });
  subscribe_feed cmd{opts.filter, caf::actor_cast<feed_sink_actor>(self), opts.capacity, opts.name};
  self->request(feed, caf::infinite, std::move(cmd))
    .await(
      [=](std::uint64_t next) {
        auto resume = self->state.opts.resume_from;
        if (resume > 0 && resume < next) start_catch_up(self, resume, next);
        registered(next);
      },
      [=](caf::error& err) {
        registered(err);
        self->quit(err);
      });
  return {
    [=](feed_batch& b) {
      auto& s = self->state;
      auto n = b.transitions.size();
      if (s.catching_up()) {
        // Everything published is in the log: read it from there, in order.
        if (n > 0) s.catch_to = std::max(s.catch_to, b.transitions.back().position + 1);
      } else {
        s.gate->deliver(b.transitions);
      }
      if (auto acked = s.acks.handled(n)) self->send(s.feed, ack_atom::value, acked);
    },
    [=](feed_gap& g) { start_catch_up(self, g.from, g.to); },
    [=](catchup_atom) {
      if (self->state.catch_up_step()) self->send(self, catchup_atom::value);
    },
  };
}

} // namespace

feed_subscriber_actor spawn_feed_subscriber(caf::actor_system& sys, feed_actor feed,
                                 std::shared_ptr<persistence::lmdb_env> env,
                                 feed_subscriber_options opts,
                                 std::shared_ptr<subscription_gate> gate,
                                 std::function<void(caf::expected<std::uint64_t>)> registered) {
  if (opts.own_thread)
    return sys.spawn<caf::detached>(subscriber_behavior, std::move(feed), std::move(env),
                                    std::move(opts), std::move(gate), std::move(registered));
  return sys.spawn(subscriber_behavior, std::move(feed), std::move(env), std::move(opts),
                   std::move(gate), std::move(registered));
}

} // namespace hypercore
