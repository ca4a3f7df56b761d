// SPDX-License-Identifier: Apache-2.0
#include "hypercore/cli/client_commands.hpp"

#include <cctype>
#include <iostream>

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

namespace hypercore::cli {

namespace {

using nlohmann::json;

struct endpoint {
  std::string scheme_host_port;
  std::string token;
};

// Sends one request; prints the body on 2xx, the error message otherwise.
int call(const endpoint& ep, const std::string& method, const std::string& path,
         const std::string& body = {}, const httplib::Headers& extra = {}) {
  httplib::Client client{ep.scheme_host_port};
  client.set_read_timeout(600, 0);
  client.set_tcp_nodelay(true);
  httplib::Headers headers = extra;
  if (!ep.token.empty()) headers.emplace("Authorization", "Bearer " + ep.token);
  httplib::Result res{nullptr, httplib::Error::Unknown};
  if (method == "GET") res = client.Get(path, headers);
  else if (method == "PATCH") res = client.Patch(path, headers, body, "application/json");
  else if (method == "DELETE") res = client.Delete(path, headers);
  else res = client.Post(path, headers, body, "application/json");
  if (!res) {
    std::cerr << "hypercore: cannot reach " << ep.scheme_host_port << ": "
              << httplib::to_string(res.error()) << '\n';
    return 3;
  }
  if (res->status >= 200 && res->status < 300) {
    if (!res->body.empty()) std::cout << res->body << '\n';
    return 0;
  }
  auto err = json::parse(res->body, nullptr, false);
  if (err.is_object() && err.contains("error"))
    std::cerr << "hypercore: " << err["error"].value("code", "error") << ": "
              << err["error"].value("message", "") << '\n';
  else
    std::cerr << "hypercore: HTTP " << res->status << '\n';
  return 1;
}

// Percent-encodes everything but unreserved characters, so a malformed id or
// kind reaches the server intact and is refused there with a clear error.
std::string escape_path(const std::string& text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
  return out;
}

} // namespace

struct client_commands::impl {
  endpoint ep{"http://127.0.0.1:8080", {}};
  CLI::App* submit = nullptr;
  CLI::App* job = nullptr;
  CLI::App* wait = nullptr;
  CLI::App* cancel = nullptr;
  CLI::App* dead_list = nullptr;
  CLI::App* dead_replay = nullptr;
  CLI::App* session_create = nullptr;
  CLI::App* session_get = nullptr;
  CLI::App* session_extend = nullptr;
  CLI::App* session_delete = nullptr;
  std::string session_data = "{}";
  std::int64_t ttl_s = 3600;

  std::string kind, params = "{}", key, session, idempotency_key, id;
  bool wait_after = false;
  std::int64_t timeout_ms = 30'000;
  std::string dead_kind;
  std::int64_t limit = 100;
  std::int64_t older_than_ms = 0;
  std::vector<std::string> ids;
};

client_commands::client_commands(CLI::App& app) : impl_(std::make_unique<impl>()) {
  auto& m = *impl_;
  auto common = [&m](CLI::App* cmd) {
    cmd->add_option("--url", m.ep.scheme_host_port, "Server URL")->capture_default_str();
    cmd->add_option("--auth-token", m.ep.token, "Bearer token, when the server needs one");
  };
  m.submit = app.add_subcommand("submit", "Submit a job");
  m.submit->add_option("--kind", m.kind, "Agent kind")->required();
  m.submit->add_option("--params", m.params, "Params as JSON")->capture_default_str();
  m.submit->add_option("--key", m.key, "Partition key (jobs of one key run in order)");
  m.submit->add_option("--session", m.session, "Session id");
  m.submit->add_option("--idempotency-key", m.idempotency_key, "Idempotency key");
  m.submit->add_flag("--wait", m.wait_after, "Wait until the job is terminal and print it");
  m.submit->add_option("--timeout-ms", m.timeout_ms, "With --wait: how long")->capture_default_str();
  common(m.submit);

  m.job = app.add_subcommand("job", "Show a job");
  m.job->add_option("id", m.id, "Job id")->required();
  common(m.job);

  m.wait = app.add_subcommand("wait", "Wait until a job is terminal");
  m.wait->add_option("id", m.id, "Job id")->required();
  m.wait->add_option("--timeout-ms", m.timeout_ms, "How long to wait")->capture_default_str();
  common(m.wait);

  m.cancel = app.add_subcommand("cancel", "Cancel a job");
  m.cancel->add_option("id", m.id, "Job id")->required();
  common(m.cancel);

  auto* dead = app.add_subcommand("dead", "Dead letters");
  dead->require_subcommand(1);
  m.dead_list = dead->add_subcommand("list", "List dead jobs");
  m.dead_list->add_option("--kind", m.dead_kind, "Only this kind");
  m.dead_list->add_option("--limit", m.limit, "At most this many")->capture_default_str();
  common(m.dead_list);
  m.dead_replay = dead->add_subcommand("replay", "Replay dead jobs by id or by criteria");
  m.dead_replay->add_option("--id", m.ids, "Job ids to replay");
  m.dead_replay->add_option("--kind", m.dead_kind, "Only this kind");
  m.dead_replay->add_option("--older-than-ms", m.older_than_ms, "Only jobs dead this long");
  m.dead_replay->add_option("--limit", m.limit, "At most this many")->capture_default_str();
  common(m.dead_replay);

  auto* session = app.add_subcommand("session", "Sessions");
  session->require_subcommand(1);
  m.session_create = session->add_subcommand("create", "Create a session");
  m.session_create->add_option("--data", m.session_data, "Data as JSON")->capture_default_str();
  m.session_create->add_option("--ttl", m.ttl_s, "Seconds to live")->capture_default_str();
  common(m.session_create);
  m.session_get = session->add_subcommand("get", "Show a session");
  m.session_get->add_option("id", m.id, "Session id")->required();
  common(m.session_get);
  m.session_extend = session->add_subcommand("extend", "Restart a session's TTL from now");
  m.session_extend->add_option("id", m.id, "Session id")->required();
  m.session_extend->add_option("--ttl", m.ttl_s, "Seconds to live")->capture_default_str();
  common(m.session_extend);
  m.session_delete = session->add_subcommand("delete", "Delete a session");
  m.session_delete->add_option("id", m.id, "Session id")->required();
  common(m.session_delete);
}

client_commands::~client_commands() = default;

int client_commands::run() {
  auto& m = *impl_;
  if (m.submit->parsed()) {
    auto params = json::parse(m.params, nullptr, false);
    if (params.is_discarded()) {
      std::cerr << "hypercore: --params is not valid JSON\n";
      return 2;
    }
    json body{{"kind", m.kind}, {"params", params}};
    if (!m.key.empty()) body["partition_key"] = m.key;
    if (!m.session.empty()) body["session_id"] = m.session;
    httplib::Headers headers;
    if (!m.idempotency_key.empty()) headers.emplace("Idempotency-Key", m.idempotency_key);
    if (!m.wait_after) return call(m.ep, "POST", "/v1/jobs", body.dump(), headers);
    // Capture the id from the receipt, then long-poll for the result.
    httplib::Client client{m.ep.scheme_host_port};
    if (!m.ep.token.empty()) headers.emplace("Authorization", "Bearer " + m.ep.token);
    auto res = client.Post("/v1/jobs", headers, body.dump(), "application/json");
    if (!res) {
      std::cerr << "hypercore: cannot reach " << m.ep.scheme_host_port << ": "
                << httplib::to_string(res.error()) << '\n';
      return 3;
    }
    if (res->status >= 300) {
      // Report the refusal itself; posting again could make a job.
      auto err = json::parse(res->body, nullptr, false);
      std::cerr << "hypercore: "
                << (err.is_object() && err.contains("error")
                      ? err["error"].value("code", "error") + ": " + err["error"].value("message", "")
                      : "HTTP " + std::to_string(res->status))
                << '\n';
      return 1;
    }
    auto receipt = json::parse(res->body, nullptr, false);
    if (!receipt.is_object() || !receipt.contains("job_id")) {
      std::cerr << "hypercore: unexpected reply: " << res->body << '\n';
      return 1;
    }
    return call(m.ep, "GET", "/v1/jobs/" + escape_path(receipt["job_id"].get<std::string>())
                               + "/wait?timeout_ms=" + std::to_string(m.timeout_ms));
  }
  if (m.job->parsed()) return call(m.ep, "GET", "/v1/jobs/" + escape_path(m.id));
  if (m.wait->parsed())
    return call(m.ep, "GET",
                "/v1/jobs/" + escape_path(m.id) + "/wait?timeout_ms=" + std::to_string(m.timeout_ms));
  if (m.cancel->parsed()) return call(m.ep, "POST", "/v1/jobs/" + escape_path(m.id) + "/cancel", "{}");
  if (m.dead_list->parsed()) {
    std::string path = "/v1/dead?limit=" + std::to_string(m.limit);
    if (!m.dead_kind.empty()) path += "&kind=" + escape_path(m.dead_kind);
    return call(m.ep, "GET", path);
  }
  if (m.dead_replay->parsed()) {
    json body = json::object();
    if (!m.ids.empty()) {
      body["ids"] = m.ids;
    } else {
      if (!m.dead_kind.empty()) body["kind"] = m.dead_kind;
      body["older_than_ms"] = m.older_than_ms;
      body["limit"] = m.limit;
    }
    return call(m.ep, "POST", "/v1/dead/replay", body.dump());
  }
  if (m.session_create->parsed()) {
    auto data = json::parse(m.session_data, nullptr, false);
    if (data.is_discarded()) {
      std::cerr << "hypercore: --data is not valid JSON\n";
      return 2;
    }
    return call(m.ep, "POST", "/v1/sessions", json{{"data", data}, {"ttl_s", m.ttl_s}}.dump());
  }
  if (m.session_get->parsed()) return call(m.ep, "GET", "/v1/sessions/" + escape_path(m.id));
  if (m.session_extend->parsed())
    return call(m.ep, "PATCH", "/v1/sessions/" + escape_path(m.id), json{{"ttl_s", m.ttl_s}}.dump());
  if (m.session_delete->parsed()) return call(m.ep, "DELETE", "/v1/sessions/" + escape_path(m.id));
  return -1;
}

} // namespace hypercore::cli
