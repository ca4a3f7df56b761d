// SPDX-License-Identifier: Apache-2.0
// The session routes: create, read, update (data, TTL) and delete.
#include "hypercore/http/gateway_impl.hpp"

#include <ctime>

#include "hypercore/core/errc.hpp"
#include "hypercore/core/utf8.hpp"

namespace hypercore::http {

using nlohmann::json;

namespace {

// ISO 8601 UTC, for people; expires_at_ms is the same instant for programs.
std::string iso_utc(std::int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

json session_json(const session_view& s) {
  return {{"session_id", s.id}, {"data", s.data}, {"expires_at", iso_utc(s.expires_at_ms)},
          {"expires_at_ms", s.expires_at_ms}};
}

// ttl_s from a session body: absent, or an integer number of seconds.
std::variant<std::optional<std::chrono::seconds>, api_error> ttl_of(const json& body) {
  auto it = body.find("ttl_s");
  if (it == body.end()) return std::optional<std::chrono::seconds>{};
  if (!it->is_number_integer() || it->get<std::int64_t>() < 1)
    return make_api_error(errc::invalid_request, "ttl_s must be a positive integer");
  return std::optional<std::chrono::seconds>{std::chrono::seconds(it->get<std::int64_t>())};
}

} // namespace

void gateway::impl::session_routes() {
  post("/v1/sessions", sync([this](const request& req, response& res) {
    auto parsed = object_body(req.body, opts.max_json_depth);
    if (auto* err = std::get_if<api_error>(&parsed)) return reply_error(res, *err);
    auto& body = std::get<json>(parsed);
    auto ttl = ttl_of(body);
    if (auto* err = std::get_if<api_error>(&ttl)) return reply_error(res, *err);
    auto seconds = std::get<std::optional<std::chrono::seconds>>(ttl).value_or(std::chrono::hours(1));
    auto id = eng.create_session(body.value("data", json::object()), seconds);
    if (!id) return reply_error(res, to_api_error(id.error()));
    auto created = eng.session(*id);
    if (!created) return reply_error(res, to_api_error(created.error()));
    reply(res, 201, session_json(*created));
  }));
  get("/v1/sessions/{}", sync([this](const request& req, response& res) {
    auto found = eng.session(req.matches[0]);
    if (!found) return reply_error(res, to_api_error(found.error()));
    reply(res, 200, session_json(*found));
  }));
  routes_table.add("PATCH", "/v1/sessions/{}", sync([this](const request& req, response& res) {
    auto parsed = object_body(req.body, opts.max_json_depth);
    if (auto* err = std::get_if<api_error>(&parsed)) return reply_error(res, *err);
    auto& body = std::get<json>(parsed);
    auto ttl = ttl_of(body);
    if (auto* err = std::get_if<api_error>(&ttl)) return reply_error(res, *err);
    std::optional<json> data;
    if (body.contains("data")) data = body["data"];
    auto updated = eng.update_session(req.matches[0], data,
                                      std::get<std::optional<std::chrono::seconds>>(ttl));
    if (!updated) return reply_error(res, to_api_error(updated.error()));
    reply(res, 200, session_json(*updated));
  }));
  routes_table.add("DELETE", "/v1/sessions/{}", sync([this](const request& req, response& res) {
    if (auto err = eng.delete_session(req.matches[0])) return reply_error(res, to_api_error(err));
    res.status = 204;
  }));
}

} // namespace hypercore::http
