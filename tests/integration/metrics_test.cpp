// SPDX-License-Identifier: Apache-2.0
// GET /metrics on a real server: the counters move by exactly what a known
// workload did, and the text parses as Prometheus' exposition format.
#include <map>
#include <thread>
#include <sstream>
#include <string>

#include "hypercore/core/clock.hpp"
#include "hypercore/http/gateway.hpp"
#include "hypercore/telemetry/job_metrics.hpp"
#include "http_client.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;
using nlohmann::json;

namespace {

// Series ("name{labels}") to value, from the text format; comment lines
// must be HELP or TYPE.
std::map<std::string, double> parse_series(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream lines{text};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      CHECK((line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0));
      continue;
    }
    auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

struct metrics_fixture : engine_fixture {
  std::unique_ptr<http::gateway> api;

  metrics_fixture() {
    http::gateway_options opts;
    opts.port = 0;
    api = std::make_unique<http::gateway>(*eng, opts);
    REQUIRE_FALSE(api->start());
  }

  std::map<std::string, double> scrape() {
    // Everything committed so far is counted before the scrape reads it.
    REQUIRE(api->job_metrics()->wait_seen(eng->feed_position(), std::chrono::seconds(30)));
    auto res = http_call(api->port(), "GET", "/metrics");
    REQUIRE(res.status == 200);
    return parse_series(res.body);
  }

  std::string submit_http(const json& body) {
    auto res = http_call(api->port(), "POST", "/v1/jobs", body.dump());
    REQUIRE(res.status == 202);
    return res.json()["job_id"].get<std::string>();
  }

  void wait_terminal(const std::string& id) {
    auto res = http_call(api->port(), "GET", "/v1/jobs/" + id + "/wait?timeout_ms=20000");
    REQUIRE(res.status == 200);
  }
};

double delta(std::map<std::string, double>& before, std::map<std::string, double>& after,
             const std::string& series) {
  INFO(series);
  REQUIRE(after.count(series) == 1);
  return after[series] - before[series];
}

} // namespace

TEST_CASE_METHOD(metrics_fixture, "the job counters move by exactly what a workload did",
                 "[integration][http][metrics]") {
  auto before = scrape();

  std::vector<std::string> done;
  for (int i = 0; i < 3; ++i) done.push_back(submit_http({{"kind", "echo"}, {"params", json::object()}}));
  done.push_back(submit_http({{"kind", "flaky"}, {"params", {{"fail_times", 2}}}}));
  done.push_back(submit_http({{"kind", "flaky"}, {"params", {{"permanent", true}}}}));
  auto delayed = submit_http({{"kind", "sleep"}, {"params", {{"ms", 1}}}, {"delay_ms", 3600000}});
  CHECK(scrape()[R"(hypercore_jobs_pending{kind="sleep"})"] == 1);
  auto cancelled = http_call(api->port(), "POST", "/v1/jobs/" + delayed + "/cancel");
  REQUIRE(cancelled.status == 200);
  for (const auto& id : done) wait_terminal(id);
  wait_terminal(delayed);

  auto after = scrape();

  auto d = [&](const std::string& series) { return delta(before, after, series); };
  CHECK(d(R"(hypercore_jobs_submitted_total{kind="echo"})") == 3);
  CHECK(d(R"(hypercore_jobs_submitted_total{kind="flaky"})") == 2);
  CHECK(d(R"(hypercore_jobs_submitted_total{kind="sleep"})") == 1);
  CHECK(d(R"(hypercore_jobs_succeeded_total{kind="echo"})") == 3);
  CHECK(d(R"(hypercore_jobs_succeeded_total{kind="flaky"})") == 1);
  // Two retryable failures, retried; one permanent failure, dead.
  CHECK(d(R"(hypercore_jobs_failed_attempts_total{kind="flaky",retryable="true"})") == 2);
  CHECK(d(R"(hypercore_jobs_failed_attempts_total{kind="flaky",retryable="false"})") == 1);
  CHECK(d(R"(hypercore_jobs_retried_total{kind="flaky"})") == 2);
  CHECK(d(R"(hypercore_jobs_dead_total{kind="flaky"})") == 1);
  CHECK(d(R"(hypercore_jobs_dead_total{kind="echo"})") == 0);
  CHECK(d(R"(hypercore_jobs_cancelled_total{kind="sleep"})") == 1);
  CHECK(d("hypercore_dead_letters_stored") == 1);
  CHECK(d(R"(hypercore_dead_letters{kind="flaky"})") == 1);
  CHECK(after[R"(hypercore_jobs_pending{kind="sleep"})"] == 0);
  CHECK(after[R"(hypercore_jobs_pending{kind="echo"})"] == 0);
  CHECK(d(R"(hypercore_jobs_failed_attempts_total{kind="echo",retryable="true"})") == 0);
  // One wait and one run per attempt: 3 echo, 3 + 1 flaky, none of the
  // cancelled job.
  CHECK(d(R"(hypercore_job_wait_seconds_count{kind="echo"})") == 3);
  CHECK(d(R"(hypercore_job_run_seconds_count{kind="echo"})") == 3);
  CHECK(d(R"(hypercore_job_wait_seconds_count{kind="flaky"})") == 4);
  CHECK(d(R"(hypercore_job_run_seconds_count{kind="flaky"})") == 4);
  CHECK(d(R"(hypercore_job_run_seconds_count{kind="sleep"})") == 0);
  CHECK(d(R"(hypercore_http_requests_total{code="202",route="POST /v1/jobs"})") == 6);
  CHECK(d(R"(hypercore_http_requests_total{code="200",route="POST /v1/jobs/{}/cancel"})") == 1);
  CHECK(after[R"(hypercore_metrics_lost_transitions_total)"] == 0);
  CHECK(d("hypercore_metrics_cpu_seconds_total") > 0);
  CHECK(after["hypercore_metrics_cpu_seconds_total"] < after["process_cpu_seconds_total"]);
  // Every commit is in the journal's histograms, with its commands.
  auto commits = d("hypercore_journal_commits_total");
  CHECK(commits >= 1);
  // (The meter is read a moment after the journal's counters: a background
  // commit in between, the janitor's, may add one.)
  auto metered = d("hypercore_journal_commit_seconds_count");
  CHECK(metered >= commits);
  CHECK(metered <= commits + 1);
  CHECK(d(R"(hypercore_journal_commit_seconds_bucket{le="+Inf"})") == metered);
  CHECK(d("hypercore_journal_batch_records_count") == metered);
  CHECK(d("hypercore_journal_batch_records_sum") >= d("hypercore_journal_records_total"));
}

TEST_CASE_METHOD(metrics_fixture, "/metrics labels stay bounded and the gauges read the engine",
                 "[integration][http][metrics]") {
  http_call(api->port(), "GET", "/v1/jobs/" + job_id::generate().to_string());
  http_call(api->port(), "GET", "/no/such/path/zqxmarker");

  auto text = http_call(api->port(), "GET", "/metrics").body;
  auto series = parse_series(text);

  // A path's id never becomes a label: the route's template does.
  CHECK(text.find("zqxmarker") == std::string::npos);
  CHECK(series.count(R"(hypercore_http_requests_total{code="404",route="GET /v1/jobs/{}"})") == 1);
  CHECK(series.count(R"(hypercore_http_requests_total{code="404",route="unmatched"})") == 1);
  // Every registered kind has its series, and no other kind does.
  for (const auto& a : eng->agents())
    CHECK(series.count("hypercore_agent_workers{kind=\"" + a.kind + "\"}") == 1);
  CHECK(series[R"(hypercore_agent_workers{kind="echo"})"] == 4);
  CHECK(series.count(R"(hypercore_jobs_submitted_total{kind="unregistered"})") == 1);
  CHECK(series["process_resident_memory_bytes"] > 1e6);
  CHECK(series["process_open_fds"] > 3);
  CHECK(series["process_start_time_seconds"] > 1.7e9);
  CHECK(series.count("hypercore_journal_commits_total") == 1);
  CHECK(series[R"(hypercore_kind_paused{kind="echo"})"] == 0);
}

TEST_CASE_METHOD(metrics_fixture, "sessions and a paused kind show in the gauges",
                 "[integration][http][metrics]") {
  REQUIRE(eng->create_session({{"user", "ada"}}, std::chrono::seconds(60)));
  CHECK(scrape()["hypercore_sessions_live"] == 1);

  // More crashes than the restart intensity allows (10 in 5 s) pause the
  // kind's restarts for a second: the gauge reads 1 meanwhile.
  for (int i = 0; i < 12; ++i)
    submit_http({{"kind", "crash"}, {"params", {{"crash", true}}}, {"max_attempts", 1}});
  bool seen_paused = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!seen_paused && std::chrono::steady_clock::now() < deadline) {
    auto series = parse_series(http_call(api->port(), "GET", "/metrics").body);
    seen_paused = series[R"(hypercore_kind_paused{kind="crash"})"] == 1;
    CHECK(series[R"(hypercore_kind_paused{kind="echo"})"] == 0);
  }
  CHECK(seen_paused);
}

TEST_CASE("/metrics is 404 when metrics are off", "[integration][http][metrics]") {
  engine_fixture f;
  http::gateway_options opts;
  opts.port = 0;
  opts.metrics = false;
  http::gateway api{*f.eng, opts};
  REQUIRE_FALSE(api.start());

  CHECK(http_call(api.port(), "GET", "/metrics").status == 404);
  CHECK(api.job_metrics() == nullptr);
}

TEST_CASE("the queue depths start from what the store holds, then follow the feed",
          "[integration][http][metrics]") {
  engine_fixture f;
  std::vector<job_id> delayed;
  for (int i = 0; i < 3; ++i) {
    auto s = spec("sleep", {{"ms", 1}});
    s.delay_ms = 3'600'000;
    delayed.push_back(f.submit(s));
  }
  auto dead = spec("flaky", {{"permanent", true}});
  dead.max_attempts = 1;
  f.wait_terminal(f.submit(dead));
  // A new process on the same store: nothing of the above is in the feed.
  f.eng->shutdown();
  f.start();
  http::gateway_options opts;
  opts.port = 0;
  http::gateway api{*f.eng, opts};
  REQUIRE_FALSE(api.start());

  auto scrape = [&] {
    REQUIRE(api.job_metrics()->wait_seen(f.eng->feed_position(), std::chrono::seconds(30)));
    return parse_series(http_call(api.port(), "GET", "/metrics").body);
  };
  auto seeded = scrape();
  REQUIRE(f.eng->cancel(delayed[0]));
  auto after_cancel = scrape();

  CHECK(seeded[R"(hypercore_jobs_pending{kind="sleep"})"] == 3);
  CHECK(seeded[R"(hypercore_dead_letters{kind="flaky"})"] == 1);
  double by_partition = 0;
  for (std::uint16_t p = 0; p < f.eng->config().partitions; ++p)
    by_partition += seeded["hypercore_jobs_pending{partition=\"" + std::to_string(p) + "\"}"];
  CHECK(by_partition == 3);
  CHECK(after_cancel[R"(hypercore_jobs_pending{kind="sleep"})"] == 2);
  // The counters count from this process' start.
  CHECK(seeded[R"(hypercore_jobs_submitted_total{kind="sleep"})"] == 0);
}

TEST_CASE("the oldest pending age is how long a kind's oldest ready job has waited",
          "[integration][http][metrics]") {
  auto clock = std::make_shared<manual_clock>();
  engine_fixture f{4, [clock](engine_config& cfg) { cfg.clock = manual_clock::reader(clock); }};
  http::gateway_options opts;
  opts.port = 0;
  http::gateway api{*f.eng, opts};
  REQUIRE_FALSE(api.start());
  // Four workers sleep; the pool takes a few more; the rest wait ready in
  // their partitions' windows, made at the clock's "now".
  for (int i = 0; i < 24; ++i) f.submit(spec("sleep", {{"ms", 4000}}));
  // The partitions hear of the jobs from the feed: wait until every one is
  // in a window and four run (a state, read from the engine).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    auto s = f.eng->stats();
    if (s.resident == 24 && s.executing == 4) break;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto before = parse_series(http_call(api.port(), "GET", "/metrics").body);
  clock->advance(std::chrono::seconds(90));

  auto after = parse_series(http_call(api.port(), "GET", "/metrics").body);

  CHECK(before[R"(hypercore_oldest_pending_age_seconds{kind="sleep"})"] == 0);
  CHECK(after[R"(hypercore_oldest_pending_age_seconds{kind="sleep"})"] == Approx(90).margin(0.001));
  CHECK(after[R"(hypercore_oldest_pending_age_seconds{kind="echo"})"] == 0);
}

TEST_CASE("a metrics listener of its own serves /metrics and nothing of the API",
          "[integration][http][metrics]") {
  engine_fixture f;
  http::gateway_options opts;
  opts.port = 0;
  opts.metrics_port = 0;
  http::gateway api{*f.eng, opts};
  REQUIRE_FALSE(api.start());
  REQUIRE(api.metrics_port() > 0);
  REQUIRE(api.metrics_port() != api.port());
  REQUIRE(http_call(api.port(), "POST", "/v1/jobs", R"({"kind":"echo","params":{}})").status == 202);
  REQUIRE(api.job_metrics()->wait_seen(f.eng->feed_position(), std::chrono::seconds(30)));

  auto scraped = http_call(api.metrics_port(), "GET", "/metrics");
  auto api_path = http_call(api.metrics_port(), "POST", "/v1/jobs", R"({"kind":"echo","params":{}})");

  REQUIRE(scraped.status == 200);
  CHECK(parse_series(scraped.body)[R"(hypercore_jobs_submitted_total{kind="echo"})"] == 1);
  CHECK(api_path.status == 404);
  CHECK(http_call(api.metrics_port(), "GET", "/health").status == 200);
  api.stop();
  CHECK(http_call(api.metrics_port(), "GET", "/metrics").status != 200);
}

TEST_CASE_METHOD(metrics_fixture, "the metrics follow the feed again after the feed is replaced",
                 "[integration][http][metrics]") {
  wait_terminal(submit_http({{"kind", "echo"}, {"params", json::object()}}));
  auto before = scrape();

  REQUIRE_FALSE(eng->kill_core_actor("feed"));
  // The supervisor replaces the feed; submits go on meanwhile.
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(submit_http({{"kind", "echo"}, {"params", json::object()}}));
  for (const auto& id : ids) wait_terminal(id);
  // The first scrape after the end subscribes again, from where the
  // counting stopped; the event log supplies what was missed.
  http_call(api->port(), "GET", "/metrics");
  auto after = scrape();

  CHECK(delta(before, after, R"(hypercore_jobs_submitted_total{kind="echo"})") == 3);
  CHECK(delta(before, after, R"(hypercore_jobs_succeeded_total{kind="echo"})") == 3);
  CHECK(after["hypercore_metrics_lost_transitions_total"] == 0);
  CHECK(after[R"(hypercore_jobs_pending{kind="echo"})"] == 0);
}
