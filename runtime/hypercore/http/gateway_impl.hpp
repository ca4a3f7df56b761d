// SPDX-License-Identifier: Apache-2.0
#pragma once

// gateway::impl and the helpers its route groups share. Private to the HTTP
// target: the route files (job_routes.cpp, stream_routes.cpp,
// dead_letter_routes.cpp, session_routes.cpp, wait_route.cpp) and
// gateway.cpp (dispatch, authentication, health, agents) include it. Routes
// see only message.hpp's request and response, never the server library.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "hypercore/http/api_error.hpp"
#include "hypercore/http/event_stream.hpp"
#include "hypercore/http/gateway.hpp"
#include "hypercore/http/http_metrics.hpp"
#include "hypercore/http/message.hpp"
#include "hypercore/http/rate_limiter.hpp"
#include "hypercore/http/router.hpp"
#include "hypercore/http/server.hpp"
#include "hypercore/engine.hpp"
#include "hypercore/telemetry/job_metrics.hpp"

namespace hypercore::http {

/// Answers with `body` as JSON (invalid UTF-8 in strings replaced).
void reply(response& res, int status, const nlohmann::json& body);
/// Answers with the API error's status and its JSON body (see api_error.hpp).
void reply_error(response& res, const api_error& err);
/// The job id in the path's first match; nullopt (and a 400) when malformed.
std::optional<job_id> path_id(const request& req, response& res);
/// A query parameter as a bounded integer; nullopt (and a 400) when malformed.
std::optional<std::int64_t> int_param(const request& req, response& res, const char* name,
                                      std::int64_t fallback, std::int64_t lo, std::int64_t hi);
nlohmann::json view_json(const job_view& v);

/// A handler that answers before it returns (an exception inside becomes a
/// 500 "internal").
using sync_handler = std::function<void(const request&, response&)>;
handler sync(sync_handler fn);

/// Parses a JSON object body through the common size and depth guard.
std::variant<nlohmann::json, api_error> object_body(const std::string& body, std::size_t max_depth,
                                                    bool empty_is_object = false);

struct pending_wait;

struct gateway::impl {
  engine& eng;
  gateway_options opts;
  router routes_table;
  std::unique_ptr<server> srv;
  std::atomic<std::size_t> open_streams{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  std::mutex stop_mutex;
  rate_limiter limiter{opts.kind_rate, opts.session_rate};

  /// Set when opts.metrics: built from the routes, and at start().
  /// Shared with every responder it wraps: an answer may come from the
  /// engine after the gateway is gone (a submit's ticket).
  std::shared_ptr<http_metrics> requests_meter;
  std::unique_ptr<telemetry::job_metrics> jobs_meter;
  /// gateway_options::metrics_port's listener, when asked for.
  std::unique_ptr<server> metrics_srv;
  /// GET /metrics' body: every family, in the text format.
  std::string metrics_text();
  /// Long polls in progress (GET /v1/jobs/{id}/wait), so stop() can answer them.
  std::mutex waits_mutex;
  std::vector<std::weak_ptr<pending_wait>> waits;

  impl(engine& e, gateway_options o) : eng(e), opts(std::move(o)) {}

  /// Applies the rate limits to a batch of specs; false (and a 429) when refused.
  bool admit_rates(const std::vector<job_spec>& specs, response& res);
  /// What every request passes before routing: smuggling, UTF-8, the bearer
  /// token, a live session. False (and `res` filled) when refused.
  bool guard(const request& req, response& res);
  /// Routes a request (on an I/O thread): the route's handler runs there
  /// when it never blocks, on the blocking pool otherwise.
  void dispatch(request req, responder done);

  /// Takes one of opts.max_streams; the token gives it back when dropped.
  std::shared_ptr<void> take_stream_slot(response& res);
  void stream_job_events(const request& req, response& res);
  void stream_firehose(const request& req, response& res);
  void wait_for_job(request& req, responder done);
  void answer_waits_at_stop();

  void get(const std::string& pattern, handler h, runs_on where = runs_on::blocking) {
    routes_table.add("GET", pattern, std::move(h), where);
  }
  void post(const std::string& pattern, handler h, runs_on where = runs_on::blocking) {
    routes_table.add("POST", pattern, std::move(h), where);
  }

  /// Every route, each group defined in its own file.
  void routes();
  void job_routes();
  void stream_routes();
  void dead_letter_routes();
  void session_routes();
  void agent_routes();
  void metrics_route();
  void admin_routes();
};

} // namespace hypercore::http
