// SPDX-License-Identifier: Apache-2.0
// The admin routes: the process' log level, read and changed at run time.
// Under /v1, so the bearer token guards them like the rest of the API.
#include "hypercore/http/gateway_impl.hpp"
#include <spdlog/spdlog.h>

#include "hypercore/telemetry/logging.hpp"

namespace hypercore::http {

using nlohmann::json;

void gateway::impl::admin_routes() {
  get("/v1/admin/log-level", sync([](const request&, response& res) {
        reply(res, 200, {{"level", telemetry::log_level()}});
      }),
      runs_on::io);
  routes_table.add(
    "PUT", "/v1/admin/log-level", sync([this](const request& req, response& res) {
      auto parsed = object_body(req.body, opts.max_json_depth);
      if (auto* err = std::get_if<api_error>(&parsed)) return reply_error(res, *err);
      auto& body = std::get<json>(parsed);
      auto level = body.find("level");
      if (body.size() != 1 || level == body.end() || !level->is_string())
        return reply_error(res, make_api_error(errc::invalid_request,
                                               "expected {\"level\": \"trace|debug|info|warn|"
                                               "error|critical|off\"}"));
      if (!telemetry::set_log_level(level->get<std::string>()))
        return reply_error(res, make_api_error(errc::invalid_request,
                                               "unknown log level; use trace, debug, info, warn, "
                                               "error, critical or off"));
      spdlog::warn("http: log level set to {}", telemetry::log_level());
      reply(res, 200, {{"level", telemetry::log_level()}});
    }),
    runs_on::io);
}

} // namespace hypercore::http
