// SPDX-License-Identifier: Apache-2.0
// The gateway: dispatch (where each route runs), what every request passes
// before routing (authentication, UTF-8, smuggled lengths), health,
// readiness and the agent list; the route groups live in their own files.
#include "hypercore/http/gateway_impl.hpp"

#include <spdlog/spdlog.h>

#include "hypercore/core/errc.hpp"
#include "hypercore/core/utf8.hpp"
#include "hypercore/http/secrets.hpp"

namespace hypercore::http {

using nlohmann::json;

bool gateway::impl::admit_rates(const std::vector<job_spec>& specs, response& res) {
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
  get("/v1/agents", sync([this](const request&, response& res) {
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
  }));
}

bool gateway::impl::guard(const request& req, response& res) {
  // Two lengths, or a length beside chunking, is how requests are smuggled
  // past a proxy that reads them differently (the parser refuses most such
  // requests before they get here).
  if (req.header_count("Content-Length") > 1
      || (req.has_header("Content-Length") && req.has_header("Transfer-Encoding"))) {
    res.close = true;
    reply_error(res, make_api_error(errc::invalid_request,
                                    "conflicting Content-Length / Transfer-Encoding headers"));
    return false;
  }
  // The decoded path and the headers we read are stored, logged or quoted:
  // refuse bytes that are not UTF-8 before anything sees them.
  if (!is_valid_utf8(req.path)) {
    reply_error(res, make_api_error(errc::invalid_utf8, "the path is not valid UTF-8"));
    return false;
  }
  for (const char* name : {"Idempotency-Key", "X-Session-Id", "Last-Event-ID", "Authorization"})
    if (req.has_header(name) && !is_valid_utf8(req.header(name))) {
      reply_error(res, make_api_error(errc::invalid_utf8,
                                      std::string{"the "} + name + " header is not valid UTF-8"));
      return false;
    }
  if (req.path.rfind("/v1/", 0) != 0) return true;
  if (!opts.auth_token.empty()
      && !constant_time_equals(req.header("Authorization"), "Bearer " + opts.auth_token)) {
    reply_error(res, make_api_error(errc::unauthorized, "missing or wrong bearer token"));
    return false;
  }
  // A request made within a session needs that session to be live.
  if (req.has_header("X-Session-Id") && !eng.session(req.header("X-Session-Id"))) {
    reply_error(res, make_api_error(errc::unauthorized, "unknown or expired session"));
    return false;
  }
  return true;
}

void gateway::impl::dispatch(request req, responder done) {
  const route* r = routes_table.match(req);
  if (requests_meter) {
    // Counted when answered, wherever that happens (an I/O thread, the
    // blocking pool, or later, from the engine).
    done = [meter = requests_meter, route = r ? r->index : requests_meter->unmatched(),
            began = std::chrono::steady_clock::now(), done = std::move(done)](response res) {
      std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
      meter->observe(route, res.status, took.count());
      done(std::move(res));
    };
  }
  auto run = [this, r](request& req, responder& done) {
    response res;
    if (!guard(req, res)) return done(std::move(res));
    if (!r) {
      reply_error(res, make_api_error(errc::not_found, "no such endpoint"));
      return done(std::move(res));
    }
    try {
      r->handle(req, done);
    } catch (const std::exception& e) {
      spdlog::error("http: handler failed: {}", e.what());
      response failed;
      reply_error(failed, make_api_error(errc::internal, "internal error"));
      done(std::move(failed));
    }
  };
  // The session check asks the session store: that blocks, so a request
  // naming a session runs on the pool whatever its route.
  if (r && r->where == runs_on::io && !req.has_header("X-Session-Id")) return run(req, done);
  srv->post_blocking([run, req = std::move(req), done = std::move(done)]() mutable { run(req, done); });
}

handler sync(sync_handler fn) {
  return [fn = std::move(fn)](request& req, responder done) {
    response res;
    try {
      fn(req, res);
    } catch (const std::exception& e) {
      spdlog::error("http: handler failed: {}", e.what());
      res = response{};
      reply_error(res, make_api_error(errc::internal, "internal error"));
    }
    done(std::move(res));
  };
}

void gateway::impl::routes() {
  get("/health", sync([](const request&, response& res) { reply(res, 200, {{"status", "up"}}); }),
      runs_on::io);
  get("/ready", sync([this](const request&, response& res) {
        auto reason = eng.not_ready_reason();
        if (reason.empty()) return reply(res, 200, {{"status", "ready"}});
        res.set_header("Retry-After", "1");
        reply_error(res, make_api_error(errc::not_running, "the engine is not ready: " + reason));
      }),
      runs_on::io);
  job_routes();
  stream_routes();
  dead_letter_routes();
  session_routes();
  agent_routes();
  admin_routes();
  if (opts.metrics) metrics_route();
}

void gateway::impl::metrics_route() {
  // Outside /v1, like /health: no bearer token, so a Prometheus server
  // scrapes it as it is (bind to 127.0.0.1, the default, or firewall it).
  // Blocking: engine::stats() asks the actors.
  get("/metrics", sync([this](const request&, response& res) {
    res.status = 200;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = metrics_text();
  }));
}

std::string gateway::impl::metrics_text() {
  auto families = jobs_meter ? jobs_meter->collect() : std::vector<prometheus::MetricFamily>{};
  for (auto& f : requests_meter->collect()) families.push_back(std::move(f));
  prometheus::MetricFamily streams;
  streams.name = "hypercore_http_open_streams";
  streams.help = "Event streams open now";
  streams.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric value;
  value.gauge.value = static_cast<double>(srv ? srv->open_streams() : 0);
  streams.metric.push_back(value);
  families.push_back(std::move(streams));
  return telemetry::to_text(families);
}

gateway::gateway(engine& eng, gateway_options opts)
  : impl_(std::make_unique<impl>(eng, std::move(opts))) {
  impl_->routes();
  if (impl_->opts.metrics) {
    std::vector<std::string> patterns;
    for (const auto& r : impl_->routes_table.routes()) patterns.push_back(r.method + " " + r.pattern);
    impl_->requests_meter = std::make_shared<http_metrics>(patterns);
  }
}

gateway::~gateway() { stop(); }

caf::error gateway::start() {
  auto& m = *impl_;
  if (m.opts.metrics && !m.jobs_meter) {
    // Counts from the feed's next commit on: a restarted process starts
    // its counters at zero, as Prometheus expects of counters.
    auto meter = std::make_unique<telemetry::job_metrics>(m.eng);
    if (auto err = meter->start()) return err;
    m.jobs_meter = std::move(meter);
  }
  auto so = m.opts.server;
  so.host = m.opts.host;
  so.port = m.opts.port;
  so.max_body_bytes = m.opts.max_body_bytes;
  m.srv = std::make_unique<server>(so, [&m](request req, responder done) {
    m.dispatch(std::move(req), std::move(done));
  });
  if (auto err = m.srv->start()) return err;
  spdlog::info("http: listening on {}:{}", m.opts.host, m.srv->port());
  if (m.opts.metrics && m.opts.metrics_port >= 0) {
    // A listener for the scraper alone (another address or interface than
    // the API's): /metrics and /health, nothing of /v1.
    server_options mo;
    mo.host = m.opts.metrics_host;
    mo.port = m.opts.metrics_port;
    mo.io_threads = 1;
    mo.blocking_threads = 1;
    mo.max_connections = 64;
    mo.max_body_bytes = 1024;
    mo.drain_timeout = m.opts.server.drain_timeout;
    m.metrics_srv = std::make_unique<server>(mo, [&m](request req, responder done) {
      response res;
      if (req.method == "GET" && req.path == "/metrics") {
        // Blocking: engine::stats() asks the actors.
        return m.metrics_srv->post_blocking([&m, done = std::move(done)]() mutable {
          response r;
          r.content_type = "text/plain; version=0.0.4; charset=utf-8";
          try {
            r.body = m.metrics_text();
          } catch (const std::exception& e) {
            spdlog::error("http: metrics failed: {}", e.what());
            r = response{};
            reply_error(r, make_api_error(errc::internal, "internal error"));
          }
          done(std::move(r));
        });
      }
      if (req.method == "GET" && req.path == "/health") reply(res, 200, {{"status", "up"}});
      else reply_error(res, make_api_error(errc::not_found, "the metrics listener serves GET /metrics only"));
      done(std::move(res));
    });
    if (auto err = m.metrics_srv->start()) {
      m.srv->stop();
      return err;
    }
    spdlog::info("http: metrics on {}:{}", mo.host, m.metrics_srv->port());
  }
  return {};
}

int gateway::port() const { return impl_->srv ? impl_->srv->port() : -1; }

int gateway::metrics_port() const { return impl_->metrics_srv ? impl_->metrics_srv->port() : -1; }

void gateway::stop() {
  auto& m = *impl_;
  std::lock_guard<std::mutex> guard{m.stop_mutex};
  if (!m.srv || m.stopped) return;
  m.stopping = true;
  // Long polls would otherwise hold their connections through the drain.
  m.answer_waits_at_stop();
  m.srv->stop();
  if (m.metrics_srv) m.metrics_srv->stop();
  if (m.jobs_meter) m.jobs_meter->stop();
  m.stopped = true;
}

bool gateway::stopped() const { return impl_->stopped; }

const telemetry::job_metrics* gateway::job_metrics() const { return impl_->jobs_meter.get(); }

std::size_t gateway::connections() const { return impl_->srv ? impl_->srv->connections() : 0; }

std::size_t gateway::open_streams() const { return impl_->srv ? impl_->srv->open_streams() : 0; }

} // namespace hypercore::http
