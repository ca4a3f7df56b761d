// SPDX-License-Identifier: Apache-2.0
// kill -9 of `hypercore serve` in the middle of a burst of HTTP submits:
// every job whose submit got a 2xx is there after a restart and runs, and no
// submit made more than one job.
#include <atomic>
#include <csignal>
#include <fstream>
#include <cstdio>
#include <mutex>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "http_client.hpp"
#include "server_process.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;


TEST_CASE("kill -9 of the server mid-burst loses no acknowledged submit and duplicates none",
          "[crash][http]") {
  temp_dir dir;
  auto server = start_server(dir.str());
  std::mutex mtx;
  std::vector<std::string> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> attempts{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&, c] {
      for (int n = 0; !stop; ++n) {
        ++attempts;
        auto body = nlohmann::json{{"kind", n % 2 ? "echo" : "sleep"},
                                   {"params", {{"ms", 1}, {"client", c}, {"n", n}}}};
        auto r = http_call(server.port, "POST", "/v1/jobs", body.dump());
        if (r.status == 202) {
          std::lock_guard<std::mutex> guard{mtx};
          acked.push_back(r.json()["job_id"].get<std::string>());
        } else if (r.status == 0) {
          return; // the server is gone
        }
      }
    });
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::lock_guard<std::mutex> guard{mtx};
    if (acked.size() >= 300) break;
  }
  kill_server(server, SIGKILL);
  stop = true;
  for (auto& t : clients) t.join();

  auto restarted = start_server(dir.str());
  for (const auto& id : acked) {
    auto r = http_call(restarted.port, "GET", "/v1/jobs/" + id + "/wait?timeout_ms=30000");
    INFO(id);
    REQUIRE(r.status == 200);
    CHECK(r.json()["status"] == "succeeded");
  }
  kill_server(restarted, SIGTERM);

  // Every acknowledged id once, and no more jobs than submits that could
  // have reached the store (acknowledged ones plus those in flight).
  std::string cmd = std::string{std::getenv("HYPERCORE_BIN") ? std::getenv("HYPERCORE_BIN") : "./bin/hypercore"}
                    + " export --data-dir " + dir.str() + " 2>/dev/null";
  FILE* exported = popen(cmd.c_str(), "r");
  REQUIRE(exported != nullptr);
  std::multiset<std::string> ids;
  char buf[1 << 16];
  while (std::fgets(buf, sizeof buf, exported) != nullptr)
    ids.insert(nlohmann::json::parse(buf)["id"].get<std::string>());
  pclose(exported);
  for (const auto& id : acked) CHECK(ids.count(id) == 1);
  CHECK(ids.size() <= acked.size() + 8);
}

namespace {

struct command_result {
  int exit_code = -1;
  std::string out;
};

command_result run_command(const std::string& cmd) {
  command_result r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p) != nullptr) r.out += buf;
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

} // namespace

TEST_CASE("the command-line client talks to a running server and exits non-zero on errors",
          "[crash][cli]") {
  temp_dir dir;
  auto server = start_server(dir.str());
  const char* bin_env = std::getenv("HYPERCORE_BIN");
  std::string bin = bin_env != nullptr ? bin_env : "./bin/hypercore";
  auto url = " --url http://127.0.0.1:" + std::to_string(server.port);

  auto done = run_command(bin + " submit --kind echo --params '{\"n\":5}' --wait" + url);
  auto unknown = run_command(bin + " submit --kind nope" + url);
  auto malformed = run_command(bin + " job not-an-id" + url);
  auto session = run_command(bin + " session create --data '{\"a\":1}' --ttl 60" + url);
  auto session_id = nlohmann::json::parse(session.out, nullptr, false).value("session_id", "");
  auto extended = run_command(bin + " session extend " + session_id + " --ttl 120" + url);
  auto deleted = run_command(bin + " session delete " + session_id + url);
  auto gone = run_command(bin + " session get " + session_id + url);

  kill_server(server, SIGTERM);
  REQUIRE(done.exit_code == 0);
  auto job = nlohmann::json::parse(done.out, nullptr, false);
  REQUIRE(job.is_object());
  CHECK(job["status"] == "succeeded");
  CHECK(job["output"] == nlohmann::json{{"n", 5}});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.out.find("unknown_kind") != std::string::npos);
  CHECK(malformed.exit_code == 1);
  CHECK(malformed.out.find("malformed_id") != std::string::npos);
  CHECK(session.exit_code == 0);
  CHECK_FALSE(session_id.empty());
  CHECK(extended.exit_code == 0);
  CHECK(deleted.exit_code == 0);
  CHECK(gone.exit_code == 1);
  CHECK(gone.out.find("not_found") != std::string::npos);
}

TEST_CASE("invalid settings stop start-up with a message naming them", "[crash][cli][config]") {
  temp_dir dir;
  const char* bin_env = std::getenv("HYPERCORE_BIN");
  std::string bin = bin_env != nullptr ? bin_env : "./bin/hypercore";

  auto bad_flag = run_command(bin + " serve --partitions 0 --data-dir " + dir.str() + "/f");
  auto bad_env = run_command("HYPERCORE_LISTEN=nowhere " + bin + " serve --data-dir " + dir.str() + "/e");
  auto bad_env_number = run_command("HYPERCORE_PARTITIONS=many " + bin + " serve --data-dir " + dir.str() + "/n");

  CHECK(bad_flag.exit_code != 0);
  CHECK(bad_flag.out.find("partitions") != std::string::npos);
  CHECK(bad_env.exit_code != 0);
  CHECK(bad_env.out.find("listen") != std::string::npos);
  CHECK(bad_env_number.exit_code != 0);
  CHECK(bad_env_number.out.find("partitions") != std::string::npos);
}

TEST_CASE("a config file sets what flags and environment leave unset, and names a bad key",
          "[crash][cli][config]") {
  temp_dir dir;
  const char* bin_env = std::getenv("HYPERCORE_BIN");
  std::string bin = bin_env != nullptr ? bin_env : "./bin/hypercore";
  auto good = (dir.path() / "good.toml").string();
  auto json_bad = (dir.path() / "bad.json").string();
  auto toml_bad = (dir.path() / "bad.toml").string();
  std::ofstream{good} << "# partitions from the file, listen from the flag\npartitions = 2\nlisten = \"nowhere\"\n"
                          "max_body_bytes = 2048\n";
  std::ofstream{json_bad} << R"({"data-dir": "x", "no-such-key": 1})";
  std::ofstream{toml_bad} << "partitions = 0\n";

  // The file's listen is bad, but the flag wins; its partitions (2) are used
  // and must match the store on the second start.
  auto first = run_command("timeout -s TERM 2 " + bin + " serve --config " + good
                           + " --listen 127.0.0.1:0 --data-dir " + dir.str() + "/s");
  // max_body_bytes = 2048 from the file: a 4 KB body is refused with 413.
  auto limited = start_server_with(dir.str() + "/m", {"--config", good});
  auto big = http_call(limited.port, "POST", "/v1/jobs",
                       nlohmann::json{{"kind", "echo"}, {"params", {{"blob", std::string(4096, 'x')}}}}.dump());
  auto small = http_call(limited.port, "POST", "/v1/jobs", R"({"kind":"echo"})");
  kill_server(limited, SIGTERM);
  auto mismatch = run_command("timeout -s TERM 2 " + bin + " serve --partitions 3 --listen 127.0.0.1:0 --data-dir "
                              + dir.str() + "/s");
  auto unknown = run_command(bin + " serve --config " + json_bad);
  auto bad_value = run_command(bin + " serve --config " + toml_bad);

  CHECK(first.out.find("serving on") != std::string::npos);
  CHECK(big.status == 413);
  CHECK(small.status == 202);
  CHECK(mismatch.exit_code != 0);
  CHECK(mismatch.out.find("created with 2 partitions") != std::string::npos);
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.out.find("no-such-key") != std::string::npos);
  CHECK(bad_value.exit_code == 2);
  CHECK(bad_value.out.find("partitions") != std::string::npos);
}

TEST_CASE("a second process on the same data directory is refused, naming the holder",
          "[crash][storage][lock]") {
  temp_dir dir;
  auto server = start_server(dir.str());
  const char* bin_env = std::getenv("HYPERCORE_BIN");
  std::string bin = bin_env != nullptr ? bin_env : "./bin/hypercore";

  auto second = run_command("timeout -s KILL 10 " + bin + " serve --partitions 4 --listen 127.0.0.1:0 --data-dir "
                            + dir.str());
  auto still_serving = http_call(server.port, "GET", "/ready");
  kill_server(server, SIGKILL);
  // A SIGKILL releases the lock with the process: the next start succeeds.
  auto after_kill = start_server(dir.str());
  auto ready = http_call(after_kill.port, "GET", "/ready");
  kill_server(after_kill, SIGTERM);

  CHECK(second.exit_code == 1);
  CHECK(second.out.find("in use by another Hypercore process (pid " + std::to_string(server.pid))
        != std::string::npos);
  CHECK(still_serving.status == 200);
  CHECK(ready.status == 200);
}

TEST_CASE("SIGTERM ends the server within its deadline whatever idle clients and agents do",
          "[crash][shutdown]") {
  temp_dir dir;
  auto server = start_server_with(dir.str(), {"--partitions", "4", "--shutdown-timeout-ms", "1500"});
  // Idle keep-alive connections (httplib keeps each one's thread for its
  // keep-alive timeout) and an attempt that outlives the deadline.
  std::vector<std::thread> idle;
  for (int i = 0; i < 4; ++i)
    idle.emplace_back([&] {
      http_raw(server.port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 0, 6000);
    });
  auto long_job = http_call(server.port, "POST", "/v1/jobs", R"({"kind":"sleep","params":{"ms":60000}})");
  REQUIRE(long_job.status == 202);
  std::this_thread::sleep_for(std::chrono::milliseconds(300)); // let the clients connect

  auto t0 = std::chrono::steady_clock::now();
  kill(server.pid, SIGTERM);
  int status = 0;
  waitpid(server.pid, &status, 0);
  auto took = std::chrono::steady_clock::now() - t0;
  std::string log;
  char line[512];
  while (std::fgets(line, sizeof line, server.out) != nullptr) log += line;
  std::fclose(server.out);
  for (auto& t : idle) t.join();
  // The engine itself stopped cleanly (a sleep agent honours its stop
  // request): only HTTP connections may be left behind at the deadline.
  CHECK(log.find("agents still busy") == std::string::npos);

  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  INFO("exit took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(took < std::chrono::milliseconds(2500));
}

TEST_CASE("the bearer token can come from a file, kept out of the process table",
          "[crash][auth]") {
  temp_dir dir;
  auto token_file = (dir.path() / "token").string();
  std::ofstream{token_file} << "s3cret-token\n";
  auto server = start_server_with((dir.path() / "data").string(),
                                  {"--partitions", "4", "--auth-token-file", token_file});

  auto without = http_call(server.port, "GET", "/v1/agents");
  auto wrong = http_call(server.port, "GET", "/v1/agents", {}, {{"Authorization", "Bearer s3cret-tokeN"}});
  auto right = http_call(server.port, "GET", "/v1/agents", {}, {{"Authorization", "Bearer s3cret-token"}});
  std::ifstream cmdline{"/proc/" + std::to_string(server.pid) + "/cmdline"};
  std::string args{std::istreambuf_iterator<char>(cmdline), {}};
  kill_server(server, SIGTERM);

  CHECK(without.status == 401);
  CHECK(wrong.status == 401);
  CHECK(right.status == 200);
  CHECK(args.find("s3cret") == std::string::npos);
}
