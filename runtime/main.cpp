// SPDX-License-Identifier: Apache-2.0
// hypercore: the command-line entry point. Today: `export`; the server and the
// client commands plug in here as further subcommands.
#include <iostream>

#include <CLI/CLI.hpp>

#include "hypercore/core/errc.hpp"
#include "hypercore/exporter.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Hypercore: a durable actor runtime for AI-agent jobs"};
  app.require_subcommand(1);

  std::string data_dir = "./data";
  auto* exp = app.add_subcommand("export", "Write every job, result and dead letter as JSON lines");
  exp->add_option("--data-dir", data_dir, "Data directory of the store")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (exp->parsed()) {
    auto written = hypercore::export_jobs(data_dir, std::cout);
    if (!written) {
      std::cerr << "hypercore export: " << hypercore::message_of(written.error()) << '\n';
      return 1;
    }
    std::cerr << "exported " << *written << " jobs\n";
  }
  return 0;
}
