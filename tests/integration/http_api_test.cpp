// SPDX-License-Identifier: Apache-2.0
// The HTTP API over a real server on an ephemeral 127.0.0.1 port.
#include <functional>
#include <thread>

#include "hypercore/core/clock.hpp"
#include "hypercore/http/gateway.hpp"
#include "http_client.hpp"
#include "sse_events.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;
using nlohmann::json;

namespace {

struct server_fixture : engine_fixture {
  std::unique_ptr<http::gateway> api;
  int port = 0;

  explicit server_fixture(std::string token = {}, std::function<void(engine_config&)> tweak = {})
    : engine_fixture(4, std::move(tweak)) {
    http::gateway_options opts;
    opts.port = 0;
    opts.auth_token = std::move(token);
    opts.max_body_bytes = 64 * 1024;
    api = std::make_unique<http::gateway>(*eng, opts);
    REQUIRE_FALSE(api->start());
    port = api->port();
  }

  http_reply post(const std::string& path, const json& body,
                  const std::map<std::string, std::string>& headers = {}) {
    return http_call(port, "POST", path, body.dump(), headers);
  }
  http_reply get(const std::string& path) { return http_call(port, "GET", path); }
};

// A server whose engine reads a manual clock: tests of TTLs move time.
struct manual_time {
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
};
struct manual_time_server_fixture : manual_time, server_fixture {
  manual_time_server_fixture()
    : server_fixture({}, [c = clock](engine_config& cfg) { cfg.clock = manual_clock::reader(c); }) {}
};

} // namespace

TEST_CASE_METHOD(server_fixture, "a job submitted over HTTP is acknowledged, runs and can be read back",
                 "[integration][http]") {
  auto submitted = post("/v1/jobs", {{"kind", "echo"}, {"params", {{"hello", "world"}}}});
  REQUIRE(submitted.status == 202);
  auto id = submitted.json()["job_id"].get<std::string>();

  auto waited = get("/v1/jobs/" + id + "/wait?timeout_ms=10000");
  auto read = get("/v1/jobs/" + id);

  REQUIRE(waited.status == 200);
  CHECK(waited.json()["status"] == "succeeded");
  CHECK(waited.json()["output"] == json{{"hello", "world"}});
  CHECK(read.json()["trace_id"] == id);
}

TEST_CASE_METHOD(server_fixture, "bad requests get a JSON error with a stable code and change nothing",
                 "[integration][http][validation]") {
  auto before = eng->stats().records;

  CHECK(http_call(port, "POST", "/v1/jobs", "{\"kind\": ").error_code() == "invalid_json");
  CHECK(post("/v1/jobs", json::array()).error_code() == "invalid_request");
  CHECK(post("/v1/jobs", {{"kind", 7}}).error_code() == "invalid_request");
  CHECK(post("/v1/jobs", {{"kind", "echo"}, {"surprise", 1}}).error_code() == "invalid_request");
  CHECK(post("/v1/jobs", {{"kind", "nope"}}).error_code() == "unknown_kind");
  auto invalid = post("/v1/jobs", {{"kind", "sleep"}, {"params", {{"ms", "x"}}}});
  CHECK(invalid.error_code() == "invalid_params");
  REQUIRE(invalid.json()["error"]["details"]["violations"].is_array());
  CHECK_FALSE(invalid.json()["error"]["details"]["violations"].empty());
  CHECK(invalid.json()["error"]["details"]["violations"][0]["path"].get<std::string>().find("ms")
        != std::string::npos);
  auto huge = post("/v1/jobs", {{"kind", "echo"}, {"params", {{"blob", std::string(100'000, 'x')}}}});
  CHECK(huge.status == 413);
  CHECK(huge.error_code() == "payload_too_large");
  auto deep = http_call(port, "POST", "/v1/jobs",
                        "{\"kind\":\"echo\",\"params\":" + std::string(100, '[') + std::string(100, ']') + "}");
  CHECK(deep.status == 413);
  CHECK(get("/v1/jobs/not-an-id").error_code() == "malformed_id");
  CHECK(get("/v1/jobs/01a22102-0dbc-7000-8bb6-1b7181d01026").status == 404);
  CHECK(get("/v1/jobs/01a22102-0dbc-7000-8bb6-1b7181d01026/wait?timeout_ms=abc").error_code()
        == "invalid_request");
  CHECK(get("/v1/no-such-endpoint").status == 404);

  CHECK(eng->stats().records == before);
}

TEST_CASE_METHOD(server_fixture, "a batch is all or nothing and names each bad entry",
                 "[integration][http][batch]") {
  json bad{{"jobs", json::array({{{"kind", "echo"}}, {{"kind", 1}}, {{"kind", "echo"}}})}};
  json good{{"jobs", json::array({{{"kind", "echo"}}, {{"kind", "echo"}, {"params", {{"n", 2}}}}})}};
  auto before = eng->stats().records;

  auto refused = post("/v1/jobs/batch", bad);
  auto after_refused = eng->stats().records;
  auto accepted = post("/v1/jobs/batch", good);

  CHECK(refused.status == 400);
  REQUIRE(refused.json()["error"]["details"].size() == 1);
  CHECK(refused.json()["error"]["details"][0]["index"] == 1);
  REQUIRE(accepted.status == 202);
  CHECK(accepted.json()["job_ids"].size() == 2);
  CHECK(after_refused == before);
}

TEST_CASE_METHOD(server_fixture, "an Idempotency-Key returns the first job, and 409 for another body",
                 "[integration][http][idempotency]") {
  json body{{"kind", "echo"}, {"params", {{"n", 1}}}};
  std::map<std::string, std::string> key{{"Idempotency-Key", "order-7"}};

  auto first = post("/v1/jobs", body, key);
  auto again = post("/v1/jobs", body, key);
  auto other = post("/v1/jobs", {{"kind", "echo"}, {"params", {{"n", 2}}}}, key);

  REQUIRE(first.status == 202);
  CHECK(again.status == 200);
  CHECK(again.json()["job_id"] == first.json()["job_id"]);
  CHECK(other.status == 409);
  CHECK(other.error_code() == "conflict");
}

TEST_CASE_METHOD(server_fixture, "concurrent duplicate submits make exactly one job",
                 "[integration][http][idempotency]") {
  std::vector<std::string> ids(8);
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < ids.size(); ++i)
    clients.emplace_back([&, i] {
      auto r = post("/v1/jobs", {{"kind", "echo"}}, {{"Idempotency-Key", "same"}});
      if (r.status == 200 || r.status == 202) ids[i] = r.json()["job_id"].get<std::string>();
    });
  for (auto& c : clients) c.join();

  for (const auto& id : ids) CHECK(id == ids.front());
  CHECK_FALSE(ids.front().empty());
}

TEST_CASE_METHOD(server_fixture, "wait times out with 408 and the current state",
                 "[integration][http]") {
  auto id = post("/v1/jobs", {{"kind", "echo"}, {"delay_ms", 60000}}).json()["job_id"].get<std::string>();

  auto waited = get("/v1/jobs/" + id + "/wait?timeout_ms=50");
  auto cancelled = post("/v1/jobs/" + id + "/cancel", json::object());
  auto again = post("/v1/jobs/" + id + "/cancel", json::object());

  CHECK(waited.status == 408);
  CHECK(waited.json()["error"]["details"]["status"] == "pending");
  CHECK(cancelled.status == 200);
  CHECK(cancelled.json()["status"] == "cancelled");
  CHECK(again.status == 409);
}

TEST_CASE_METHOD(server_fixture, "dead letters are listed and replayed over HTTP",
                 "[integration][http][dead]") {
  auto id = post("/v1/jobs", {{"kind", "flaky"}, {"params", {{"permanent", true}}}})
              .json()["job_id"].get<std::string>();
  REQUIRE(get("/v1/jobs/" + id + "/wait?timeout_ms=10000").json()["status"] == "dead");

  auto listed = get("/v1/dead?kind=flaky&limit=10");
  auto replayed = post("/v1/dead/replay", {{"ids", json::array({id})}});
  auto bad_limit = get("/v1/dead?limit=0");

  REQUIRE(listed.status == 200);
  CHECK(listed.json()["jobs"].size() == 1);
  CHECK(replayed.json()["replayed"] == 1);
  CHECK(bad_limit.error_code() == "invalid_request");
}

TEST_CASE_METHOD(server_fixture, "agents, health and readiness are reported", "[integration][http]") {
  auto agents = get("/v1/agents").json()["agents"];

  CHECK(get("/health").status == 200);
  CHECK(get("/ready").status == 200);
  REQUIRE(agents.is_array());
  bool has_sleep_schema = false;
  for (const auto& a : agents)
    if (a["kind"] == "sleep") has_sleep_schema = a["params_schema"].is_object();
  CHECK(has_sleep_schema);
}

TEST_CASE("with an auth token every /v1 request needs it", "[integration][http][auth]") {
  server_fixture f{"s3cret"};

  auto without = f.post("/v1/jobs", {{"kind", "echo"}});
  auto wrong = f.post("/v1/jobs", {{"kind", "echo"}}, {{"Authorization", "Bearer nope"}});
  auto right = f.post("/v1/jobs", {{"kind", "echo"}}, {{"Authorization", "Bearer s3cret"}});

  CHECK(without.status == 401);
  CHECK(without.error_code() == "unauthorized");
  CHECK(wrong.status == 401);
  CHECK(right.status == 202);
  CHECK(f.get("/health").status == 200);
}


// The statuses a flaky job that fails twice goes through, by revision.
const std::vector<std::string> twice_flaky = {"pending", "running",  "retrying", "running",
                                              "retrying", "running", "succeeded"};

std::size_t count_events(const std::string& body, const std::string& type) {
  std::size_t n = 0;
  auto needle = "event: " + type + "\n";
  for (auto at = body.find(needle); at != std::string::npos; at = body.find(needle, at + 1)) ++n;
  return n;
}

// Reads a stream until `n` events of `type` arrived whole.
std::function<bool(const std::string&)> until_events(std::string type, std::size_t n) {
  return [type = std::move(type), n](const std::string& body) {
    return count_events(body, type) >= n && body.size() >= 2
           && body.compare(body.size() - 2, 2, "\n\n") == 0;
  };
}

TEST_CASE_METHOD(server_fixture, "a job's event stream pushes every transition, never merged, "
                                 "and resumes by Last-Event-ID",
                 "[integration][http][sse]") {
  // Delayed, so the stream is open before the first attempt starts.
  auto id = post("/v1/jobs", {{"kind", "flaky"}, {"params", {{"fail_times", 2}}}, {"delay_ms", 1000}})
              .json()["job_id"].get<std::string>();

  auto stream = http_stream(port, "/v1/jobs/" + id + "/events");
  auto events = parse_events(stream.body);

  REQUIRE(stream.status == 200);
  REQUIRE_FALSE(events.empty());
  // The first event is the stored job (a snapshot); then one per transition,
  // each revision exactly once, in order.
  CHECK(events.front().data["id"] == id);
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) CHECK(events[i].id == events[i - 1].id + 1);
    REQUIRE(events[i].id >= 1);
    REQUIRE(events[i].id <= twice_flaky.size());
    CHECK(events[i].type == twice_flaky[events[i].id - 1]);
  }
  CHECK(events.front().id == 1); // opened while pending: nothing merged away
  CHECK(events.back().id == twice_flaky.size());
  for (std::size_t i = 1; i < events.size(); ++i) {
    CHECK(events[i].data["job_id"] == id);
    CHECK(events[i].data["revision"] == events[i].id);
    if (events[i].type == "retrying") CHECK(events[i].data["error"].get<std::string>().find("flaky") == 0);
  }
  // The terminal event carries the whole job.
  CHECK(events.back().data["job"]["errors"].size() == 2);
  CHECK(events.back().data["job"]["output"].is_object());

  SECTION("resuming after the last event sends nothing more") {
    auto again = http_stream(port, "/v1/jobs/" + id + "/events",
                             {{"Last-Event-ID", std::to_string(events.back().id)}});
    CHECK(again.status == 200);
    CHECK(parse_events(again.body).empty());
  }
  SECTION("resuming from an earlier event sends the stored job as one snapshot") {
    auto again = http_stream(port, "/v1/jobs/" + id + "/events", {{"Last-Event-ID", "2"}});
    auto resumed = parse_events(again.body);
    REQUIRE(resumed.size() == 1);
    CHECK(resumed.front().type == "succeeded");
    CHECK(resumed.front().id == events.back().id);
    CHECK(resumed.front().data["errors"].size() == 2);
  }
}

TEST_CASE_METHOD(server_fixture, "the firehose streams every transition with filters and resumes "
                                 "from a position",
                 "[integration][http][sse][firehose]") {
  auto from = eng->feed_position();
  auto echo = post("/v1/jobs", {{"kind", "echo"}}).json()["job_id"].get<std::string>();
  auto flaky = post("/v1/jobs", {{"kind", "flaky"}, {"params", {{"fail_times", 1}}}})
                 .json()["job_id"].get<std::string>();
  REQUIRE(get("/v1/jobs/" + echo + "/wait?timeout_ms=10000").status == 200);
  REQUIRE(get("/v1/jobs/" + flaky + "/wait?timeout_ms=10000").status == 200);
  auto resume = std::map<std::string, std::string>{{"Last-Event-ID", std::to_string(from - 1)}};

  auto all = parse_events(http_stream_until(port, "/v1/events", until_events("succeeded", 2), resume).body);
  std::vector<std::string> flaky_types;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i > 0) CHECK(all[i].id > all[i - 1].id);
    CHECK(all[i].data["position"] == all[i].id);
    if (all[i].data["job_id"] == flaky) flaky_types.push_back(all[i].type);
  }
  REQUIRE_FALSE(all.empty());
  CHECK(all.front().id == from);
  CHECK(flaky_types == std::vector<std::string>{"created", "started", "retrying", "started", "succeeded"});

  SECTION("by kind") {
    auto only = parse_events(
      http_stream_until(port, "/v1/events?kind=flaky", until_events("succeeded", 1), resume).body);
    REQUIRE(only.size() == 5);
    for (const auto& e : only) CHECK(e.data["kind"] == "flaky");
  }
  SECTION("by status") {
    auto done = parse_events(
      http_stream_until(port, "/v1/events?status=succeeded,dead", until_events("succeeded", 2), resume).body);
    REQUIRE(done.size() == 2);
    for (const auto& e : done) CHECK(e.type == "succeeded");
  }
  SECTION("a bad filter is refused") {
    CHECK(get("/v1/events?status=bogus").error_code() == "invalid_request");
    CHECK(http_call(port, "GET", "/v1/events", {}, {{"Last-Event-ID", "x"}}).error_code() == "invalid_request");
  }
}

TEST_CASE("event streams resume with Last-Event-ID across a server restart",
          "[integration][http][sse][restart]") {
  engine_fixture f;
  auto serve = [&] {
    http::gateway_options opts;
    opts.port = 0;
    auto api = std::make_unique<http::gateway>(*f.eng, opts);
    REQUIRE_FALSE(api->start());
    return api;
  };
  auto api = serve();
  auto from = f.eng->feed_position();
  auto id = http_call(api->port(), "POST", "/v1/jobs",
                      json{{"kind", "flaky"}, {"params", {{"fail_times", 2}}}}.dump())
              .json()["job_id"].get<std::string>();
  REQUIRE(http_call(api->port(), "GET", "/v1/jobs/" + id + "/wait?timeout_ms=10000").status == 200);
  auto until_done = until_events("succeeded", 1);
  auto before = parse_events(http_stream_until(api->port(), "/v1/events", until_done,
                                               {{"Last-Event-ID", std::to_string(from - 1)}}).body);
  REQUIRE(before.size() == 7);

  api->stop();
  f.eng->shutdown();
  f.start();
  api = serve();

  // The firehose from the third event on, out of the event log.
  auto after = parse_events(http_stream_until(api->port(), "/v1/events", until_done,
                                              {{"Last-Event-ID", std::to_string(before[2].id)}}).body);
  REQUIRE(after.size() == 4);
  for (std::size_t i = 0; i < after.size(); ++i) {
    CHECK(after[i].id == before[i + 3].id);
    CHECK(after[i].type == before[i + 3].type);
  }
  // The job's own stream: one snapshot of what was missed.
  auto job = parse_events(http_stream(api->port(), "/v1/jobs/" + id + "/events",
                                      {{"Last-Event-ID", "3"}}).body);
  REQUIRE(job.size() == 1);
  CHECK(job.front().type == "succeeded");
  CHECK(job.front().id == 7);
}

TEST_CASE("past the pending high-water mark submits get 503 overloaded with Retry-After",
          "[integration][http][backpressure]") {
  engine_fixture f{4, [](engine_config& c) { c.max_pending_jobs = 5; }};
  http::gateway api{*f.eng, [] {
    http::gateway_options o;
    o.port = 0;
    return o;
  }()};
  REQUIRE_FALSE(api.start());
  json delayed{{"kind", "echo"}, {"delay_ms", 60000}};
  std::string first_id;
  for (int i = 0; i < 5; ++i) {
    auto accepted = http_call(api.port(), "POST", "/v1/jobs", delayed.dump());
    REQUIRE(accepted.status == 202);
    if (i == 0) first_id = accepted.json()["job_id"];
  }

  auto refused = http_call(api.port(), "POST", "/v1/jobs", delayed.dump());

  CHECK(refused.status == 503);
  CHECK(refused.error_code() == "overloaded");
  CHECK(refused.headers.count("Retry-After") == 1);

  // The count is the journal's, as of its last commit: a cancel frees a place.
  REQUIRE(http_call(api.port(), "POST", "/v1/jobs/" + first_id + "/cancel", "{}").status == 200);
  CHECK(http_call(api.port(), "POST", "/v1/jobs", delayed.dump()).status == 202);
}

TEST_CASE("a kind over its rate gets 429 with Retry-After and X-RateLimit headers",
          "[integration][http][rate]") {
  engine_fixture f;
  http::gateway_options o;
  o.port = 0;
  o.kind_rate = {0.5, 2}; // a burst of 2, then one token every 2 s
  http::gateway api{*f.eng, o};
  REQUIRE_FALSE(api.start());
  json body{{"kind", "echo"}};

  auto first = http_call(api.port(), "POST", "/v1/jobs", body.dump());
  auto second = http_call(api.port(), "POST", "/v1/jobs", body.dump());
  auto third = http_call(api.port(), "POST", "/v1/jobs", body.dump());
  auto other_kind = http_call(api.port(), "POST", "/v1/jobs", json{{"kind", "flaky"}}.dump());

  CHECK(first.status == 202);
  CHECK(second.status == 202);
  // Accepted submits carry the headers too (they are answered after the
  // journal's commit, on another thread than the check).
  CHECK(first.headers["X-RateLimit-Limit"] == "2");
  CHECK(first.headers["X-RateLimit-Remaining"] == "1");
  CHECK(second.headers["X-RateLimit-Remaining"] == "0");
  CHECK(third.status == 429);
  CHECK(third.error_code() == "rate_limited");
  CHECK(third.headers.count("Retry-After") == 1);
  CHECK(third.headers["X-RateLimit-Limit"] == "2");
  CHECK(other_kind.status == 202);
}

TEST_CASE_METHOD(manual_time_server_fixture, "sessions are created, read, extended, used by jobs, expire and are deleted",
                 "[integration][http][session]") {
  auto created = post("/v1/sessions", {{"data", {{"user", "ada"}}}, {"ttl_s", 60}});
  REQUIRE(created.status == 201);
  auto id = created.json()["session_id"].get<std::string>();
  auto expires = created.json()["expires_at_ms"].get<std::int64_t>();

  auto read = get("/v1/sessions/" + id);
  auto patched = http_call(port, "PATCH", "/v1/sessions/" + id,
                           json{{"data", {{"user", "grace"}}}, {"ttl_s", 120}}.dump());
  auto job = post("/v1/jobs", {{"kind", "echo"}}, {{"X-Session-Id", id}});
  auto unknown = post("/v1/jobs", {{"kind", "echo"}}, {{"X-Session-Id", "nope"}});
  auto bad_ttl = post("/v1/sessions", {{"ttl_s", 0}});

  CHECK(read.json()["data"]["user"] == "ada");
  REQUIRE(patched.status == 200);
  CHECK(patched.json()["data"]["user"] == "grace");
  CHECK(patched.json()["expires_at_ms"].get<std::int64_t>() > expires);
  REQUIRE(job.status == 202);
  CHECK(get("/v1/jobs/" + job.json()["job_id"].get<std::string>()).json()["session_id"] == id);
  CHECK(unknown.status == 401);
  CHECK(bad_ttl.error_code() == "invalid_request");

  SECTION("a deleted session is gone") {
    CHECK(http_call(port, "DELETE", "/v1/sessions/" + id).status == 204);
    CHECK(get("/v1/sessions/" + id).status == 404);
    CHECK(http_call(port, "DELETE", "/v1/sessions/" + id).status == 404);
  }
  SECTION("an expired session is gone for every read and is swept") {
    auto short_lived = post("/v1/sessions", {{"ttl_s", 1}}).json()["session_id"].get<std::string>();
    auto live = get("/v1/sessions/" + short_lived).status;
    clock->advance(std::chrono::milliseconds(1001));

    CHECK(live == 200);
    CHECK(get("/v1/sessions/" + short_lived).status == 404);
    CHECK(post("/v1/jobs", {{"kind", "echo"}}, {{"X-Session-Id", short_lived}}).status == 401);
    auto swept = eng->sweep_sessions();
    REQUIRE(swept);
    CHECK(*swept == 1);
  }
}
