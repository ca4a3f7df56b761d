// SPDX-License-Identifier: Apache-2.0
// The helpers every route group uses: JSON replies, typed errors, bounded
// bodies and query parameters.
#include <charconv>
#include <limits>

#include "hypercore/core/errc.hpp"
#include "hypercore/core/utf8.hpp"
#include "hypercore/http/gateway_impl.hpp"
#include "hypercore/http/json_body.hpp"
#include "hypercore/http/query_params.hpp"
#include "hypercore/job_json.hpp"

namespace hypercore::http {

using nlohmann::json;

void reply(response& res, int status, const json& body) {
  res.status = status;
  res.body = safe_dump(body);
  res.content_type = "application/json";
}

void reply_error(response& res, const api_error& err) {
  res.status = err.status;
  // Every "retry later" answer says when.
  bool transient = err.code == "overloaded" || err.code == "storage_full"
                   || err.code == "storage_unavailable" || err.code == "unavailable"
                   || err.code == "not_ready";
  if (transient && !res.has_header("Retry-After")) res.set_header("Retry-After", "1");
  res.body = err.body();
  res.content_type = "application/json";
}

std::optional<job_id> path_id(const request& req, response& res) {
  const auto& text = req.matches.at(0);
  auto id = job_id::parse(text);
  if (!id)
    reply_error(res, make_api_error(errc::malformed_id, "not a job id: '" + quote_for_message(text) + "'"));
  return id;
}

// A query parameter as a bounded integer; nullopt (and a 400) when malformed.
std::optional<std::int64_t> int_param(const request& req, response& res, const char* name,
                                      std::int64_t fallback, std::int64_t lo, std::int64_t hi) {
  if (!req.has_param(name)) return fallback;
  auto value = parse_bounded_int(req.param(name), lo, hi);
  if (!value) {
    reply_error(res, make_api_error(errc::invalid_request,
                                    std::string{name} + " must be an integer from "
                                      + std::to_string(lo) + " to " + std::to_string(hi)));
    return std::nullopt;
  }
  return value;
}

json view_json(const job_view& v) { return to_json(v.record, v.output); }


/// Parses a JSON object body through the common size and depth guard.
std::variant<json, api_error> object_body(const std::string& body, std::size_t max_depth,
                                          bool empty_is_object) {
  if (body.empty() && empty_is_object) return json::object();
  auto parsed = parse_json_body(body, max_depth);
  if (auto* err = std::get_if<api_error>(&parsed)) return *err;
  auto& doc = std::get<json>(parsed);
  if (!doc.is_object()) return make_api_error(errc::invalid_json, "the body must be a JSON object");
  return std::move(doc);
}

} // namespace hypercore::http
