// SPDX-License-Identifier: Apache-2.0
// The shipped monitoring files against the real tools: promtool checks the
// config and the alerting rules (and their unit tests), and a real
// Prometheus server scrapes a running `hypercore serve` with
// deploy/prometheus.yml. The series and values of a known workload must
// arrive, every expression of deploy/grafana-dashboard.json must evaluate,
// and every alerting rule must evaluate healthy.
//
// Exits 77 (skipped in ctest) with a message where prometheus or promtool
// is not installed; scripts/install-deps.sh installs them.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "server_process.hpp"
#include "test_support.hpp"

using namespace hypercore::test;
using nlohmann::json;

namespace {

std::string deploy_dir() {
  const char* dir = std::getenv("HYPERCORE_DEPLOY_DIR");
  return dir != nullptr ? dir : "../deploy";
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  REQUIRE(in);
  return {std::istreambuf_iterator<char>{in}, {}};
}

// What a child wrote so far ("" before it wrote anything).
std::string log_of(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A Prometheus server on a free port, with deploy/prometheus.yml pointed at
// `target_port` and scraping every second; SIGTERM'd at the end.
struct prometheus_server {
  temp_dir dir;
  pid_t pid = -1;
  int port = free_port();

  explicit prometheus_server(int target_port) {
    auto config = read_file(deploy_dir() + "/prometheus.yml");
    replace_all(config, "127.0.0.1:8080", "127.0.0.1:" + std::to_string(target_port));
    replace_all(config, "scrape_interval: 15s", "scrape_interval: 1s");
    replace_all(config, "evaluation_interval: 15s", "evaluation_interval: 1s");
    std::ofstream{dir.path() / "prometheus.yml"} << config;
    std::ofstream{dir.path() / "alerts.yml"} << read_file(deploy_dir() + "/alerts.yml");
    auto log = (dir.path() / "prometheus.log").string();
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      auto cfg = "--config.file=" + (dir.path() / "prometheus.yml").string();
      auto tsdb = "--storage.tsdb.path=" + (dir.path() / "tsdb").string();
      auto listen = "--web.listen-address=127.0.0.1:" + std::to_string(port);
      ::execlp("prometheus", "prometheus", cfg.c_str(), tsdb.c_str(), listen.c_str(),
               "--log.level=warn", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (http_call(port, "GET", "/-/ready").status != 200) {
      if (std::chrono::steady_clock::now() > deadline) {
        stop();
        FAIL("prometheus did not become ready:\n" << log_of(log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~prometheus_server() { stop(); }
  void stop() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
  }

  json api(const std::string& path) {
    auto res = http_call(port, "GET", path);
    INFO(path << " -> " << res.status << " " << res.body);
    REQUIRE(res.status == 200);
    return json::parse(res.body);
  }
  json query(const std::string& expr) { return api("/api/v1/query?query=" + url_encode(expr)); }
  // The single sample of an instant query, or nullopt while it has none.
  std::optional<double> value(const std::string& expr) {
    auto r = query(expr)["data"]["result"];
    if (r.size() != 1) return std::nullopt;
    return std::stod(r[0]["value"][1].get<std::string>());
  }
  // Waits (Prometheus scrapes once a second) until `expr` reads `expected`.
  void expect(const std::string& expr, double expected) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::optional<double> seen;
    while ((seen = value(expr)) != expected && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    INFO(expr << " read " << (seen ? std::to_string(*seen) : std::string{"nothing"}));
    CHECK(seen == expected);
  }
};

int run(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

TEST_CASE("promtool accepts the shipped config and rules, and the rules pass their tests",
          "[monitoring]") {
  auto d = deploy_dir();
  CHECK(run("promtool check config " + d + "/prometheus.yml") == 0);
  CHECK(run("promtool check rules " + d + "/alerts.yml") == 0);
  CHECK(run("cd " + d + " && promtool test rules alerts_test.yml") == 0);
}

TEST_CASE("a real Prometheus scrapes hypercore serve; the dashboard and the rules evaluate",
          "[monitoring]") {
  temp_dir data;
  // Killed however the test ends, so ctest never waits on a child.
  struct server_guard {
    server_process s;
    ~server_guard() {
      if (s.pid > 0) kill_server(s, SIGKILL);
    }
  };
  // Scraped on a listener of its own (--metrics-listen), as a deployment
  // with the API on another interface would be.
  auto metrics_port = free_port();
  server_guard guard{start_server_with(
    data.str(), {"--partitions", "4", "--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port)})};
  auto& server = guard.s;
  prometheus_server prom{metrics_port};
  auto submit = [&](const json& body) {
    auto res = http_call(server.port, "POST", "/v1/jobs", body.dump());
    REQUIRE(res.status == 202);
    auto id = res.json()["job_id"].get<std::string>();
    REQUIRE(http_call(server.port, "GET", "/v1/jobs/" + id + "/wait?timeout_ms=20000").status == 200);
  };
  for (int i = 0; i < 5; ++i) submit({{"kind", "echo"}, {"params", json::object()}});
  submit({{"kind", "flaky"}, {"params", {{"permanent", true}}}, {"max_attempts", 1}});

  prom.expect(R"(up{job="hypercore"})", 1);
  prom.expect(R"(hypercore_jobs_succeeded_total{job="hypercore",kind="echo"})", 5);
  prom.expect(R"(hypercore_jobs_submitted_total{job="hypercore",kind="echo"})", 5);
  prom.expect(R"(hypercore_jobs_failed_attempts_total{kind="flaky",retryable="false"})", 1);
  prom.expect(R"(hypercore_dead_letters{kind="flaky"})", 1);
  prom.expect(R"(hypercore_job_run_seconds_count{kind="echo"})", 5);
  prom.expect(R"(hypercore_http_requests_total{route="POST /v1/jobs",code="202"})", 6);
  prom.expect(R"(hypercore_agent_workers{kind="echo"} > 0)", 4);

  // Every expression of the dashboard evaluates without error.
  auto dashboard = json::parse(read_file(deploy_dir() + "/grafana-dashboard.json"));
  std::size_t expressions = 0;
  for (const auto& panel : dashboard["panels"]) {
    if (!panel.contains("targets")) continue;
    for (const auto& target : panel["targets"]) {
      auto expr = target["expr"].get<std::string>();
      INFO(panel["title"].get<std::string>() << ": " << expr);
      auto r = prom.query(expr);
      CHECK(r["status"] == "success");
      CHECK_FALSE(r.contains("warnings"));
      ++expressions;
    }
  }
  CHECK(expressions >= 20);

  // Every alerting rule has been evaluated, and healthy.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  json rules;
  bool all_evaluated = false;
  while (!all_evaluated && std::chrono::steady_clock::now() < deadline) {
    rules = prom.api("/api/v1/rules")["data"]["groups"];
    all_evaluated = !rules.empty();
    for (const auto& group : rules)
      for (const auto& rule : group["rules"])
        all_evaluated = all_evaluated && rule["lastEvaluation"].get<std::string>().rfind("0001", 0) != 0;
    if (!all_evaluated) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  REQUIRE(all_evaluated);
  std::size_t alerting = 0;
  for (const auto& group : rules)
    for (const auto& rule : group["rules"]) {
      INFO(rule.dump());
      CHECK(rule["health"] == "ok");
      ++alerting;
    }
  CHECK(alerting == 7);
}

int main(int argc, char** argv) {
  if (run("command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1") != 0) {
    std::cout << "monitoring tests skipped: prometheus and promtool are not installed "
                 "(scripts/install-deps.sh installs Debian's prometheus package)\n";
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
