// SPDX-License-Identifier: Apache-2.0
// Durable acknowledgement under SIGKILL: a child process submits jobs and is
// killed mid-load, several times, on the same data directory. Every job whose
// submit returned must run to completion, and no follow-up may be lost or
// duplicated.
#include <csignal>
#include <cstdio>
#include <map>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

#include "hypercore/persistence/job_tables.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;

namespace {

struct acked_job {
  job_id id;
  std::string kind;
};

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

/// Runs the child until it acknowledged `acks` jobs (or, with a timeout,
/// until that passes), then SIGKILLs it unless it died by itself.
std::vector<acked_job> run_and_kill(const std::string& dir, std::size_t acks,
                                    const char* mode = "load", int timeout_s = 0) {
  int out[2];
  REQUIRE(pipe(out) == 0);
  auto child_path = env_or("HYPERCORE_CRASH_CHILD", "./bin/crash_child");
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    if (timeout_s > 0) alarm(static_cast<unsigned>(timeout_s)); // SIGALRM ends an idle child
    execl(child_path.c_str(), child_path.c_str(), dir.c_str(), mode, static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* in = fdopen(out[0], "r");
  std::vector<acked_job> acked;
  char line[256];
  while (acked.size() < acks && std::fgets(line, sizeof line, in) != nullptr) {
    char id_text[64], kind[32];
    if (std::sscanf(line, "ACK %63s %31s", id_text, kind) == 2) {
      auto id = job_id::parse(id_text);
      REQUIRE(id);
      acked.push_back({*id, kind});
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  std::fclose(in);
  REQUIRE((WIFSIGNALED(status) || WIFEXITED(status)));
  return acked;
}

} // namespace

TEST_CASE("every acknowledged job survives SIGKILL and runs once restarted",
          "[crash][durability]") {
  temp_dir dir;
  std::vector<acked_job> acked;
  std::mt19937 rng{7};

  for (int round = 0; round < 4; ++round) {
    auto got = run_and_kill(dir.str(), 100 + rng() % 400);
    INFO("round " << round << " acknowledged " << got.size());
    REQUIRE_FALSE(got.empty());
    acked.insert(acked.end(), got.begin(), got.end());
  }

  {
    engine e{[&] {
      auto cfg = test_config(dir.str());
      cfg.partitions = 4;
      return cfg;
    }()};
    for (auto& f : agents::builtin_agents(4)) REQUIRE_FALSE(e.register_agent(f));
    REQUIRE_FALSE(e.start());
    for (const auto& a : acked) {
      auto view = e.wait(a.id, std::chrono::seconds(60));
      INFO(a.kind << " " << a.id.to_string());
      REQUIRE(view);
      CHECK(view->record.status == job_status::succeeded);
      CHECK(view->output.has_value());
      if (a.kind == "chain") {
        REQUIRE(view->record.followups.size() == 1);
        auto leaf = e.wait(view->record.followups[0], std::chrono::seconds(60));
        REQUIRE(leaf);
        CHECK(leaf->record.status == job_status::succeeded);
      }
    }
    e.shutdown();
  }

  // `hypercore export` (a separate process, run while no store is open
  // here) sees every acknowledged job.
  auto export_cmd = env_or("HYPERCORE_BIN", "./bin/hypercore") + " export --data-dir " + dir.str()
                    + " 2>/dev/null";
  FILE* exported = popen(export_cmd.c_str(), "r");
  REQUIRE(exported != nullptr);
  std::set<std::string> exported_ids;
  char buf[1 << 16];
  while (std::fgets(buf, sizeof buf, exported) != nullptr) {
    auto line = nlohmann::json::parse(buf, nullptr, false);
    REQUIRE_FALSE(line.is_discarded());
    exported_ids.insert(line["id"].get<std::string>());
  }
  CHECK(pclose(exported) == 0);
  for (const auto& a : acked) CHECK(exported_ids.count(a.id.to_string()) == 1);

  // Exactly-once follow-ups: each chain job has exactly one child on disk.
  persistence::env_options opts;
  opts.dir = dir.str();
  opts.partitions = 4;
  auto env = persistence::lmdb_env::open(opts);
  REQUIRE(env);
  std::map<job_id, int> children;
  {
    persistence::read_txn txn{**env};
    persistence::job_tables t{**env, txn.get()};
    t.scan_jobs([&](const job& j) {
      if (!j.parent_id.empty()) ++children[j.parent_id];
      return true;
    });
  }
  for (const auto& a : acked)
    if (a.kind == "chain") CHECK(children[a.id] == 1);
}

TEST_CASE("a job that takes the process down is dead after its attempts, not run forever",
          "[crash][recovery]") {
  temp_dir dir;

  auto acked = run_and_kill(dir.str(), 2, "poison", 10);
  REQUIRE(acked.size() == 1);
  // Each restart re-queues the job at once; it kills the process again
  // until its two attempts are used up.
  for (int restart = 0; restart < 3; ++restart) run_and_kill(dir.str(), 1, "resume", 3);

  engine e{test_config(dir.str())};
  for (auto& f : agents::builtin_agents(1)) REQUIRE_FALSE(e.register_agent(f));
  REQUIRE_FALSE(e.start());
  auto view = e.get(acked.front().id);
  REQUIRE(view);
  CHECK(view->record.status == job_status::dead);
  CHECK(view->record.attempts == 2);
  // One entry per attempt that did not succeed: both were cut by the kill.
  REQUIRE(view->record.errors.size() == 2);
  CHECK(view->record.errors[0].attempt == 1);
  CHECK(view->record.errors[0].message.find("attempt 1 interrupted") != std::string::npos);
  CHECK(view->record.errors[1].attempt == 2);
  CHECK(view->record.errors[1].message.find("attempt 2 interrupted") != std::string::npos);
  CHECK(view->record.errors[1].message.find("no attempts left") != std::string::npos);
}
