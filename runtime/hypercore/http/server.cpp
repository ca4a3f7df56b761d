// SPDX-License-Identifier: Apache-2.0
// The HTTP/1.1 server on Asio, with Beast's request parser. Each connection
// is a small state machine on its own strand: wait for a request (idle
// timeout), read its header block (header timeout, byte and field limits),
// read its body (body timeout, byte limit), hand it to the application,
// write the answer (write timeout), and start over, or stream events until
// the stream ends. Responses are serialized here, not by Beast: a status
// line, a few headers and a body need no more.
#include "hypercore/http/server.hpp"

#include <atomic>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/core/errc.hpp"
#include "hypercore/http/api_error.hpp"
#include "hypercore/http/query_params.hpp"

namespace hypercore::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

void append_status_line(std::string& out, int status) {
  out.append("HTTP/1.1 ").append(std::to_string(status)).push_back(' ');
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  out.append(reason.data(), reason.size()).append("\r\n");
}

// The whole answer as bytes: status line, headers, body.
std::string serialize(const response& res, bool keep_alive) {
  std::string out;
  out.reserve(160 + res.body.size());
  append_status_line(out, res.status);
  for (const auto& [name, value] : res.headers)
    out.append(name).append(": ").append(value).append("\r\n");
  if (res.stream) {
    out.append("Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
               "Transfer-Encoding: chunked\r\n");
  } else {
    if (!res.content_type.empty()) out.append("Content-Type: ").append(res.content_type).append("\r\n");
    // 204 and 304 carry no body, so no length either.
    if (res.status != 204 && res.status != 304)
      out.append("Content-Length: ").append(std::to_string(res.body.size())).append("\r\n");
  }
  if (!keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n");
  if (!res.stream) out.append(res.body);
  return out;
}

// One chunk of a chunked body ("" is the last chunk).
void append_chunk(std::string& out, std::string_view text) {
  char size[20];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", text.size());
  out.append(size, static_cast<std::size_t>(n)).append(text).append("\r\n");
}

response error_response(errc code, std::string message) {
  auto err = make_api_error(code, std::move(message));
  response res;
  res.status = err.status;
  res.content_type = "application/json";
  res.body = err.body();
  res.close = true;
  if (err.status == 503) res.set_header("Retry-After", "1");
  return res;
}

} // namespace

struct connection;

struct server::impl : std::enable_shared_from_this<server::impl> {
  server_options opts;
  dispatch_fn dispatch;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  // The acceptor and its retry timer share one strand, so stop()'s close
  // cannot run beside an accept handler on the other I/O thread.
  asio::strand<asio::io_context::executor_type> accept_strand{asio::make_strand(io)};
  tcp::acceptor acceptor{accept_strand};
  asio::steady_timer accept_retry{accept_strand};
  std::unique_ptr<asio::thread_pool> blocking;
  std::vector<std::thread> threads;
  int bound_port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> streams{0};
  std::mutex stop_mutex;
  bool started = false;
  bool stopped = false;

  // Timers of run_after still pending, so stop() can cancel them.
  std::mutex timers_mutex;
  std::list<std::shared_ptr<asio::steady_timer>> timers;

  // Live connections, so stop() can reach each; guarded by live_mutex.
  mutable std::mutex live_mutex;
  std::condition_variable all_closed;
  std::list<std::weak_ptr<connection>> live;

  impl(server_options o, dispatch_fn d) : opts(std::move(o)), dispatch(std::move(d)) {}

  void accept();
  void refuse(tcp::socket socket);
  std::size_t live_count() const {
    std::lock_guard<std::mutex> guard{live_mutex};
    return live.size();
  }
};

struct connection : std::enable_shared_from_this<connection> {
  enum class phase { idle, reading, handling, writing, streaming, closed };

  std::shared_ptr<server::impl> srv;
  tcp::socket socket;
  asio::steady_timer deadline;
  asio::steady_timer beat;
  boost::beast::flat_buffer buffer;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser;
  std::list<std::weak_ptr<connection>>::iterator self_in_live;
  phase now = phase::idle;
  std::uint64_t deadline_generation = 0;
  bool keep_alive = true;
  bool closing = false;
  std::string out;
  // While streaming.
  std::shared_ptr<stream_source> stream;
  bool stream_writing = false;
  bool stream_over = false;
  std::chrono::steady_clock::time_point last_write;
  std::chrono::steady_clock::time_point stream_end_at;
  char probe[512];

  connection(std::shared_ptr<server::impl> s, tcp::socket sock)
    : srv(std::move(s)), socket(std::move(sock)), deadline(socket.get_executor()),
      beat(socket.get_executor()) {}

  ~connection() {
    if (stream) {
      stream->stop();
      --srv->streams;
    }
    {
      std::lock_guard<std::mutex> guard{srv->live_mutex};
      srv->live.erase(self_in_live);
    }
    srv->all_closed.notify_all();
  }

  // A phase's time limit: past it the socket closes, which ends whatever
  // operation is pending with an error.
  void arm(std::chrono::milliseconds limit) {
    auto generation = ++deadline_generation;
    deadline.expires_after(limit);
    deadline.async_wait([self = shared_from_this(), generation](error_code ec) {
      if (ec || generation != self->deadline_generation) return;
      self->close();
    });
  }
  void disarm() {
    ++deadline_generation;
    deadline.cancel();
  }

  void close() {
    if (now == phase::closed) return;
    now = phase::closed;
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    deadline.cancel();
    beat.cancel();
    if (stream) stream->stop();
  }

  void start() { wait_request(); }

  void wait_request() {
    if (closing || srv->stopping) return close();
    // A pipelined request is already in the buffer.
    if (buffer.size() > 0) return read_header();
    now = phase::idle;
    arm(srv->opts.idle_timeout);
    socket.async_wait(tcp::socket::wait_read, [self = shared_from_this()](error_code ec) {
      if (ec || self->now == phase::closed) return self->close();
      self->read_header();
    });
  }

  void read_header() {
    now = phase::reading;
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(srv->opts.max_header_bytes));
    parser->body_limit(srv->opts.max_body_bytes);
    arm(srv->opts.header_timeout);
    bhttp::async_read_header(socket, buffer, *parser,
                             [self = shared_from_this()](error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  // A request the parser refused: answer what was wrong, then close; a
  // client that went away or timed out is just closed.
  void refuse_request(error_code ec) {
    if (now == phase::closed || ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message
        || ec.category() != bhttp::make_error_code(bhttp::error::bad_method).category())
      return close();
    if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow)
      return answer(error_response(errc::headers_too_large, "the request's header block is larger than "
                                                             + std::to_string(srv->opts.max_header_bytes) + " bytes"));
    if (ec == bhttp::error::body_limit)
      return answer(error_response(errc::payload_too_large, "the request body is larger than "
                                                             + std::to_string(srv->opts.max_body_bytes) + " bytes"));
    // Two lengths, a length beside chunking, a bad chunk, a bad field:
    // requests that proxies could read differently are refused whole.
    answer(error_response(errc::invalid_request, "malformed HTTP request: " + ec.message()));
  }

  void on_header(error_code ec) {
    if (ec) return refuse_request(ec);
    auto& msg = parser->get();
    if (fields_of(msg) > srv->opts.max_header_fields)
      return answer(error_response(errc::headers_too_large,
                                   "the request has more than " + std::to_string(srv->opts.max_header_fields)
                                     + " header fields"));
    if (parser->is_done()) return on_body({});
    // A client waiting for "100 Continue" before sending its body.
    if (bhttp::token_list{msg[bhttp::field::expect]}.exists("100-continue")) {
      out = "HTTP/1.1 100 Continue\r\n\r\n";
      arm(srv->opts.write_timeout);
      return asio::async_write(socket, asio::buffer(out), [self = shared_from_this()](error_code ec, std::size_t) {
        if (ec) return self->close();
        self->read_body();
      });
    }
    read_body();
  }

  void read_body() {
    arm(srv->opts.body_timeout);
    bhttp::async_read(socket, buffer, *parser, [self = shared_from_this()](error_code ec, std::size_t) {
      self->on_body(ec);
    });
  }

  void on_body(error_code ec) {
    // A read that completed just as the connection closed starts nothing.
    if (now == phase::closed) return;
    if (ec) return refuse_request(ec);
    disarm();
    now = phase::handling;
    auto msg = parser->release();
    keep_alive = msg.keep_alive();
    request req;
    req.method = std::string{msg.method_string()};
    auto target = std::string_view{msg.target().data(), msg.target().size()};
    auto question = target.find('?');
    req.path = percent_decode(target.substr(0, question), false);
    if (question != std::string_view::npos) req.query = parse_query(target.substr(question + 1));
    req.headers.reserve(fields_of(msg));
    for (const auto& f : msg)
      req.headers.emplace_back(std::string{f.name_string()}, std::string{f.value()});
    req.body = std::move(msg.body());
    auto self = shared_from_this();
    responder done = [self](response res) {
      asio::post(self->socket.get_executor(),
                 [self, res = std::move(res)]() mutable { self->on_response(std::move(res)); });
    };
    try {
      srv->dispatch(std::move(req), std::move(done));
    } catch (const std::exception& e) {
      spdlog::error("http: dispatch failed: {}", e.what());
      answer(error_response(errc::internal, "internal error"));
    }
  }

  static std::size_t fields_of(const bhttp::request<bhttp::string_body>& msg) {
    std::size_t n = 0;
    for (auto it = msg.begin(); it != msg.end(); ++it) ++n;
    return n;
  }

  void on_response(response res) {
    if (now == phase::closed) {
      if (res.stream) res.stream->stop();
      return;
    }
    if (res.close || closing || srv->stopping) keep_alive = false;
    if (res.stream) return begin_stream(std::move(res));
    answer(std::move(res));
  }

  void answer(response res) {
    if (res.close) keep_alive = false;
    now = phase::writing;
    out = serialize(res, keep_alive);
    arm(srv->opts.write_timeout);
    asio::async_write(socket, asio::buffer(out), [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) return self->close();
      self->disarm();
      if (!self->keep_alive) return self->linger();
      self->wait_request();
    });
  }

  // After a last answer: stop sending, and read (and drop) what the client
  // still sends for a moment, so closing with unread bytes does not reset
  // the connection before the client read the answer.
  void linger() {
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    now = phase::writing;
    arm(std::chrono::milliseconds(2000));
    drain();
  }
  void drain() {
    socket.async_read_some(asio::buffer(probe), [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) return self->close();
      self->drain();
    });
  }

  void begin_stream(response res) {
    now = phase::streaming;
    // An event stream is the connection's last response: its end closes it.
    keep_alive = false;
    out = serialize(res, keep_alive);
    stream = std::move(res.stream);
    ++srv->streams;
    auto limit = res.stream_max_duration;
    stream_end_at = limit.count() > 0 ? std::chrono::steady_clock::now() + limit
                                      : std::chrono::steady_clock::time_point::max();
    std::weak_ptr<connection> weak = shared_from_this();
    auto executor = socket.get_executor();
    stream->set_notifier([weak, executor] {
      asio::post(executor, [weak] {
        if (auto self = weak.lock()) self->pump();
      });
    });
    // A client that hangs up is noticed at once, not at the next heartbeat.
    watch_peer();
    write_stream(std::move(out), false);
    schedule_beat();
  }

  // Reads (and drops) whatever the client sends while its stream is open
  // and after it ended, until it hangs up.
  void watch_peer() {
    socket.async_read_some(asio::buffer(probe), [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) return self->close();
      self->watch_peer();
    });
  }

  void write_stream(std::string bytes, bool last) {
    stream_writing = true;
    out = std::move(bytes);
    last_write = std::chrono::steady_clock::now();
    arm(srv->opts.write_timeout);
    asio::async_write(socket, asio::buffer(out), [self = shared_from_this(), last](error_code ec, std::size_t) {
      self->stream_writing = false;
      if (ec) return self->close();
      self->disarm();
      if (last) return self->end_stream();
      if (!self->pending_last.empty()) return self->write_stream(std::exchange(self->pending_last, {}), true);
      self->pump();
    });
  }

  void pump() {
    if (now != phase::streaming || stream_writing || stream_over) return;
    auto c = stream->take();
    if (c.text.empty() && !c.over) return;
    std::string bytes;
    if (!c.text.empty()) append_chunk(bytes, c.text);
    if (c.over) {
      stream_over = true;
      append_chunk(bytes, "");
    }
    write_stream(std::move(bytes), c.over);
  }

  // Ends the stream from our side (shutdown, its deadline) with the
  // source's closing text.
  void close_stream(std::string_view reason) {
    if (now != phase::streaming || stream_over) return;
    stream_over = true;
    std::string bytes;
    append_chunk(bytes, stream->closing_text(reason));
    append_chunk(bytes, "");
    if (stream_writing) {
      // The write in flight finishes first; its completion writes these.
      pending_last = std::move(bytes);
      return;
    }
    write_stream(std::move(bytes), true);
  }
  std::string pending_last;

  // The last chunk is out: stop sending and let the peer watch read until
  // the client hangs up (or the linger time passes).
  void end_stream() {
    // Closed meanwhile: the destructor lets the stream go.
    if (now == phase::closed) return;
    beat.cancel();
    stream->stop();
    stream.reset();
    --srv->streams;
    now = phase::writing;
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    arm(std::chrono::milliseconds(2000));
  }

  void schedule_beat() {
    auto now_time = std::chrono::steady_clock::now();
    auto next = std::min(last_write + srv->opts.heartbeat, stream_end_at);
    beat.expires_after(std::max(next - now_time, std::chrono::steady_clock::duration::zero()));
    beat.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->now != phase::streaming) return;
      self->on_beat();
    });
  }

  void on_beat() {
    auto t = std::chrono::steady_clock::now();
    if (t >= stream_end_at) return close_stream("max_duration");
    if (!stream_writing && !stream_over && t - last_write >= srv->opts.heartbeat) {
      std::string bytes;
      append_chunk(bytes, ": keep-alive\n\n");
      write_stream(std::move(bytes), false);
    }
    schedule_beat();
  }

  // stop(): finish what is in flight, then close.
  void begin_shutdown() {
    closing = true;
    keep_alive = false;
    switch (now) {
      case phase::idle:
      case phase::reading: return close();
      case phase::streaming: return close_stream("shutting_down");
      case phase::handling:
      case phase::writing:
      case phase::closed: return;
    }
  }
};

void server::impl::refuse(tcp::socket socket) {
  auto res = error_response(errc::too_many_connections,
                            "the server holds " + std::to_string(opts.max_connections)
                              + " connections, its limit; retry later");
  auto bytes = std::make_shared<std::string>(serialize(res, false));
  auto sock = std::make_shared<tcp::socket>(std::move(socket));
  asio::async_write(*sock, asio::buffer(*bytes), [sock, bytes](error_code, std::size_t) {
    error_code ignored;
    sock->shutdown(tcp::socket::shutdown_send, ignored);
    sock->close(ignored);
  });
}

void server::impl::accept() {
  acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](error_code ec, tcp::socket socket) {
    if (self->stopping || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors (EMFILE) and the like: try again shortly rather
      // than spin.
      spdlog::warn("http: accept failed: {}", ec.message());
      self->accept_retry.expires_after(std::chrono::milliseconds(50));
      self->accept_retry.async_wait([self](error_code e) {
        if (!e) self->accept();
      });
      return;
    }
    error_code ignored;
    // Without TCP_NODELAY, Nagle's algorithm and delayed ACKs add ~40 ms to
    // an answer written after its request's last packet.
    socket.set_option(tcp::no_delay(true), ignored);
    std::shared_ptr<connection> conn;
    {
      std::lock_guard<std::mutex> guard{self->live_mutex};
      if (self->live.size() < self->opts.max_connections) {
        conn = std::make_shared<connection>(self, std::move(socket));
        conn->self_in_live = self->live.insert(self->live.end(), conn);
      }
    }
    if (conn) asio::dispatch(conn->socket.get_executor(), [conn] { conn->start(); });
    else self->refuse(std::move(socket));
    self->accept();
  });
}

server::server(server_options opts, dispatch_fn dispatch)
  : impl_(std::make_shared<impl>(std::move(opts), std::move(dispatch))) {}

server::~server() { stop(); }

caf::error server::start() {
  auto& m = *impl_;
  std::lock_guard<std::mutex> guard{m.stop_mutex};
  if (m.started) return make_error(errc::already_running, "the server is already running");
  error_code ec;
  auto address = asio::ip::make_address(m.opts.host, ec);
  tcp::endpoint endpoint{address, static_cast<unsigned short>(m.opts.port)};
  if (!ec) m.acceptor.open(endpoint.protocol(), ec);
  if (!ec) m.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(endpoint, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(errc::invalid_config, "listen: cannot bind " + m.opts.host + ":"
                                              + std::to_string(m.opts.port) + ": " + ec.message());
  m.bound_port = m.acceptor.local_endpoint().port();
  m.blocking = std::make_unique<asio::thread_pool>(std::max<std::size_t>(1, m.opts.blocking_threads));
  m.work.emplace(m.io.get_executor());
  m.accept();
  for (std::size_t i = 0; i < std::max<std::size_t>(1, m.opts.io_threads); ++i)
    m.threads.emplace_back([&m] { m.io.run(); });
  m.started = true;
  return {};
}

int server::port() const { return impl_->bound_port; }

void server::post_blocking(std::function<void()> work) {
  asio::post(*impl_->blocking, std::move(work));
}

void server::run_after(std::chrono::milliseconds delay, std::function<void()> work) {
  auto& m = *impl_;
  auto timer = std::make_shared<asio::steady_timer>(m.io, delay);
  std::list<std::shared_ptr<asio::steady_timer>>::iterator at;
  // The wait starts under timers_mutex, as stop()'s cancel runs under it:
  // a cancel can then never come before the wait it should end (a timer
  // that escaped it would keep the I/O threads up until it fired).
  std::lock_guard<std::mutex> guard{m.timers_mutex};
  if (m.stopping) return;
  at = m.timers.insert(m.timers.end(), timer);
  timer->async_wait([self = impl_, at, work = std::move(work)](error_code ec) {
    {
      std::lock_guard<std::mutex> guard{self->timers_mutex};
      self->timers.erase(at);
    }
    if (!ec && !self->stopping) work();
  });
}

void server::stop() {
  auto& m = *impl_;
  std::lock_guard<std::mutex> guard{m.stop_mutex};
  if (!m.started || m.stopped) return;
  m.stopping = true;
  auto close_all = [&m](bool graceful) {
    // Taken under the lock, released after it: a connection whose client
    // hung up meanwhile may have its last reference here, and its
    // destructor takes live_mutex.
    std::vector<std::shared_ptr<connection>> open;
    {
      std::lock_guard<std::mutex> live{m.live_mutex};
      open.reserve(m.live.size());
      for (auto& weak : m.live)
        if (auto conn = weak.lock()) open.push_back(std::move(conn));
    }
    for (auto& conn : open)
      asio::post(conn->socket.get_executor(), [conn, graceful] {
        if (graceful) conn->begin_shutdown();
        else conn->close();
      });
  };
  asio::post(m.acceptor.get_executor(), [&m] {
    error_code ignored;
    m.acceptor.close(ignored);
    m.accept_retry.cancel();
  });
  {
    std::lock_guard<std::mutex> timers{m.timers_mutex};
    for (auto& t : m.timers) t->cancel();
  }
  close_all(true);
  {
    std::unique_lock<std::mutex> live{m.live_mutex};
    m.all_closed.wait_for(live, m.opts.drain_timeout, [&m] { return m.live.empty(); });
  }
  // Past the drain: whatever is still open is closed where it stands.
  close_all(false);
  // Handlers still running finish; their answers find closed connections.
  m.blocking->join();
  // With the acceptor and every socket closed, nothing is left to wait
  // for: the I/O threads return once the last completions ran.
  m.work.reset();
  for (auto& t : m.threads) t.join();
  m.threads.clear();
  m.stopped = true;
}

std::size_t server::connections() const { return impl_->live_count(); }

std::size_t server::open_streams() const { return impl_->streams.load(); }

} // namespace hypercore::http
