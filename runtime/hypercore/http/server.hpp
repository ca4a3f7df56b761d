// SPDX-License-Identifier: Apache-2.0
#pragma once

// server: an event-driven HTTP/1.1 server (Boost.Beast's parser on Asio;
// the only file that includes them is server.cpp). Owns: the listening
// socket, a few I/O threads that serve every connection, and a small pool
// for handlers that block. An idle keep-alive connection or an open event
// stream costs a socket and a few hundred bytes, never a thread. Every limit
// has an answer: too many connections 503, too large a header block 431, too
// large a body 413, a malformed request 400 (each a JSON error, then the
// connection closes); a client idle or slow past its timeout is disconnected.
// Requests on one connection are answered in order (pipelining), one at a
// time. Binds 127.0.0.1 unless told otherwise.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <caf/error.hpp>

#include "hypercore/http/message.hpp"

namespace hypercore::http {

struct server_options {
  std::string host = "127.0.0.1";
  /// 0 picks a free port (tests); see server::port().
  int port = 8080;
  /// Threads that run every connection's I/O (and handlers that never block).
  std::size_t io_threads = 2;
  /// Threads for handlers that call the engine synchronously.
  std::size_t blocking_threads = 16;
  /// Open connections at most; one more gets 503 too_many_connections.
  std::size_t max_connections = 16384;
  /// Request line and header block, in bytes, and header fields at most.
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_header_fields = 100;
  std::size_t max_body_bytes = std::size_t{1} << 20;
  /// From a request's first byte until its header block is complete.
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  /// From the end of the header block until the body is complete.
  std::chrono::milliseconds body_timeout{std::chrono::seconds(30)};
  /// A keep-alive connection with no request in progress is closed after this.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  /// A response (or a stream's next chunk) the client does not take in
  /// this long closes the connection.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  /// An event stream with nothing to say writes a comment this often.
  std::chrono::milliseconds heartbeat{std::chrono::seconds(15)};
  /// How long stop() lets in-flight requests finish.
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(10)};
};

/// Hands a parsed request to the application; it answers through the
/// responder. Runs on an I/O thread: it must not block.
using dispatch_fn = std::function<void(request, responder)>;

class server {
public:
  server(server_options opts, dispatch_fn dispatch);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and starts the I/O threads. Errors: invalid_config when the
  /// address cannot be bound.
  caf::error start();
  /// The bound port (useful with port 0).
  int port() const;
  /// Runs `work` on the blocking pool.
  void post_blocking(std::function<void()> work);
  /// Runs `work` on an I/O thread after `delay`, unless stop() came first
  /// (then it never runs). It must not block.
  void run_after(std::chrono::milliseconds delay, std::function<void()> work);
  /// Graceful stop: stops accepting, lets in-flight requests finish (up to
  /// drain_timeout), ends open streams with their closing text, closes idle
  /// connections, then joins every thread. Thread-safe and idempotent.
  void stop();
  /// Connections open now, and those of them streaming events.
  std::size_t connections() const;
  std::size_t open_streams() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace hypercore::http
