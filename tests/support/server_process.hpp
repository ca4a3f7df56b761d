// SPDX-License-Identifier: Apache-2.0
#pragma once

// `hypercore serve` as a child process on a free 127.0.0.1 port, for the
// tests that need the real binary (crash tests, the monitoring test). The
// binary is $HYPERCORE_BIN, else ./bin/hypercore.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

namespace hypercore::test {

struct server_process {
  pid_t pid = -1;
  int port = 0;
  FILE* out = nullptr;
};

// Starts `hypercore serve` on a free port and reads the port it printed.
inline server_process start_server_with(const std::string& dir, std::vector<std::string> extra) {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const char* bin_env = std::getenv("HYPERCORE_BIN");
  std::string bin = bin_env != nullptr ? bin_env : "./bin/hypercore";
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    std::vector<std::string> args{bin, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0"};
    if (extra.empty()) extra = {"--partitions", "4"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  server_process s{pid, 0, fdopen(pipe_fds[0], "r")};
  char line[512];
  while (s.port == 0 && std::fgets(line, sizeof line, s.out) != nullptr)
    std::sscanf(line, "hypercore: serving on http://127.0.0.1:%d", &s.port);
  if (s.port == 0) {
    // It exited (or closed stdout) without serving: reap it before failing.
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    std::fclose(s.out);
  }
  REQUIRE(s.port > 0);
  return s;
}

inline server_process start_server(const std::string& dir) { return start_server_with(dir, {}); }

inline void kill_server(server_process& s, int sig) {
  kill(s.pid, sig);
  int status = 0;
  waitpid(s.pid, &status, 0);
  std::fclose(s.out);
}


} // namespace hypercore::test
