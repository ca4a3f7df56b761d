// SPDX-License-Identifier: Apache-2.0
// Structured logs: the JSON-lines format escapes what it writes and carries
// a job's fields from the log site; secrets are redacted from payloads; the
// level changes at run time over HTTP.
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "hypercore/core/log_context.hpp"
#include "hypercore/http/gateway.hpp"
#include "hypercore/telemetry/logging.hpp"
#include "http_client.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;
using nlohmann::json;

namespace {

// Sends the default logger's lines, JSON-formatted, to a string while alive.
struct captured_log {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();

  captured_log() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out, true);
    auto logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_formatter(telemetry::make_json_formatter());
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~captured_log() { spdlog::set_default_logger(previous); }

  std::vector<json> lines() {
    spdlog::default_logger()->flush();
    std::vector<json> out_lines;
    std::istringstream in{out.str()};
    std::string line;
    while (std::getline(in, line)) out_lines.push_back(json::parse(line)); // throws if not JSON
    return out_lines;
  }
};

} // namespace

TEST_CASE("a JSON log line escapes its message and carries the scope's fields",
          "[integration][logging]") {
  captured_log log;
  {
    log_scope outer{{{"job_id", "01a2"}, {"kind", "echo"}}};
    log_scope inner{{{"attempt", "3"}, {"msg", "must not replace the message"}}};
    spdlog::warn("quote \" backslash \\ newline \n tab \t bad byte \xff end");
  }
  spdlog::info("after the scopes");

  auto lines = log.lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["level"] == "warn");
  CHECK(lines[0]["msg"] == "quote \" backslash \\ newline \n tab \t bad byte \xef\xbf\xbd end");
  CHECK(lines[0]["job_id"] == "01a2");
  CHECK(lines[0]["kind"] == "echo");
  CHECK(lines[0]["attempt"] == "3");
  CHECK(lines[0]["ts"].get<std::string>().size() == 24); // 2026-12-04T20:01:02.345Z
  CHECK(lines[0]["ts"].get<std::string>().back() == 'Z');
  CHECK_FALSE(lines[1].contains("job_id"));
  CHECK(lines[1]["level"] == "info");
}

TEST_CASE("secret-looking keys are redacted from logged payloads, at any depth",
          "[integration][logging]") {
  auto out = json::parse(redacted(
    R"({"prompt":"hi","API_Key":"sk-1","nested":{"access_token":"t","list":[{"password":"p","ok":1}]},"Authorization":"Bearer x","client_secret":"s"})"));

  CHECK(out["prompt"] == "hi");
  CHECK(out["API_Key"] == "[redacted]");
  CHECK(out["nested"]["access_token"] == "[redacted]");
  CHECK(out["nested"]["list"][0]["password"] == "[redacted]");
  CHECK(out["nested"]["list"][0]["ok"] == 1);
  CHECK(out["Authorization"] == "[redacted]");
  CHECK(out["client_secret"] == "[redacted]");
  CHECK(redacted("not json {") == "[not JSON: 10 bytes]");
}

TEST_CASE("an agent crash is logged with its job's fields, and params only when allowed",
          "[integration][logging]") {
  engine_fixture f;
  auto crash_line = [&](bool payloads) {
    captured_log log;
    set_log_payloads(payloads);
    auto s = spec("crash", {{"crash", true}, {"api_key", "sk-secret"}});
    s.max_attempts = 1;
    auto id = f.submit(s);
    f.wait_terminal(id);
    set_log_payloads(false);
    for (auto& line : log.lines())
      if (line.value("job_id", "") == id.to_string() && line["msg"].get<std::string>().find("crashed") != std::string::npos)
        return line;
    FAIL("no crash line for " << id.to_string() << ": " << log.out.str());
    return json{};
  };

  auto quiet = crash_line(false);
  auto loud = crash_line(true);

  CHECK(quiet["kind"] == "crash");
  CHECK(quiet["attempt"] == "1");
  CHECK_FALSE(quiet.contains("params"));
  REQUIRE(loud.contains("params"));
  auto params = json::parse(loud["params"].get<std::string>());
  CHECK(params["crash"] == true);
  CHECK(params["api_key"] == "[redacted]");
  CHECK(loud.dump().find("sk-secret") == std::string::npos);
}

TEST_CASE("the log level is read and changed over HTTP, and a bad one changes nothing",
          "[integration][logging][http]") {
  engine_fixture f;
  http::gateway_options opts;
  opts.port = 0;
  opts.auth_token = "t0ken";
  http::gateway api{*f.eng, opts};
  REQUIRE_FALSE(api.start());
  auto previous = spdlog::default_logger()->level();
  std::map<std::string, std::string> auth{{"Authorization", "Bearer t0ken"}};

  auto unauthorized = http_call(api.port(), "PUT", "/v1/admin/log-level", R"({"level":"debug"})");
  auto set = http_call(api.port(), "PUT", "/v1/admin/log-level", R"({"level":"debug"})", auth);
  auto level_after_set = spdlog::default_logger()->level();
  auto bad = http_call(api.port(), "PUT", "/v1/admin/log-level", R"({"level":"loud"})", auth);
  auto read = http_call(api.port(), "GET", "/v1/admin/log-level", {}, auth);
  spdlog::set_level(previous);

  CHECK(unauthorized.status == 401);
  REQUIRE(set.status == 200);
  CHECK(set.json()["level"] == "debug");
  CHECK(level_after_set == spdlog::level::debug);
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"]["code"] == "invalid_request");
  CHECK(read.json()["level"] == "debug");
}
