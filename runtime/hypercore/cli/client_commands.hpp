// SPDX-License-Identifier: Apache-2.0
#pragma once

// The command-line client of `hypercore`: submit, job, wait, cancel and
// dead list|replay, talking to a running `hypercore serve` over HTTP. Each
// prints the server's JSON on success and exits non-zero with the server's
// error message on failure.

#include <memory>

namespace CLI {
class App;
}

namespace hypercore::cli {

/// Adds the client subcommands to `app`; call run() after parsing.
class client_commands {
public:
  explicit client_commands(CLI::App& app);
  ~client_commands();
  /// The exit code of whichever client subcommand was given, or -1 if none.
  int run();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace hypercore::cli
