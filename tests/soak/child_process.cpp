// SPDX-License-Identifier: Apache-2.0
#include "child_process.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace hypercore::soak {

namespace {

// A fixed table of atomics, so the signal handler can read it without locks.
std::array<std::atomic<pid_t>, 32> children{};

void remember(pid_t pid) {
  for (auto& slot : children) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
  // More than 32 live children is a driver bug; do not leave one unguarded.
  ::kill(pid, SIGKILL);
}

void forget(pid_t pid) {
  for (auto& slot : children) {
    pid_t mine = pid;
    if (slot.compare_exchange_strong(mine, 0)) return;
  }
}

exit_status decode(int status) {
  exit_status s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  return s;
}

void on_fatal_signal(int sig) {
  kill_all_children();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

} // namespace

std::string exit_status::describe() const {
  if (exited) return "exit code " + std::to_string(code);
  return "signal " + std::to_string(signal);
}

void install_child_reaper() {
  std::atexit([] { kill_all_children(); });
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE})
    std::signal(sig, on_fatal_signal);
  std::set_terminate([] {
    kill_all_children();
    std::abort();
  });
  // A write to a server that just died must be an error, not our death.
  std::signal(SIGPIPE, SIG_IGN);
}

pid_t spawn_child(const std::vector<std::string>& argv, int stdout_fd, int stderr_fd) {
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> args = argv;
  std::vector<char*> raw;
  for (auto& a : args) raw.push_back(a.data());
  raw.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid != 0) {
    if (pid > 0) remember(pid);
    return pid;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(126); // the driver died before prctl
  ::dup2(stdout_fd, STDOUT_FILENO);
  ::dup2(stderr_fd, STDERR_FILENO);
  // Client sockets of other threads must not keep connections open in here.
  ::close_range(3, ~0U, 0);
  ::signal(SIGPIPE, SIG_DFL);
  ::execv(raw[0], raw.data());
  ::_exit(127);
}

void kill_all_children() noexcept {
  for (auto& slot : children) {
    pid_t pid = slot.load();
    if (pid > 0) ::kill(pid, SIGKILL);
  }
}

std::optional<exit_status> try_reap(pid_t pid) {
  if (pid <= 0) return exit_status{};
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == 0) return std::nullopt;
  forget(pid);
  if (r < 0) return exit_status{}; // already reaped elsewhere: treat as gone
  return decode(status);
}

std::optional<exit_status> reap_within(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (auto s = try_reap(pid)) return s;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

exit_status kill_and_reap(pid_t pid) {
  if (pid <= 0) return exit_status{}; // kill(-1) would reach every process we may signal
  ::kill(pid, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, 0);
  } while (r < 0 && errno == EINTR);
  forget(pid);
  return r == pid ? decode(status) : exit_status{};
}

exit_status run_to_file(const std::vector<std::string>& argv, const std::string& out_path,
                        const std::string& err_path, std::chrono::milliseconds limit) {
  int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  exit_status failed{true, 125, 0};
  if (out < 0 || err < 0) {
    if (out >= 0) ::close(out);
    if (err >= 0) ::close(err);
    return failed;
  }
  pid_t pid = spawn_child(argv, out, err);
  ::close(out);
  ::close(err);
  if (pid < 0) return failed;
  if (auto s = reap_within(pid, limit)) return *s;
  return kill_and_reap(pid);
}

} // namespace hypercore::soak
