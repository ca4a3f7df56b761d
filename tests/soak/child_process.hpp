// SPDX-License-Identifier: Apache-2.0
#pragma once

// Child processes that cannot outlive the driver: every child is registered
// until it is reaped, and SIGKILLed at exit, on a fatal signal, on
// std::terminate, and by the kernel (PR_SET_PDEATHSIG) if the driver itself
// is killed. Process-wide; safe to call from any thread.

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hypercore::soak {

/// How a child ended, from waitpid().
struct exit_status {
  bool exited = false; ///< it called exit(); `code` holds the code
  int code = 0;
  int signal = 0; ///< the signal that ended it, when !exited
  std::string describe() const;
};

/// Installs the exit, signal and terminate hooks; call once from main.
void install_child_reaper();

/// Forks and execs `argv` (argv[0] is the path) with stdout and stderr on
/// the given descriptors and nothing else inherited; -1 when fork fails.
pid_t spawn_child(const std::vector<std::string>& argv, int stdout_fd, int stderr_fd);

/// Sends SIGKILL to every registered child; async-signal-safe.
void kill_all_children() noexcept;

/// Reaps the child if it has ended, without blocking.
std::optional<exit_status> try_reap(pid_t pid);

/// Waits for the child for at most `limit`; nullopt if it is still running.
std::optional<exit_status> reap_within(pid_t pid, std::chrono::milliseconds limit);

/// SIGKILLs the child and reaps it.
exit_status kill_and_reap(pid_t pid);

/// Runs `argv` to its end with stdout in `out_path`, stderr in `err_path`;
/// kills it after `limit` (then the status says SIGKILL).
exit_status run_to_file(const std::vector<std::string>& argv, const std::string& out_path,
                        const std::string& err_path, std::chrono::milliseconds limit);

} // namespace hypercore::soak
