// SPDX-License-Identifier: Apache-2.0
// A child process for the crash tests: starts an engine on argv[1] and
// submits jobs until it is killed, printing "ACK <id> <kind>" for each job
// whose submit returned (that is, each job that is durable).
#include <cstdio>
#include <string>

#include "hypercore/agents/builtin.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/engine.hpp"

int main(int argc, char** argv) {
  using namespace hypercore;
  if (argc < 2) {
    std::fprintf(stderr, "usage: crash_child DATA_DIR\n");
    return 2;
  }
  engine_config cfg;
  cfg.data_dir = argv[1];
  cfg.partitions = 4;
  cfg.initial_map_bytes = std::size_t{64} << 20;
  engine e{cfg};
  for (auto& f : agents::builtin_agents(4)) e.register_agent(f);
  if (auto err = e.start()) {
    std::fprintf(stderr, "start failed: %s\n", message_of(err).c_str());
    return 1;
  }
  std::printf("READY\n");
  std::fflush(stdout);
  for (std::uint64_t n = 0;; ++n) {
    job_spec s;
    switch (n % 3) {
      case 0:
        s.kind = "sleep";
        s.params = R"({"ms":2})";
        s.partition_key = "key-" + std::to_string(n % 5);
        break;
      case 1:
        s.kind = "chain";
        s.params = R"({"next":[{"kind":"echo","params":{"leaf":true}}]})";
        break;
      default:
        s.kind = "echo";
        s.params = "{\"n\":" + std::to_string(n) + "}";
        break;
    }
    auto id = e.submit(s);
    if (!id) {
      std::fprintf(stderr, "submit failed: %s\n", message_of(id.error()).c_str());
      return 1;
    }
    std::printf("ACK %s %s\n", id->to_string().c_str(), s.kind.c_str());
    std::fflush(stdout);
  }
}
