// SPDX-License-Identifier: Apache-2.0
#pragma once

// One run of `hypercore serve --listen 127.0.0.1:0` on the soak's data
// directory: the driver starts it, learns the port from the line it prints,
// and ends it with SIGKILL (a crash) or SIGTERM (the last, clean stop).
// Not thread-safe: the crash loop owns it; port() may be read anywhere.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"

namespace hypercore::soak {

/// What every start of the server gets.
struct server_config {
  std::string bin;      ///< the hypercore executable
  std::string data_dir; ///< the same directory at every start
  std::string log_path; ///< stdout and stderr of every start, appended
  std::vector<std::string> extra_args;
};

class server {
public:
  explicit server(server_config cfg);
  ~server(); ///< SIGKILLs a server still running
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Forks and execs the server; false if it could not be started at all.
  bool start();
  /// Waits until it printed its port; 0 if it ended or `limit` passed first.
  int wait_port(std::chrono::milliseconds limit);
  /// The port once printed, else 0.
  int port() const { return port_.load(); }
  bool running() const { return pid_ > 0; }
  /// Time from start() to the port line (zero until then).
  std::chrono::milliseconds startup_time() const;
  /// Reaps the server if it ended by itself (a crash the driver did not cause).
  std::optional<exit_status> ended_by_itself();
  /// SIGKILL and reap.
  exit_status kill9();
  /// SIGTERM, then SIGKILL if it is still running after `grace`;
  /// `overran` tells which.
  exit_status terminate(std::chrono::milliseconds grace, bool& overran);
  /// The last lines of the log, for messages about a failed start.
  std::string log_tail(std::size_t max_bytes) const;

private:
  void read_stdout(int fd);
  void finish_reader();

  server_config cfg_;
  pid_t pid_ = -1;
  std::thread reader_;
  std::atomic<int> port_{0};
  std::mutex mtx_;
  std::condition_variable cv_;
  bool eof_ = false;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::milliseconds startup_{0};
  int starts_ = 0;
};

} // namespace hypercore::soak
