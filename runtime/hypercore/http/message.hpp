// SPDX-License-Identifier: Apache-2.0
#pragma once

// One HTTP request and its answer, as the route handlers see them: plain
// structs with no server library behind them, so the server (server.hpp,
// Boost.Beast today) stays replaceable and handlers are testable without a
// socket. A response is either a whole body or an event stream
// (stream_source) the server writes as it fills.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hypercore::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// Case-insensitive ASCII comparison, as HTTP field names compare.
bool iequals(std::string_view a, std::string_view b);

struct request {
  std::string method;
  /// The path, percent-decoded ('+' stays '+'), without the query.
  std::string path;
  /// Query parameters, percent-decoded ('+' is a space), in order.
  header_list query;
  header_list headers;
  std::string body;
  /// What the route pattern's `{}` segments matched, in order.
  std::vector<std::string> matches;

  bool has_header(std::string_view name) const;
  /// The first value of the header, or "" when absent.
  const std::string& header(std::string_view name) const;
  std::size_t header_count(std::string_view name) const;
  bool has_param(std::string_view name) const;
  /// The first value of the query parameter, or "" when absent.
  const std::string& param(std::string_view name) const;
};

/// The body of an event stream, written by the server as it fills. The
/// server calls take() on its own thread of the connection, one call at a
/// time; the source calls the notifier from any thread whenever take() may
/// have more (the server then calls take() soon, never inside notify).
class stream_source {
public:
  virtual ~stream_source() = default;
  struct chunk {
    std::string text;
    /// True once the stream is over: nothing follows `text`.
    bool over = false;
  };
  /// What is ready now, without blocking: empty text and !over when nothing.
  virtual chunk take() = 0;
  virtual void set_notifier(std::function<void()> notify) = 0;
  /// The text written before the server closes the stream itself
  /// (shutdown, the stream's deadline).
  virtual std::string closing_text(std::string_view reason) = 0;
  /// Ends the stream: releases its subscription. Thread-safe, idempotent.
  virtual void stop() = 0;
};

struct response {
  int status = 200;
  header_list headers;
  std::string content_type;
  std::string body;
  /// When set, the body is this stream (text/event-stream, chunked).
  std::shared_ptr<stream_source> stream;
  /// When the stream ends at the latest (0: at the server's stream limit).
  std::chrono::milliseconds stream_max_duration{0};
  /// Close the connection after this response.
  bool close = false;

  bool has_header(std::string_view name) const;
  void set_header(std::string name, std::string value);
};

/// Completes a request; callable once, from any thread.
using responder = std::function<void(response)>;

} // namespace hypercore::http
