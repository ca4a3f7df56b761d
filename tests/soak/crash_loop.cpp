// SPDX-License-Identifier: Apache-2.0
#include "crash_loop.hpp"

#include <algorithm>
#include <thread>

namespace hypercore::soak {

namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

constexpr milliseconds load_round_cap{10000}; // an under-load round never waits longer

} // namespace

crash_loop::crash_loop(crash_settings s, server& srv, client_pool& clients)
    : s_(s), srv_(srv), clients_(clients), rng_(s.seed ^ 0x5bd1e995u) {}

bool crash_loop::out_of_time() const { return clock_type::now() >= s_.deadline; }

bool crash_loop::start_and_wait(crash_stats& stats, bool wait_for_port) {
  ++stats.starts;
  if (!srv_.start()) {
    stats.incidents.push_back("start " + std::to_string(stats.starts) + ": fork/exec failed");
    return false;
  }
  if (!wait_for_port) return true;
  int port = srv_.wait_port(s_.start_limit);
  if (port == 0) {
    ++stats.failed_starts;
    auto ended = srv_.ended_by_itself();
    stats.incidents.push_back("start " + std::to_string(stats.starts) + ": no port line ("
                              + (ended ? "it ended, " + ended->describe() : "timed out")
                              + "); log tail:\n" + srv_.log_tail(2000));
    if (!ended) srv_.kill9();
    return false;
  }
  stats.longest_startup = std::max(stats.longest_startup, srv_.startup_time());
  clients_.set_port(port);
  return true;
}

void crash_loop::kill_now(crash_stats& stats) {
  if (auto ended = srv_.ended_by_itself()) {
    // Nobody signalled it: a crash of its own, the worst finding there is.
    ++stats.self_exits;
    stats.incidents.push_back("start " + std::to_string(stats.starts)
                              + ": the server ended by itself (" + ended->describe()
                              + "); log tail:\n" + srv_.log_tail(2000));
  } else {
    srv_.kill9();
    ++stats.kills;
  }
  clients_.set_port(0);
}

bool crash_loop::run(crash_stats& stats) {
  auto per_kill =
    std::max<std::uint64_t>(1, s_.target_acked / static_cast<std::uint64_t>(s_.kills + 1));
  milliseconds est_startup{100};
  for (int i = 0; i < s_.kills && !out_of_time(); ++i) {
    int roll = std::uniform_int_distribution<int>{0, 99}(rng_);
    if (roll < 35) {
      // During recovery: a random point of the usual start-up time, so some
      // land before the port line and some just after it.
      auto span = std::max<milliseconds::rep>(20, est_startup.count() * 13 / 10);
      milliseconds delay{std::uniform_int_distribution<milliseconds::rep>{0, span}(rng_)};
      if (!start_and_wait(stats, false)) return false;
      auto until = clock_type::now() + delay;
      while (clock_type::now() < until) {
        if (srv_.port() != 0) clients_.set_port(srv_.port());
        std::this_thread::sleep_for(milliseconds(1));
      }
      bool ready = srv_.port() != 0;
      if (ready) est_startup = srv_.startup_time();
      ++(ready ? stats.around_ready : stats.during_recovery);
      kill_now(stats);
      continue;
    }
    if (!start_and_wait(stats, true)) {
      // Give the directory one more chance before the run is given up.
      if (!start_and_wait(stats, true)) return false;
    }
    est_startup = srv_.startup_time();
    if (roll < 55) {
      std::this_thread::sleep_for(
        milliseconds(std::uniform_int_distribution<int>{0, 5}(rng_)));
      ++stats.right_after_ready;
    } else {
      // Under load: after a random share of this round's submits.
      auto share = std::uniform_real_distribution<double>{0.5, 1.5}(rng_);
      auto target = std::min<std::uint64_t>(
        s_.target_acked, clients_.acked() + static_cast<std::uint64_t>(share * static_cast<double>(per_kill)));
      auto until = clock_type::now() + load_round_cap;
      while (clients_.acked() < target && !clients_.finished() && clock_type::now() < until
             && !out_of_time())
        std::this_thread::sleep_for(milliseconds(1));
      std::this_thread::sleep_for(
        milliseconds(std::uniform_int_distribution<int>{0, 30}(rng_)));
      ++stats.under_load;
    }
    kill_now(stats);
  }
  if (stats.kills < s_.kills)
    stats.incidents.push_back("time ran out after " + std::to_string(stats.kills) + " of "
                              + std::to_string(s_.kills) + " kills");
  if (start_and_wait(stats, true)) return true;
  return start_and_wait(stats, true);
}

} // namespace hypercore::soak
