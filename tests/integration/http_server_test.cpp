// SPDX-License-Identifier: Apache-2.0
// The event-driven server under clients that hold connections, trickle
// bytes, send too much, or stream by the thousand: each limit answers as
// documented, idle connections and open streams cost no thread, and a
// graceful stop finishes what is in flight.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "hypercore/http/gateway.hpp"
#include "hypercore/http/server.hpp"
#include "http_client.hpp"
#include "sse_events.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads until the peer closes or `timeout` passes; what arrived, and
// whether the peer closed.
std::pair<std::string, bool> read_until_closed(int fd, std::chrono::milliseconds timeout) {
  std::string got;
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {got, false};
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return {got, true};
    got.append(buf, static_cast<std::size_t>(n));
  }
}

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

std::size_t threads_of_this_process() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// The threads' names (for a failure message: which thread appeared).
std::string thread_names() {
  std::string out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm{e.path() / "comm"};
    std::string name;
    std::getline(comm, name);
    out += name + " ";
  }
  return out;
}

// The thread count once start-up is over: detached actors and CAF's own
// threads start asynchronously, so wait for one job through the whole path
// and for the count to hold still.
std::size_t settled_threads(engine_fixture& f) {
  f.wait_terminal(f.submit(spec("echo", {{"warm", "up"}})));
  auto last = threads_of_this_process();
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto now = threads_of_this_process();
    if (now == last) return now;
    last = now;
  }
  return last;
}

struct server_fixture : engine_fixture {
  std::unique_ptr<http::gateway> api;
  int port = 0;

  explicit server_fixture(std::function<void(http::gateway_options&)> tweak = {},
                          std::uint32_t concurrency = 4)
    : engine_fixture(concurrency) {
    http::gateway_options opts;
    opts.port = 0;
    if (tweak) tweak(opts);
    api = std::make_unique<http::gateway>(*eng, opts);
    REQUIRE_FALSE(api->start());
    port = api->port();
  }
};

} // namespace

TEST_CASE("a thousand idle keep-alive connections neither block a new request nor take threads",
          "[integration][http][server]") {
  server_fixture f;
  auto threads_before = settled_threads(f);
  auto names_before = thread_names();
  std::vector<int> idle;

  for (int i = 0; i < 1000; ++i) {
    int fd = connect_loopback(f.port);
    REQUIRE(fd >= 0);
    idle.push_back(fd);
  }
  // Half of them have already made one request and stay open after it.
  for (std::size_t i = 0; i < idle.size(); i += 2)
    REQUIRE(send_all(idle[i], "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto answer = http_call(f.port, "POST", "/v1/jobs", R"({"kind":"echo"})");

  CHECK(answer.status == 202);
  CHECK(f.api->connections() >= 1000);
  INFO("threads before: " << names_before << "\nafter: " << thread_names());
  CHECK(threads_of_this_process() <= threads_before + 2);
  for (int fd : idle) ::close(fd);
}

TEST_CASE("a client that trickles its header is cut off by the header timeout",
          "[integration][http][server][slowloris]") {
  server_fixture f{[](http::gateway_options& o) { o.server.header_timeout = 300ms; }};
  int fd = connect_loopback(f.port);
  REQUIRE(fd >= 0);
  std::string request = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(40, 'a') + "\r\n\r\n";

  // One byte every 50 ms: the whole header would take 3 s; the server
  // allows 300 ms from the first byte.
  bool closed_early = false;
  for (std::size_t i = 0; i < request.size(); ++i) {
    if (!send_all(fd, request.substr(i, 1))) {
      closed_early = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      char c;
      if (::recv(fd, &c, 1, 0) <= 0) {
        closed_early = true;
        break;
      }
    }
  }
  ::close(fd);

  CHECK(closed_early);
  CHECK(http_call(f.port, "GET", "/health").status == 200);
}

TEST_CASE("a connection with no request is closed after the idle timeout",
          "[integration][http][server]") {
  server_fixture f{[](http::gateway_options& o) { o.server.idle_timeout = 200ms; }};
  int fd = connect_loopback(f.port);
  REQUIRE(fd >= 0);

  auto [got, closed] = read_until_closed(fd, 10s);
  ::close(fd);

  CHECK(closed);
  CHECK(got.empty());
}

TEST_CASE("a header block over the limit, or too many fields, gets 431", "[integration][http][server][bounds]") {
  server_fixture f{[](http::gateway_options& o) {
    o.server.max_header_bytes = 4096;
    o.server.max_header_fields = 20;
  }};

  auto big = http_raw(f.port, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n");
  std::string many = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 30; ++i) many += "X-F" + std::to_string(i) + ": 1\r\n";
  auto fields = http_raw(f.port, many + "\r\n");
  auto at_limit = http_raw(f.port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: "
                                      + std::string(3000, 'a') + "\r\n\r\n");

  CHECK(big.status == 431);
  CHECK(big.body.find("headers_too_large") != std::string::npos);
  CHECK(fields.status == 431);
  CHECK(at_limit.status == 200);
}

TEST_CASE("past max connections a new connection gets 503 with Retry-After", "[integration][http][server]") {
  server_fixture f{[](http::gateway_options& o) { o.server.max_connections = 8; }};
  std::vector<int> held;
  for (int i = 0; i < 8; ++i) {
    int fd = connect_loopback(f.port);
    REQUIRE(fd >= 0);
    held.push_back(fd);
  }
  // The server counts a connection once it accepted it.
  for (int i = 0; i < 200 && f.api->connections() < 8; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(f.api->connections() == 8);

  int extra = connect_loopback(f.port);
  REQUIRE(extra >= 0);
  auto [refused, closed] = read_until_closed(extra, 10s);
  ::close(extra);
  ::close(held.back());
  held.pop_back();
  for (int i = 0; i < 200 && f.api->connections() >= 8; ++i) std::this_thread::sleep_for(10ms);
  auto after = http_call(f.port, "GET", "/health");

  CHECK(status_of(refused) == 503);
  CHECK(refused.find("Retry-After: 1") != std::string::npos);
  CHECK(refused.find("too_many_connections") != std::string::npos);
  CHECK(closed);
  CHECK(after.status == 200);
  for (int fd : held) ::close(fd);
}

TEST_CASE("pipelined requests are answered in order, and Connection: close is honoured",
          "[integration][http][server]") {
  server_fixture f;
  int fd = connect_loopback(f.port);
  REQUIRE(fd >= 0);
  std::string body = R"({"kind":"echo"})";
  std::string post = "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size())
                     + "\r\n\r\n" + body;

  REQUIRE(send_all(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + post
                         + "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto [got, closed] = read_until_closed(fd, 10s);
  ::close(fd);

  auto first = got.find("HTTP/1.1 200");
  auto second = got.find("HTTP/1.1 202");
  auto third = got.find("HTTP/1.1 404");
  CHECK(first == 0);
  CHECK(second != std::string::npos);
  CHECK(third != std::string::npos);
  CHECK(first < second);
  CHECK(second < third);
  CHECK(got.find("Connection: close", third) != std::string::npos);
  CHECK(closed);
}

TEST_CASE("two thousand event streams each receive their job's terminal event, on no thread of their own",
          "[integration][http][server][sse]") {
  constexpr std::size_t streams = 2000;
  server_fixture f{{}, 8};
  // One key: the jobs run one after another, so most of them finish while
  // their streams are open (the rest are terminal before, and the stream's
  // first event says so).
  std::vector<job_spec> specs(streams, spec("sleep", {{"ms", 1}}));
  for (auto& s : specs) s.partition_key = "one-after-another";
  auto threads_before = settled_threads(f);
  auto ids = f.eng->submit_batch(specs);
  REQUIRE(ids);

  std::vector<int> fds;
  std::vector<std::string> got(streams);
  std::vector<bool> done(streams, false);
  for (std::size_t i = 0; i < streams; ++i) {
    int fd = connect_loopback(f.port);
    REQUIRE(fd >= 0);
    REQUIRE(send_all(fd, "GET /v1/jobs/" + (*ids)[i].to_string() + "/events HTTP/1.1\r\nHost: x\r\n\r\n"));
    fds.push_back(fd);
  }
  auto open_at_peak = f.api->open_streams();
  auto threads_at_peak = threads_of_this_process();
  std::size_t finished = 0;
  auto until = std::chrono::steady_clock::now() + 120s;
  while (finished < streams && std::chrono::steady_clock::now() < until) {
    std::vector<pollfd> polls;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < streams; ++i)
      if (!done[i]) {
        polls.push_back({fds[i], POLLIN, 0});
        which.push_back(i);
      }
    if (::poll(polls.data(), polls.size(), 1000) <= 0) continue;
    for (std::size_t k = 0; k < polls.size(); ++k) {
      if (!(polls[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      auto i = which[k];
      char buf[8192];
      auto n = ::recv(fds[i], buf, sizeof buf, 0);
      if (n > 0) got[i].append(buf, static_cast<std::size_t>(n));
      // The terminal event, then the chunked body's last chunk.
      if (n <= 0 || got[i].find("\r\n0\r\n\r\n") != std::string::npos) {
        done[i] = true;
        ++finished;
      }
    }
  }
  std::size_t with_terminal = 0;
  for (const auto& text : got) with_terminal += text.find("event: succeeded") != std::string::npos ? 1 : 0;
  for (int fd : fds) ::close(fd);

  INFO("streams open at the peak: " << open_at_peak);
  CHECK(finished == streams);
  CHECK(with_terminal == streams);
  CHECK(threads_at_peak <= threads_before + 2);
}

TEST_CASE("a graceful stop ends open streams with a shutdown event and answers long polls",
          "[integration][http][server][shutdown]") {
  server_fixture f;
  auto slow = f.submit(spec("sleep", {{"ms", 60'000}}));
  int poll_fd = connect_loopback(f.port);
  REQUIRE(poll_fd >= 0);
  REQUIRE(send_all(poll_fd, "GET /v1/jobs/" + slow.to_string() + "/wait?timeout_ms=60000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::vector<int> streams;
  for (int i = 0; i < 3; ++i) {
    int fd = connect_loopback(f.port);
    REQUIRE(fd >= 0);
    REQUIRE(send_all(fd, "GET /v1/jobs/" + slow.to_string() + "/events HTTP/1.1\r\nHost: x\r\n\r\n"));
    streams.push_back(fd);
  }
  for (int i = 0; i < 500 && f.api->open_streams() < 3; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(f.api->open_streams() == 3);

  // The clients read while stop() drains, as real ones would: a lingering
  // close waits for them to hang up.
  auto began = std::chrono::steady_clock::now();
  std::thread stopper([&] { f.api->stop(); });

  for (int fd : streams) {
    auto [got, closed] = read_until_closed(fd, 10s);
    CHECK(got.find("event: shutdown") != std::string::npos);
    CHECK(got.find("\"reason\":\"shutting_down\"") != std::string::npos);
    CHECK(got.find("\r\n0\r\n\r\n") != std::string::npos);
    CHECK(closed);
    ::close(fd);
  }
  auto [waited, closed] = read_until_closed(poll_fd, 10s);
  ::close(poll_fd);
  CHECK(status_of(waited) == 503);
  CHECK(waited.find("shutting_down") != std::string::npos);
  CHECK(closed);
  stopper.join();
  // Everything was answered, so stop() did not wait out its drain timeout.
  CHECK(std::chrono::steady_clock::now() - began < 5s);
  CHECK(f.api->stopped());
  CHECK(connect_loopback(f.port) < 0);
  // The sleeping attempt is not the subject here: give it no time to finish.
  f.eng->shutdown(100ms);
}

// A connection whose client hangs up while stop() walks the open
// connections can be released by stop() itself; that must not deadlock it
// (it once did: the last reference died under the lock its destructor takes).
TEST_CASE("stop() returns while clients hang up during it", "[integration][http][server][shutdown]") {
  for (int round = 0; round < 200; ++round) {
    http::server_options opts;
    opts.port = 0;
    opts.drain_timeout = std::chrono::milliseconds(round % 3);
    auto srv = std::make_unique<http::server>(opts, [](http::request, http::responder done) {
      http::response res;
      res.status = 200;
      res.body = "ok";
      done(std::move(res));
    });
    REQUIRE(!srv->start());
    std::vector<int> fds;
    for (int i = 0; i < 16; ++i) {
      int fd = connect_loopback(srv->port());
      REQUIRE(fd >= 0);
      send_all(fd, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      fds.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100 * (round % 10)));
    std::thread hang_up([&fds] {
      for (int fd : fds) ::close(fd);
    });
    auto done = std::make_shared<std::promise<void>>();
    auto stopped = done->get_future();
    auto* raw = srv.get();
    std::thread([raw, done] {
      raw->stop();
      done->set_value();
    }).detach();
    hang_up.join();
    if (stopped.wait_for(10s) != std::future_status::ready) {
      // Leave the stuck server to its thread: destroying it would block too.
      (void)srv.release();
      FAIL("stop() did not return within 10 s in round " << round);
    }
  }
}
