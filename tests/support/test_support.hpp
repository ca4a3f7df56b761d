// SPDX-License-Identifier: Apache-2.0
#pragma once

// Shared fixtures: a fresh data directory per test and an engine on it with
// the built-in agents.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "hypercore/agents/builtin.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/engine.hpp"

namespace hypercore::test {

/// A directory under the system temp dir, removed when the test ends.
class temp_dir {
public:
  temp_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path()
            / ("hypercore-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string str() const { return path_.string(); }
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

/// True in an AddressSanitizer build: its free quarantine (256 MiB) and
/// redzones make anonymous RSS say nothing about our own memory use, so
/// memory bounds are reported there instead of checked.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool memory_bounds_meaningful = false;
#else
inline constexpr bool memory_bounds_meaningful = true;
#endif

/// Anonymous resident memory (heap, stacks), excluding LMDB's file mapping,
/// whose pages would otherwise count as the store grows.
inline std::size_t anon_rss_bytes() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("RssAnon:", 0) == 0) return std::stoull(line.substr(8)) * 1024;
  return 0;
}

inline engine_config test_config(const std::string& dir) {
  engine_config cfg;
  cfg.data_dir = dir;
  cfg.partitions = 4;
  cfg.initial_map_bytes = std::size_t{64} << 20;
  return cfg;
}

inline job_spec spec(std::string kind, nlohmann::json params = nlohmann::json::object(),
                     std::string key = {}) {
  job_spec s;
  s.kind = std::move(kind);
  s.params = params.dump();
  s.partition_key = std::move(key);
  return s;
}

/// An engine with the built-in agents, started on a temp dir.
struct engine_fixture {
  temp_dir dir;
  std::unique_ptr<engine> eng;

  explicit engine_fixture(std::uint32_t concurrency = 4,
                          std::function<void(engine_config&)> tweak = {},
                          std::function<void(engine&)> extra_agents = {}) {
    start(concurrency, tweak, extra_agents);
  }

  void start(std::uint32_t concurrency = 4, std::function<void(engine_config&)> tweak = {},
             std::function<void(engine&)> extra_agents = {}) {
    auto cfg = test_config(dir.str());
    if (tweak) tweak(cfg);
    eng = std::make_unique<engine>(cfg);
    for (auto& f : agents::builtin_agents(concurrency)) REQUIRE_FALSE(eng->register_agent(f));
    if (extra_agents) extra_agents(*eng);
    auto err = eng->start();
    INFO(message_of(err));
    REQUIRE_FALSE(err);
  }

  job_id submit(const job_spec& s) {
    auto id = eng->submit(s);
    INFO((id ? std::string{} : message_of(id.error())));
    REQUIRE(id);
    return *id;
  }

  job_view wait_terminal(const job_id& id,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto view = eng->wait(id, timeout);
    INFO((view ? std::string{} : message_of(view.error())));
    REQUIRE(view);
    return *view;
  }
};

} // namespace hypercore::test
