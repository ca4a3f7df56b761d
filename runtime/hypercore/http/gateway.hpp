// SPDX-License-Identifier: Apache-2.0
#pragma once

// gateway: the HTTP API (v1) in front of an engine, on the event-driven
// server of server.hpp. Owns: the server and its routes. Persists: nothing;
// every call goes through the engine. Fails: a bad request gets a JSON error with a
// stable code (api_error.hpp) and changes nothing; an exception inside a
// handler becomes a 500 "internal", never a crash. Binds 127.0.0.1 unless
// told otherwise.

#include <cstdint>
#include <memory>
#include <string>

#include <caf/error.hpp>

#include "hypercore/engine.hpp"
#include "hypercore/http/rate_limiter.hpp"
#include "hypercore/http/server.hpp"

namespace hypercore::telemetry {
class job_metrics;
}

namespace hypercore::http {

struct gateway_options {
  std::string host = "127.0.0.1";
  /// 0 picks a free port (tests); see gateway::port().
  int port = 8080;
  /// When set, every /v1 request needs "Authorization: Bearer TOKEN".
  std::string auth_token;
  std::size_t max_body_bytes = std::size_t{1} << 20;
  std::size_t max_batch_jobs = 1000;
  std::size_t max_json_depth = 64;
  /// Longest long poll a client may ask for, and longest event stream
  /// (a client reconnects with Last-Event-ID to go on).
  std::chrono::milliseconds max_wait{std::chrono::minutes(5)};
  /// Event streams open at once; more get 503 "overloaded". An open stream
  /// holds a socket and a feed subscription, not a thread.
  std::size_t max_streams = 16384;
  /// The server's threads, connection limits and timeouts (host, port and
  /// max_body_bytes above win over the ones in here).
  server_options server;
  /// Token-bucket rate limits on submits (off while rate_per_s is 0).
  bucket_config kind_rate;
  bucket_config session_rate;
  /// GET /metrics (Prometheus' text format) and the request counters
  /// behind it; off, /metrics is 404 and nothing is counted.
  bool metrics = true;
  /// When metrics_port >= 0, GET /metrics (and /health) are also served on
  /// this address, by a listener of their own (0 picks a free port).
  std::string metrics_host = "127.0.0.1";
  int metrics_port = -1;
};

class gateway {
public:
  gateway(engine& eng, gateway_options opts);
  ~gateway();
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  /// Binds and starts serving on a background thread.
  /// Errors: invalid_config when the address cannot be bound.
  caf::error start();
  /// The bound port (useful with port 0).
  int port() const;
  /// Graceful stop: stops accepting, finishes requests in flight (long
  /// polls are answered 503 shutting_down), ends open event streams with a
  /// `shutdown` event, then joins the server's threads. Thread-safe.
  void stop();
  /// True once stop() finished (every server thread is gone).
  bool stopped() const;
  /// The metrics listener's bound port; -1 when there is none.
  int metrics_port() const;
  /// The job metrics behind GET /metrics; null when off or before start().
  const telemetry::job_metrics* job_metrics() const;
  /// Connections and event streams open now.
  std::size_t connections() const;
  std::size_t open_streams() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace hypercore::http
