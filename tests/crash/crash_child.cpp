// SPDX-License-Identifier: Apache-2.0
// A child process for the crash tests: starts an engine on argv[1] and
//   load   (default) submits jobs until it is killed, printing
//          "ACK <id> <kind>" for each job whose submit returned (is durable);
//   poison submits one job whose agent ends the whole process, then idles;
//   resume only starts (recovering whatever is pending) and idles.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "hypercore/agents/builtin.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/engine.hpp"

namespace {

// Takes the whole process down, as a segfaulting native library would. It
// waits first so the attempt's start record reaches the disk.
class process_killer : public hypercore::agent {
public:
  std::string kind() const override { return "kill_process"; }
  hypercore::agent_result handle(hypercore::agent_context&, const nlohmann::json&) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::_Exit(9);
  }
};

} // namespace

int main(int argc, char** argv) {
  using namespace hypercore;
  std::string mode = argc > 2 ? argv[2] : "load";
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
  e.register_agent([] { return std::make_unique<process_killer>(); });
  if (auto err = e.start()) {
    std::fprintf(stderr, "start failed: %s\n", message_of(err).c_str());
    return 1;
  }
  std::printf("READY\n");
  std::fflush(stdout);
  if (mode != "load") {
    if (mode == "poison") {
      job_spec s;
      s.kind = "kill_process";
      s.max_attempts = 2;
      auto id = e.submit(s);
      if (!id) return 1;
      std::printf("ACK %s kill_process\n", id->to_string().c_str());
      std::fflush(stdout);
    }
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
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
