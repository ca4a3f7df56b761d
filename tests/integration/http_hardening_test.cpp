// SPDX-License-Identifier: Apache-2.0
// What a careless or hostile client sends: bytes that are not UTF-8, bodies
// nested 100,000 deep, duplicate keys and lengths, chunked floods. Each gets
// a typed 4xx and changes nothing; the server stays up for the next request.
#include "hypercore/http/gateway.hpp"
#include "hypercore/exporter.hpp"
#include "hypercore/persistence/job_tables.hpp"
#include "http_client.hpp"
#include "test_support.hpp"

#include <sstream>

using namespace hypercore;
using namespace hypercore::test;
using nlohmann::json;

namespace {

struct hardened_server : engine_fixture {
  std::unique_ptr<http::gateway> api;
  int port = 0;

  hardened_server() {
    http::gateway_options opts;
    opts.port = 0;
    opts.max_body_bytes = 64 * 1024;
    api = std::make_unique<http::gateway>(*eng, opts);
    REQUIRE_FALSE(api->start());
    port = api->port();
  }

  std::uint64_t records() { return eng->stats().records; }
  bool alive() { return http_call(port, "GET", "/health").status == 200; }
};

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

} // namespace

TEST_CASE_METHOD(hardened_server, "a non-UTF-8 Idempotency-Key or session id is refused at the edge",
                 "[integration][http][utf8]") {
  auto before = records();

  auto key = http_call(port, "POST", "/v1/jobs", R"({"kind":"echo"})", {{"Idempotency-Key", "\xff"}});
  auto session = http_call(port, "POST", "/v1/jobs", R"({"kind":"echo"})", {{"X-Session-Id", "s\xfe"}});
  auto in_body = http_call(port, "POST", "/v1/jobs", "{\"kind\":\"echo\",\"partition_key\":\"\xff\"}");

  CHECK(key.status == 400);
  CHECK(key.error_code() == "invalid_utf8");
  CHECK(session.error_code() == "invalid_utf8");
  CHECK(in_body.status == 400);
  CHECK(records() == before);
  CHECK(alive());
}

TEST_CASE("a stored record holding bytes that are not UTF-8 reads, streams and exports",
          "[integration][http][utf8]") {
  // What an older build let in: the record is written straight to the store.
  temp_dir dir;
  job j;
  j.id = job_id::generate();
  j.kind = "echo";
  j.params = "{}";
  j.idempotency_key = "key-\xff";
  j.status = job_status::succeeded;
  j.revision = 3;
  j.errors.push_back({1, 5, "broken \xc3 message", true});
  {
    persistence::env_options opts;
    opts.dir = dir.str();
    opts.partitions = 4;
    auto env = persistence::lmdb_env::open(opts);
    REQUIRE(env);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin((*env)->raw(), nullptr, 0, &txn) == 0);
    persistence::job_tables t{**env, txn};
    t.put_job(j);
    t.put_result(j.id, "{}");
    REQUIRE(mdb_txn_commit(txn) == 0);
  }
  engine e{test_config(dir.str())};
  for (auto& f : agents::builtin_agents(1)) REQUIRE_FALSE(e.register_agent(f));
  REQUIRE_FALSE(e.start());
  http::gateway_options opts;
  opts.port = 0;
  http::gateway api{e, opts};
  REQUIRE_FALSE(api.start());
  auto path = "/v1/jobs/" + j.id.to_string();

  auto read = http_call(api.port(), "GET", path);
  auto waited = http_call(api.port(), "GET", path + "/wait?timeout_ms=100");
  auto events = http_stream(api.port(), path + "/events");
  api.stop();
  e.shutdown();
  std::ostringstream exported;
  auto written = export_jobs(dir.str(), exported);

  REQUIRE(read.status == 200);
  CHECK(read.json()["idempotency_key"] == "key-\xef\xbf\xbd");
  CHECK(read.json()["errors"][0]["message"] == "broken \xef\xbf\xbd message");
  CHECK(waited.status == 200);
  CHECK(events.status == 200);
  CHECK(events.body.find("event: succeeded") != std::string::npos);
  REQUIRE(written);
  CHECK(*written == 1);
  CHECK(json::parse(exported.str())["idempotency_key"] == "key-\xef\xbf\xbd");
}

TEST_CASE_METHOD(hardened_server, "error messages never cut a UTF-8 character and bad paths get 400",
                 "[integration][http][utf8]") {
  auto long_kind = std::string(126, 'k') + "\xc3\xa9";             // 128 bytes
  auto long_field = std::string(62, 'f') + "\xc3\xa9";             // 64 bytes
  auto longer_kind = std::string(127, 'k') + "\xc3\xa9";           // 129 bytes

  auto unknown_kind = http_call(port, "POST", "/v1/jobs", json{{"kind", long_kind}}.dump());
  auto too_long = http_call(port, "POST", "/v1/jobs", json{{"kind", longer_kind}}.dump());
  auto field = http_call(port, "POST", "/v1/jobs", json{{"kind", "echo"}, {long_field, 1}}.dump());
  auto path = http_raw(port, "GET /v1/jobs/%ff%fe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

  CHECK(unknown_kind.error_code() == "unknown_kind");
  CHECK(too_long.error_code() == "invalid_request");
  CHECK(field.status == 400);
  CHECK(field.error_code() == "invalid_request");
  CHECK(path.status == 400);
  CHECK(path.body.find("invalid_utf8") != std::string::npos);
  CHECK(alive());
}

TEST_CASE_METHOD(hardened_server, "bodies nested past the depth limit are refused on every route",
                 "[integration][http][bounds]") {
  auto deep = "{\"data\":" + nested(30'000) + "}";
  auto before = records();

  auto session = http_call(port, "POST", "/v1/sessions", deep);
  auto replay = http_call(port, "POST", "/v1/dead/replay", deep);
  auto job = http_call(port, "POST", "/v1/jobs", "{\"kind\":\"echo\",\"params\":" + nested(30'000) + "}");
  auto at_limit = http_call(port, "POST", "/v1/sessions", "{\"data\":" + nested(63) + "}");

  CHECK(session.status == 413);
  CHECK(session.error_code() == "payload_too_large");
  CHECK(replay.status == 413);
  CHECK(job.status == 413);
  CHECK(at_limit.status == 201);
  CHECK(records() == before + 1); // the session at the limit only
  CHECK(alive());
}

TEST_CASE_METHOD(hardened_server, "duplicate JSON keys are refused on every route",
                 "[integration][http][validation]") {
  auto before = records();

  auto job = http_call(port, "POST", "/v1/jobs", R"({"kind":"echo","kind":"sleep"})");
  auto batch = http_call(port, "POST", "/v1/jobs/batch",
                         R"({"jobs":[{"kind":"echo"}],"jobs":[{"kind":"sleep","params":{"ms":1}}]})");
  auto entry = http_call(port, "POST", "/v1/jobs/batch",
                         R"({"jobs":[{"kind":"echo","priority":1,"priority":2}]})");
  auto session = http_call(port, "POST", "/v1/sessions", R"({"ttl_s":60,"ttl_s":1})");

  CHECK(job.error_code() == "duplicate_key");
  CHECK(batch.error_code() == "duplicate_key");
  CHECK(entry.status == 400);
  CHECK(entry.body.find("duplicate_key") != std::string::npos);
  CHECK(session.error_code() == "duplicate_key");
  CHECK(records() == before);
}

TEST_CASE_METHOD(hardened_server, "two Content-Length headers, or one beside chunking, are refused",
                 "[integration][http][smuggling]") {
  auto before = records();
  std::string body = R"({"kind":"echo"})";

  auto twice = http_raw(port, "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Content-Length: " + std::to_string(body.size()) + "\r\nContent-Length: 2\r\n\r\n" + body);
  auto both = http_raw(port, "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             "Content-Length: " + std::to_string(body.size())
                             + "\r\nTransfer-Encoding: chunked\r\n\r\n" + body);

  CHECK(twice.status == 400);
  CHECK(both.status == 400);
  CHECK(records() == before);
  CHECK(alive());
}

TEST_CASE_METHOD(hardened_server, "a chunked body past the body limit is cut off with 413",
                 "[integration][http][bounds]") {
  auto rss_before = anon_rss_bytes();

  // 64 MiB in one chunk against a 64 KiB limit: the server stops reading
  // (read whole, it would take 64 MiB of memory).
  auto flood = http_raw(port, "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n4000000\r\n",
                        std::size_t{64} << 20);
  auto elsewhere = http_raw(port, "POST /v1/nowhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4000000\r\n",
                            std::size_t{64} << 20);

  CHECK(flood.status == 413);
  CHECK(flood.body.find("payload_too_large") != std::string::npos);
  CHECK(elsewhere.status == 413);
  INFO("anonymous RSS grew by " << (anon_rss_bytes() - rss_before) / 1024 << " KiB");
  if (memory_bounds_meaningful) CHECK(anon_rss_bytes() < rss_before + (std::size_t{24} << 20));
  CHECK(alive());
}
