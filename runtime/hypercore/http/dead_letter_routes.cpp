// SPDX-License-Identifier: Apache-2.0
// The dead-letter routes: list, and replay by ids or by filter.
#include "hypercore/http/gateway_impl.hpp"

#include "hypercore/core/errc.hpp"
#include "hypercore/core/utf8.hpp"
#include "hypercore/job_json.hpp"

namespace hypercore::http {

using nlohmann::json;

void gateway::impl::dead_letter_routes() {
  get("/v1/dead", sync([this](const request& req, response& res) {
    auto limit = int_param(req, res, "limit", 100, 1, 1000);
    if (!limit) return;
    dead_filter filter{req.param("kind"), std::chrono::milliseconds(0),
                       static_cast<std::size_t>(*limit)};
    auto dead = eng.dead_letters(filter);
    if (!dead) return reply_error(res, to_api_error(dead.error()));
    json jobs = json::array();
    for (const auto& j : *dead) jobs.push_back(to_json(j));
    reply(res, 200, {{"jobs", std::move(jobs)}});
  }));

  post("/v1/dead/replay", sync([this](const request& req, response& res) {
    auto parsed = object_body(req.body, opts.max_json_depth, /*empty_is_object=*/true);
    if (auto* err = std::get_if<api_error>(&parsed)) return reply_error(res, *err);
    auto& body = std::get<json>(parsed);
    caf::expected<std::vector<job_id>> replayed{std::vector<job_id>{}};
    if (auto ids = body.find("ids"); ids != body.end()) {
      if (!ids->is_array() || ids->size() > opts.max_batch_jobs)
        return reply_error(res, make_api_error(errc::invalid_request, "ids must be an array of at most "
                                                                         + std::to_string(opts.max_batch_jobs) + " ids"));
      std::vector<job_id> parsed;
      for (const auto& text : *ids) {
        auto id = text.is_string() ? job_id::parse(text.get<std::string>()) : std::nullopt;
        if (!id) return reply_error(res, make_api_error(errc::malformed_id, "ids holds a malformed id"));
        parsed.push_back(*id);
      }
      replayed = eng.replay(parsed);
    } else {
      for (const auto& [key, value] : body.items()) {
        bool ok = key == "kind" ? value.is_string()
                  : (key == "older_than_ms" || key == "limit") ? value.is_number_integer()
                                                               : false;
        if (!ok)
          return reply_error(res, make_api_error(errc::invalid_request,
                                                 "field '" + quote_for_message(key)
                                                   + "' is unknown or has the wrong type"));
      }
      dead_filter filter;
      filter.kind = body.value("kind", std::string{});
      auto older = body.value("older_than_ms", std::int64_t{0});
      auto limit = body.value("limit", std::int64_t{100});
      if (older < 0 || limit < 1 || limit > 1000)
        return reply_error(res, make_api_error(errc::invalid_request,
                                               "older_than_ms must be >= 0 and limit 1..1000"));
      filter.older_than = std::chrono::milliseconds(older);
      filter.limit = static_cast<std::size_t>(limit);
      replayed = eng.replay(filter);
    }
    if (!replayed) return reply_error(res, to_api_error(replayed.error()));
    json ids = json::array();
    for (const auto& id : *replayed) ids.push_back(id.to_string());
    reply(res, 200, {{"replayed", replayed->size()}, {"job_ids", std::move(ids)}});
  }));
}

} // namespace hypercore::http
