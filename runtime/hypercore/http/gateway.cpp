// SPDX-License-Identifier: Apache-2.0
// The HTTP server: its set-up (threads, limits, authentication, the JSON
// shape of httplib's own refusals), health, readiness and the agent list;
// the route groups live in their own files.
#include "hypercore/http/gateway_impl.hpp"

#include <spdlog/spdlog.h>

#include "hypercore/core/errc.hpp"
#include "hypercore/core/utf8.hpp"
#include "hypercore/http/secrets.hpp"

namespace hypercore::http {

using nlohmann::json;

bool gateway::impl::admit_rates(const std::vector<job_spec>& specs, httplib::Response& res) {
  if (!limiter.enabled()) return true;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
               .count();
  rate_decision last;
  for (const auto& s : specs) {
    last = limiter.admit(s.kind, s.session_id, now);
    if (!last.allowed) break;
  }
  res.set_header("X-RateLimit-Limit", std::to_string(static_cast<std::int64_t>(last.limit)));
  res.set_header("X-RateLimit-Remaining", std::to_string(static_cast<std::int64_t>(last.remaining)));
  if (last.allowed) return true;
  auto seconds = (last.retry_after.count() + 999) / 1000;
  res.set_header("Retry-After", std::to_string(std::max<std::int64_t>(1, seconds)));
  reply_error(res, make_api_error(errc::rate_limited, "rate limit exceeded; retry later"));
  return false;
}

void gateway::impl::agent_routes() {
  server.Get("/v1/agents", [this](const httplib::Request&, httplib::Response& res) {
    json kinds = json::array();
    for (const auto& a : eng.agents()) {
      const auto& o = a.options;
      kinds.push_back({{"kind", a.kind},
                       {"params_schema", a.schema ? *a.schema : json(nullptr)},
                       {"concurrency", o.concurrency},
                       {"timeout_ms", o.timeout.count()},
                       {"blocking", o.blocking},
                       {"retry", {{"base_ms", o.retry.base_ms}, {"factor", o.retry.factor},
                                  {"cap_ms", o.retry.cap_ms}, {"max_attempts", o.retry.max_attempts}}}});
    }
    reply(res, 200, {{"agents", std::move(kinds)}});
  });
}

void gateway::impl::routes() {
  auto threads = opts.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(opts.max_body_bytes);
  // Without TCP_NODELAY, Nagle's algorithm and delayed ACKs add ~40 ms to a
  // request whose headers and body go out in separate writes (measured: 16
  // requests/s on one connection before, see bench/README.md).
  server.set_tcp_nodelay(true);
  // httplib closes a keep-alive connection after 5 requests by default;
  // reconnect storms then overflow its small listen backlog.
  server.set_keep_alive_max_count(100'000);

  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    using handled = httplib::Server::HandlerResponse;
    // Two lengths, or a length beside chunking, is how requests are smuggled
    // past a proxy that reads them differently: refuse, and close.
    if (req.get_header_value_count("Content-Length") > 1
        || (req.has_header("Content-Length") && req.has_header("Transfer-Encoding"))) {
      res.set_header("Connection", "close");
      reply_error(res, make_api_error(errc::invalid_request,
                                      "conflicting Content-Length / Transfer-Encoding headers"));
      return handled::Handled;
    }
    // The decoded path and the headers we read are stored, logged or quoted:
    // refuse bytes that are not UTF-8 before anything sees them.
    if (!is_valid_utf8(req.path)) {
      reply_error(res, make_api_error(errc::invalid_utf8, "the path is not valid UTF-8"));
      return handled::Handled;
    }
    for (const char* name : {"Idempotency-Key", "X-Session-Id", "Last-Event-ID", "Authorization"})
      if (req.has_header(name) && !is_valid_utf8(req.get_header_value(name))) {
        reply_error(res, make_api_error(errc::invalid_utf8,
                                        std::string{"the "} + name + " header is not valid UTF-8"));
        return handled::Handled;
      }
    if (req.path.rfind("/v1/", 0) != 0) return handled::Unhandled;
    if (!opts.auth_token.empty()
        && !constant_time_equals(req.get_header_value("Authorization"), "Bearer " + opts.auth_token)) {
      reply_error(res, make_api_error(errc::unauthorized, "missing or wrong bearer token"));
      return handled::Handled;
    }
    // A request made within a session needs that session to be live.
    if (req.has_header("X-Session-Id") && !eng.session(req.get_header_value("X-Session-Id"))) {
      reply_error(res, make_api_error(errc::unauthorized, "unknown or expired session"));
      return handled::Handled;
    }
    return handled::Unhandled;
  });
  // httplib answers some errors itself (413, 404 for unknown paths) with an
  // empty body: give them the JSON shape too.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      reply_error(res, make_api_error(errc::payload_too_large, "the request body is too large"));
    else if (res.status == 404)
      reply_error(res, make_api_error(errc::not_found, "no such endpoint"));
    else {
      // A refusal httplib made itself keeps its status (400, 414, ...).
      auto refused = make_api_error(errc::invalid_request, "the request was refused");
      refused.status = res.status;
      reply_error(res, refused);
    }
  });
  server.set_exception_handler(
    [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unexpected error";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      spdlog::error("http: handler failed: {}", what);
      reply_error(res, make_api_error(errc::internal, "internal error"));
    });

  server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"status", "up"}});
  });
  server.Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    auto reason = eng.not_ready_reason();
    if (reason.empty()) return reply(res, 200, {{"status", "ready"}});
    res.set_header("Retry-After", "1");
    reply_error(res, make_api_error(errc::not_running, "the engine is not ready: " + reason));
  });


  job_routes();
  stream_routes();
  dead_letter_routes();
  session_routes();
  agent_routes();

  const auto max_body = opts.max_body_bytes;
  // Last: a body sent to any other path is still read under the bound
  // (httplib would read it whole before answering 404).
  auto no_such_endpoint = with_body(max_body, [](const httplib::Request&, httplib::Response& res, std::string&) {
    reply_error(res, make_api_error(errc::not_found, "no such endpoint"));
  });
  server.Post(".*", no_such_endpoint);
  server.Put(".*", no_such_endpoint);
  server.Patch(".*", no_such_endpoint);
  server.Delete(".*", no_such_endpoint);
}

gateway::gateway(engine& eng, gateway_options opts)
  : impl_(std::make_unique<impl>(eng, std::move(opts))) {
  impl_->routes();
}

gateway::~gateway() { stop(); }

caf::error gateway::start() {
  auto& m = *impl_;
  if (m.opts.port == 0) {
    m.bound_port = m.server.bind_to_any_port(m.opts.host);
  } else if (m.server.bind_to_port(m.opts.host, m.opts.port)) {
    m.bound_port = m.opts.port;
  } else {
    m.bound_port = -1;
  }
  if (m.bound_port <= 0)
    return make_error(errc::invalid_config,
                      "listen: cannot bind " + m.opts.host + ":" + std::to_string(m.opts.port));
  m.thread = std::thread([&m] { m.server.listen_after_bind(); });
  spdlog::info("http: listening on {}:{}", m.opts.host, m.bound_port);
  return {};
}

int gateway::port() const { return impl_->bound_port; }

void gateway::stop() {
  auto& m = *impl_;
  std::lock_guard<std::mutex> guard{m.stop_mutex};
  if (!m.thread.joinable()) return;
  m.stopping = true;
  {
    // Open streams end now instead of holding their threads through stop.
    std::lock_guard<std::mutex> streams{m.streams_mutex};
    for (auto& weak : m.streams)
      if (auto stream = weak.lock()) stream->stop();
  }
  m.server.stop();
  m.thread.join();
  m.stopped = true;
}

bool gateway::stopped() const { return impl_->stopped; }

} // namespace hypercore::http
