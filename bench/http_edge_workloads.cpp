// SPDX-License-Identifier: Apache-2.0
// Workload 7: the HTTP edge under the clients issue 10 names: wrk as an
// outside load generator, an open loop at 1,000 req/s, a new client beside
// 1,000 idle connections, and 10,000 open event streams (their clients in a
// child process: both ends of 10,000 sockets would pass one process's fd
// limit).
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <httplib.h>

#include "bench_engine.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/http/gateway.hpp"
#include "workloads.hpp"

namespace hypercore::bench {

namespace {

const std::string noop_body = R"({"kind":"bench.noop","params":{}})";

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::size_t threads_of_this_process() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

std::size_t rss_bytes() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

struct gateway_under_test {
  bench_engine b;
  std::unique_ptr<http::gateway> api;

  gateway_under_test(const bench_options& opts, std::uint32_t concurrency = 8)
    : b{opts, true, 8, 1024, concurrency} {
    if (auto err = b.start()) throw std::runtime_error("start: " + message_of(err));
    http::gateway_options go;
    go.port = 0;
    api = std::make_unique<http::gateway>(b.get(), go);
    if (auto err = api->start()) throw std::runtime_error("http: " + message_of(err));
  }
  ~gateway_under_test() { api->stop(); }
};

// Single submits offered at `rate` per second for `window` from 16
// keep-alive connections on an absolute schedule; each latency runs from
// the scheduled send time to the 202, so a stall is charged in full.
std::vector<std::int64_t> open_loop_submits(int port, double rate, std::chrono::milliseconds window) {
  const std::size_t clients = 16;
  auto total = static_cast<std::size_t>(rate * static_cast<double>(window.count()) / 1000.0);
  auto interval_ns = static_cast<std::int64_t>(1e9 / rate);
  std::vector<std::vector<std::int64_t>> per_client(clients);
  std::atomic<std::size_t> failures{0};
  auto t0 = now_ns() + 50'000'000;  // the connections open first
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client client{"127.0.0.1", port};
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(30, 0);
      client.Get("/health");
      for (std::size_t i = c; i < total; i += clients) {
        auto scheduled = t0 + static_cast<std::int64_t>(i) * interval_ns;
        auto wait = scheduled - now_ns();
        if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
        auto res = client.Post("/v1/jobs", noop_body, "application/json");
        if (!res || res->status != 202) ++failures;
        per_client[c].push_back(now_ns() - scheduled);
      }
    });
  for (auto& t : threads) t.join();
  if (failures > 0) throw std::runtime_error(std::to_string(failures.load()) + " open-loop submits failed");
  std::vector<std::int64_t> all;
  for (auto& v : per_client) all.insert(all.end(), v.begin(), v.end());
  return all;
}

// wrk against POST /v1/jobs: jobs/s and p99 (ms) from its --latency report;
// nullopt when wrk is not installed.
std::optional<std::pair<double, double>> run_wrk(int port, std::chrono::seconds duration) {
  if (std::system("command -v wrk >/dev/null 2>&1") != 0) return std::nullopt;
  auto script = std::filesystem::temp_directory_path() / ("hypercore-bench-wrk-" + std::to_string(::getpid()) + ".lua");
  {
    std::ofstream lua{script};
    lua << "wrk.method = \"POST\"\nwrk.body = '" << noop_body
        << "'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n";
  }
  // One wrk thread: on 2 cores, more would take the server's CPU.
  auto command = "wrk -t1 -c64 -d" + std::to_string(duration.count()) + "s --latency -s " + script.string()
                 + " http://127.0.0.1:" + std::to_string(port) + "/v1/jobs 2>&1";
  std::string report;
  if (auto* pipe = ::popen(command.c_str(), "r")) {
    char buf[4096];
    while (auto n = std::fread(buf, 1, sizeof buf, pipe)) report.append(buf, n);
    ::pclose(pipe);
  }
  std::filesystem::remove(script);
  auto number_after = [&](const std::string& label) -> double {
    auto at = report.find(label);
    if (at == std::string::npos) throw std::runtime_error("wrk printed no '" + label + "':\n" + report);
    return std::stod(report.substr(at + label.size()));
  };
  if (report.find("Non-2xx") != std::string::npos)
    throw std::runtime_error("wrk saw refused submits:\n" + report);
  double rate = number_after("Requests/sec:");
  auto p99_at = report.find(" 99%");
  if (p99_at == std::string::npos) throw std::runtime_error("wrk printed no 99%:\n" + report);
  std::string p99_text = report.substr(p99_at + 4, report.find('\n', p99_at) - p99_at - 4);
  double p99 = std::stod(p99_text);
  if (p99_text.find("us") != std::string::npos) p99 /= 1000.0;
  else if (p99_text.find("ms") == std::string::npos && p99_text.find('s') != std::string::npos) p99 *= 1000.0;
  return std::pair{rate, p99};
}

} // namespace

// popen and std::system start their child with posix_spawn (glibc 2.36):
// nothing runs in a copy of this process, so the open LMDB environment is
// never touched by a fork (DESIGN.md).

int run_sse_clients(int port, const std::string& ids_file) {
  rlimit fds{};
  ::getrlimit(RLIMIT_NOFILE, &fds);
  fds.rlim_cur = fds.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &fds);
  std::vector<std::string> ids;
  std::ifstream in{ids_file};
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) ids.push_back(line);
  std::vector<int> socks;
  std::vector<std::string> got(ids.size());
  for (const auto& id : ids) {
    int fd = connect_loopback(port);
    if (fd < 0) {
      std::cerr << "sse clients: connect failed after " << socks.size() << " streams\n";
      return 1;
    }
    auto request = "GET /v1/jobs/" + id + "/events HTTP/1.1\r\nHost: bench\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) return 1;
    socks.push_back(fd);
  }
  // "open N" once every stream has its response head; "done K" once every
  // stream ended (or 120 s passed), K the streams that saw their job succeed.
  std::vector<bool> headed(ids.size(), false), ended(ids.size(), false);
  std::size_t heads = 0, ends = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool said_open = false;
  while (ends < ids.size() && std::chrono::steady_clock::now() < until) {
    std::vector<pollfd> polls;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < socks.size(); ++i)
      if (!ended[i]) {
        polls.push_back({socks[i], POLLIN, 0});
        which.push_back(i);
      }
    if (::poll(polls.data(), polls.size(), 1000) > 0)
      for (std::size_t k = 0; k < polls.size(); ++k) {
        if (!(polls[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        auto i = which[k];
        char buf[8192];
        auto n = ::recv(socks[i], buf, sizeof buf, 0);
        if (n > 0) got[i].append(buf, static_cast<std::size_t>(n));
        if (!headed[i] && got[i].find("\r\n\r\n") != std::string::npos) {
          headed[i] = true;
          ++heads;
        }
        if (n <= 0 || got[i].find("\r\n0\r\n\r\n") != std::string::npos) {
          ended[i] = true;
          ++ends;
        }
      }
    if (!said_open && heads == ids.size()) {
      std::cout << "open " << heads << std::endl;
      said_open = true;
    }
  }
  std::size_t succeeded = 0;
  for (const auto& text : got) succeeded += text.find("event: succeeded") != std::string::npos ? 1 : 0;
  if (!said_open) std::cout << "open " << heads << std::endl;
  std::cout << "done " << succeeded << std::endl;
  for (int fd : socks) ::close(fd);
  return 0;
}

std::vector<figure> run_http_edge(const bench_options& opts, const std::string& self_exe) {
  figure wrk_rate{"hypercore", "http-single-wrk", true, "jobs_per_s", {}};
  figure wrk_p99{"hypercore", "http-single-wrk", true, "p99_ms", {}};
  figure open_p50{"hypercore", "http-open-1k", true, "p50_ms", {}};
  figure open_p99{"hypercore", "http-open-1k", true, "p99_ms", {}};
  figure open_p999{"hypercore", "http-open-1k", true, "p999_ms", {}};
  figure idle_p99{"hypercore", "idle-1k", true, "p99_ms", {}};
  figure sse_rss{"hypercore", "sse-10k", true, "rss_mb", {}};
  figure sse_threads{"hypercore", "sse-10k", true, "threads", {}};
  figure sse_p99{"hypercore", "sse-10k", true, "p99_ms", {}};
  figure sse_done{"hypercore", "sse-10k", true, "streams_done", {}};
  const auto window = std::chrono::duration_cast<std::chrono::milliseconds>(opts.latency_window);
  const std::size_t streams = opts.smoke ? 200 : 10'000;
  bool have_wrk = true;
  for (std::size_t r = 0; r < opts.runs; ++r) {
    {
      gateway_under_test g{opts};
      if (auto measured = run_wrk(g.api->port(), opts.smoke ? std::chrono::seconds(1) : std::chrono::seconds(5))) {
        wrk_rate.samples.push_back(measured->first);
        wrk_p99.samples.push_back(measured->second);
      } else {
        have_wrk = false;
      }
    }
    {
      gateway_under_test g{opts};
      auto latencies = open_loop_submits(g.api->port(), 1000, window);
      open_p50.samples.push_back(percentile_ms(latencies, 50));
      open_p99.samples.push_back(percentile_ms(latencies, 99));
      open_p999.samples.push_back(percentile_ms(latencies, 99.9));
    }
    {
      // 1,000 connections that made one request and stay open, idle; then
      // a new client's submits, one at a time.
      gateway_under_test g{opts};
      std::vector<int> idle;
      for (int i = 0; i < 1000; ++i) {
        int fd = connect_loopback(g.api->port());
        if (fd < 0) throw std::runtime_error("idle-1k: connect failed");
        std::string probe = "GET /health HTTP/1.1\r\nHost: bench\r\n\r\n";
        ::send(fd, probe.data(), probe.size(), MSG_NOSIGNAL);
        idle.push_back(fd);
      }
      httplib::Client client{"127.0.0.1", g.api->port()};
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      std::vector<std::int64_t> latencies;
      for (int i = 0; i < (opts.smoke ? 50 : 500); ++i) {
        auto start = now_ns();
        auto res = client.Post("/v1/jobs", noop_body, "application/json");
        if (!res || res->status != 202) throw std::runtime_error("idle-1k: a submit failed");
        latencies.push_back(now_ns() - start);
      }
      idle_p99.samples.push_back(percentile_ms(latencies, 99));
      for (int fd : idle) ::close(fd);
    }
    {
      // Streams on jobs held pending behind bench.block; released once the
      // figures are read, so every stream should then see its job succeed.
      gateway_under_test g{opts, 1};
      std::vector<job_spec> specs(streams);
      for (auto& s : specs) s.kind = "bench.block";
      auto ids_path = scratch_path(opts, "sse-ids");
      {
        std::ofstream ids_out{ids_path};
        for (std::size_t i = 0; i < streams; i += 1000) {
          std::vector<job_spec> batch(specs.begin() + static_cast<std::ptrdiff_t>(i),
                                      specs.begin() + static_cast<std::ptrdiff_t>(std::min(streams, i + 1000)));
          auto ids = g.b.get().submit_batch(batch);
          if (!ids) throw std::runtime_error("sse: submit_batch: " + message_of(ids.error()));
          for (const auto& id : *ids) ids_out << id.to_string() << '\n';
        }
      }
      auto rss_before = rss_bytes();
      auto command = self_exe + " --sse-clients " + std::to_string(g.api->port()) + " --sse-ids " + ids_path;
      auto* child = ::popen(command.c_str(), "r");
      if (child == nullptr) throw std::runtime_error("sse: cannot start the client process");
      char line[128] = {0};
      std::size_t opened = 0;
      if (std::fgets(line, sizeof line, child) != nullptr) std::sscanf(line, "open %zu", &opened);
      if (opened != streams) {
        ::pclose(child);
        throw std::runtime_error("sse: only " + std::to_string(opened) + " of " + std::to_string(streams)
                                 + " streams opened");
      }
      sse_rss.samples.push_back(static_cast<double>(rss_bytes()) / (1024.0 * 1024.0));
      sse_threads.samples.push_back(static_cast<double>(threads_of_this_process()));
      auto latencies = open_loop_submits(g.api->port(), 1000, std::min(window, std::chrono::milliseconds(3000)));
      sse_p99.samples.push_back(percentile_ms(latencies, 99));
      g.b.track().release_blockers = true;
      std::size_t done = 0;
      if (std::fgets(line, sizeof line, child) != nullptr) std::sscanf(line, "done %zu", &done);
      ::pclose(child);
      std::filesystem::remove(ids_path);
      sse_done.samples.push_back(static_cast<double>(done));
      std::cerr << "sse-10k: " << streams << " streams, RSS " << rss_before / (1024 * 1024) << " MiB before, "
                << sse_rss.samples.back() << " MiB open; " << done << " saw their job succeed\n";
    }
  }
  std::vector<figure> out;
  if (have_wrk) {
    out.push_back(wrk_rate);
    out.push_back(wrk_p99);
  } else {
    std::cerr << "http-single-wrk: skipped, wrk is not installed (scripts/install-bench-deps.sh installs it)\n";
  }
  for (auto* f : {&open_p50, &open_p99, &open_p999, &idle_p99, &sse_rss, &sse_threads, &sse_p99, &sse_done})
    out.push_back(*f);
  return out;
}

} // namespace hypercore::bench
