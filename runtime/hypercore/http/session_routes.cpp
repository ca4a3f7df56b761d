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
  const auto max_body = opts.max_body_bytes;
  server.Post("/v1/sessions", with_body(max_body, [this](const httplib::Request&, httplib::Response& res, std::string& text) {
    auto parsed = object_body(text, opts.max_json_depth);
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
  server.Get(R"(/v1/sessions/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto found = eng.session(req.matches[1].str());
    if (!found) return reply_error(res, to_api_error(found.error()));
    reply(res, 200, session_json(*found));
  });
  server.Patch(R"(/v1/sessions/([^/]+))", with_body(max_body, [this](const httplib::Request& req, httplib::Response& res, std::string& text) {
    auto parsed = object_body(text, opts.max_json_depth);
    if (auto* err = std::get_if<api_error>(&parsed)) return reply_error(res, *err);
    auto& body = std::get<json>(parsed);
    auto ttl = ttl_of(body);
    if (auto* err = std::get_if<api_error>(&ttl)) return reply_error(res, *err);
    std::optional<json> data;
    if (body.contains("data")) data = body["data"];
    auto updated = eng.update_session(req.matches[1].str(), data,
                                      std::get<std::optional<std::chrono::seconds>>(ttl));
    if (!updated) return reply_error(res, to_api_error(updated.error()));
    reply(res, 200, session_json(*updated));
  }));
  server.Delete(R"(/v1/sessions/([^/]+))", with_body(max_body, [this](const httplib::Request& req, httplib::Response& res, std::string&) {
    if (auto err = eng.delete_session(req.matches[1].str())) return reply_error(res, to_api_error(err));
    res.status = 204;
  }));
}

} // namespace hypercore::http
