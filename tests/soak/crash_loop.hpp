// SPDX-License-Identifier: Apache-2.0
#pragma once

// The kill schedule: each round starts the server on the same directory and
// SIGKILLs it at a random moment of one of three kinds: during recovery
// (before or around the port line), right after ready (within a few ms of
// the port line, while clients rush in) or under load (after a random share
// of the submits). After the last kill it starts the server once more and
// leaves it running for the checks.

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "clients.hpp"
#include "server.hpp"

namespace hypercore::soak {

struct crash_settings {
  int kills = 5;
  std::uint64_t target_acked = 2000;
  std::uint64_t seed = 1;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds start_limit{30000}; ///< longest wait for the port line
};

struct crash_stats {
  int kills = 0;
  int during_recovery = 0;   ///< killed before the port line
  int around_ready = 0;      ///< recovery kill that landed just after the port line
  int right_after_ready = 0; ///< within a few ms of the port line
  int under_load = 0;
  int starts = 0;
  int self_exits = 0;    ///< the server ended without a signal from us
  int failed_starts = 0; ///< no port line within start_limit
  std::chrono::milliseconds longest_startup{0};
  std::vector<std::string> incidents;
};

class crash_loop {
public:
  crash_loop(crash_settings s, server& srv, client_pool& clients);
  /// Runs the kills and the final start; false if no server is up at the end.
  bool run(crash_stats& stats);

private:
  bool start_and_wait(crash_stats& stats, bool wait_for_port);
  void kill_now(crash_stats& stats);
  bool out_of_time() const;

  crash_settings s_;
  server& srv_;
  client_pool& clients_;
  std::mt19937_64 rng_;
};

} // namespace hypercore::soak
