// SPDX-License-Identifier: Apache-2.0
#pragma once

// gateway::impl and the helpers its route groups share. Private to the HTTP
// target: the route files (job_routes.cpp, stream_routes.cpp,
// dead_letter_routes.cpp, session_routes.cpp) and gateway.cpp (server set-up,
// authentication, health, agents) include it. Debian builds cpp-httplib as a
// shared library, so httplib.h only declares and is cheap enough to include
// in each of them.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "hypercore/http/api_error.hpp"
#include "hypercore/http/event_stream.hpp"
#include "hypercore/http/gateway.hpp"
#include "hypercore/http/rate_limiter.hpp"
#include "hypercore/engine.hpp"

namespace hypercore::http {

/// Answers with `body` as JSON (invalid UTF-8 in strings replaced).
void reply(httplib::Response& res, int status, const nlohmann::json& body);
/// Answers with the API error's status and its JSON body (see api_error.hpp).
void reply_error(httplib::Response& res, const api_error& err);
/// The job id in the path's first match; nullopt (and a 400) when malformed.
std::optional<job_id> path_id(const httplib::Request& req, httplib::Response& res);
/// A query parameter as a bounded integer; nullopt (and a 400) when malformed.
std::optional<std::int64_t> int_param(const httplib::Request& req, httplib::Response& res,
                                      const char* name, std::int64_t fallback, std::int64_t lo,
                                      std::int64_t hi);
nlohmann::json view_json(const job_view& v);

/// A route that gets its body, read by us with a hard byte bound: httplib
/// 0.11 applies its payload limit to Content-Length bodies only, and a
/// chunked body would otherwise be read whole into memory.
using body_handler = std::function<void(const httplib::Request&, httplib::Response&, std::string&)>;
httplib::Server::HandlerWithContentReader with_body(std::size_t max_bytes, body_handler handler);

/// Parses a JSON object body through the common size and depth guard.
std::variant<nlohmann::json, api_error> object_body(const std::string& body, std::size_t max_depth,
                                                    bool empty_is_object = false);

struct gateway::impl {
  engine& eng;
  gateway_options opts;
  httplib::Server server;
  std::thread thread;
  int bound_port = 0;
  std::atomic<std::size_t> open_streams{0};
  /// Set by stop(): open streams end at once instead of holding shutdown.
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  std::mutex stop_mutex;
  rate_limiter limiter{opts.kind_rate, opts.session_rate};

  /// Applies the rate limits to a batch of specs; false (and a 429) when refused.
  bool admit_rates(const std::vector<job_spec>& specs, httplib::Response& res);

  /// Open event streams, so stop() can end them.
  std::mutex streams_mutex;
  std::vector<std::weak_ptr<event_stream>> streams;

  bool take_stream_slot(httplib::Response& res);
  void serve_stream(httplib::Response& res, std::shared_ptr<event_stream> stream);
  void stream_job_events(const httplib::Request& req, httplib::Response& res);
  void stream_firehose(const httplib::Request& req, httplib::Response& res);

  impl(engine& e, gateway_options o) : eng(e), opts(std::move(o)) {}

  /// Every route, in the order httplib matches them (the catch-alls last);
  /// each group is defined in its own file.
  void routes();
  void job_routes();
  void stream_routes();
  void dead_letter_routes();
  void session_routes();
  void agent_routes();
};

} // namespace hypercore::http
