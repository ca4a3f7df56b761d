// SPDX-License-Identifier: Apache-2.0
#include "server.hpp"

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace hypercore::soak {

server::server(server_config cfg) : cfg_(std::move(cfg)) {}

server::~server() {
  if (pid_ > 0) kill9();
  finish_reader();
}

bool server::start() {
  finish_reader();
  port_ = 0;
  eof_ = false;
  startup_ = std::chrono::milliseconds{0};
  int log = ::open(cfg_.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return false;
  auto marker = "=== hypercore-soak: start " + std::to_string(++starts_) + " ===\n";
  if (::write(log, marker.data(), marker.size()) < 0) { /* the log is best effort */ }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ::close(log);
    return false;
  }
  std::vector<std::string> argv{cfg_.bin, "serve", "--data-dir", cfg_.data_dir,
                                "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), cfg_.extra_args.begin(), cfg_.extra_args.end());
  started_ = std::chrono::steady_clock::now();
  pid_ = spawn_child(argv, fds[1], log);
  ::close(fds[1]);
  ::close(log);
  if (pid_ < 0) {
    ::close(fds[0]);
    return false;
  }
  // The server's stdout must keep draining: a full pipe would block it.
  reader_ = std::thread{[this, fd = fds[0]] { read_stdout(fd); }};
  return true;
}

void server::read_stdout(int fd) {
  FILE* in = ::fdopen(fd, "r");
  std::ofstream log{cfg_.log_path, std::ios::app};
  char line[1024];
  while (in != nullptr && std::fgets(line, sizeof line, in) != nullptr) {
    log << line;
    int p = 0;
    if (port_ == 0 && std::sscanf(line, "hypercore: serving on http://127.0.0.1:%d", &p) == 1
        && p > 0) {
      std::lock_guard<std::mutex> guard{mtx_};
      startup_ = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started_);
      port_ = p;
      cv_.notify_all();
    }
  }
  if (in != nullptr) std::fclose(in);
  else ::close(fd);
  std::lock_guard<std::mutex> guard{mtx_};
  eof_ = true;
  cv_.notify_all();
}

void server::finish_reader() {
  if (reader_.joinable()) reader_.join();
}

int server::wait_port(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock{mtx_};
  cv_.wait_for(lock, limit, [&] { return port_ != 0 || eof_; });
  return port_;
}

std::chrono::milliseconds server::startup_time() const { return startup_; }

std::optional<exit_status> server::ended_by_itself() {
  if (pid_ <= 0) return std::nullopt;
  auto s = try_reap(pid_);
  if (s) {
    pid_ = -1;
    finish_reader();
  }
  return s;
}

exit_status server::kill9() {
  if (pid_ <= 0) return exit_status{};
  auto s = kill_and_reap(pid_);
  pid_ = -1;
  port_ = 0;
  finish_reader(); // the pipe closes with the process
  return s;
}

exit_status server::terminate(std::chrono::milliseconds grace, bool& overran) {
  overran = false;
  if (pid_ <= 0) return exit_status{};
  ::kill(pid_, SIGTERM);
  auto s = reap_within(pid_, grace);
  if (!s) {
    overran = true;
    s = kill_and_reap(pid_);
  }
  pid_ = -1;
  port_ = 0;
  finish_reader();
  return *s;
}

std::string server::log_tail(std::size_t max_bytes) const {
  std::ifstream in{cfg_.log_path, std::ios::binary};
  std::stringstream all;
  all << in.rdbuf();
  auto text = all.str();
  return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

} // namespace hypercore::soak
