// SPDX-License-Identifier: Apache-2.0
#pragma once

// The submitting side of the soak: N threads, each posting its own workload
// one job at a time to whatever port the current server has (0 while it is
// down), until the acknowledged total reaches the target. A submit with an
// Idempotency-Key is re-sent until it is answered (the safe retry the API
// documents); one without is given up when its connection breaks. Threads
// also re-send old keys to check they name the same job.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "workload.hpp"

namespace hypercore::soak {

/// A submit that got a 2xx: the server owes us this job.
struct acked_job {
  planned_job plan;
  std::string id;
  bool answered_duplicate = false; ///< 200 "duplicate" after a broken send
  int sends = 0;
  std::uint64_t ack_order = 0; ///< global order of acknowledgements
};

/// A submit refused with an unexpected status (neither 2xx nor 503).
struct refused_submit {
  planned_job plan;
  int status = 0;
  std::string body;
};

/// A deliberate re-send of an acknowledged key; it must name the same job.
struct resubmit_check {
  std::string key;
  std::string expected_id;
  int status = 0;
  std::string got_id;
};

/// Everything the clients saw.
struct submit_log {
  std::vector<acked_job> acked;
  std::vector<planned_job> unanswered; ///< may or may not exist (no key, connection broke)
  std::vector<refused_submit> refused;
  std::vector<resubmit_check> resubmits;
  /// 200 "duplicate" for a key that no earlier send could have written.
  std::vector<acked_job> fresh_key_duplicates;
  std::uint64_t broken_sends = 0; ///< sends whose connection failed
  std::uint64_t busy_answers = 0; ///< 503 answers (nothing written), retried
};

struct client_settings {
  int threads = 4;
  std::uint64_t target_acked = 2000;
  std::uint64_t seed = 1;
  unsigned spare_attempts = 5;
  std::chrono::steady_clock::time_point deadline;
};

class client_pool {
public:
  explicit client_pool(client_settings s);
  ~client_pool();
  client_pool(const client_pool&) = delete;
  client_pool& operator=(const client_pool&) = delete;

  void start();
  /// The port of the server now taking requests; 0 while there is none.
  void set_port(int port) { port_ = port; }
  std::uint64_t acked() const { return acked_count_.load(); }
  /// True once every thread has finished (target reached or stopped).
  bool finished() const { return running_threads_.load() == 0; }
  /// Asks the threads to stop after their current request.
  void stop() { stop_ = true; }
  void join();
  /// The log; call after join().
  submit_log& log() { return log_; }

private:
  void run(int thread);
  /// Sends until a definite answer; returns the final status (0: none).
  int send(const planned_job& p, std::string& body_out, int& sends, bool& maybe_written);
  bool out_of_time() const;

  client_settings s_;
  std::atomic<int> port_{0};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> acked_count_{0};
  std::atomic<int> running_threads_{0};
  std::vector<std::thread> threads_;
  std::mutex mtx_;
  submit_log log_;
};

} // namespace hypercore::soak
