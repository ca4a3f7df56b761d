// SPDX-License-Identifier: Apache-2.0
// Workload 6: submits through the HTTP API (a real server on 127.0.0.1 and
// 32 keep-alive client connections in this process), single and batched.
#include <iostream>
#include <thread>

#include <httplib.h>

#include "bench_engine.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/http/gateway.hpp"
#include "workloads.hpp"

namespace hypercore::bench {

namespace {

struct http_sample {
  double jobs_per_s = 0;
  double p99_ms = 0;
  /// Jobs per second from the first submit until the last one is terminal:
  /// submits and their runs share the cores, so this is the figure to
  /// compare when one of them gets faster at the other's expense.
  double done_per_s = 0;
};

// `clients` threads post `requests` requests in total; each request carries
// `per_request` jobs. Rate counts jobs acknowledged (durable) per second,
// done_jobs_per_s the jobs that also ran to the end;
// latency is per request, from send to the 202.
http_sample post_load(const bench_options& opts, bool sync, std::size_t per_request) {
  bench_engine b{opts, sync};
  if (auto err = b.start()) throw std::runtime_error("start: " + message_of(err));
  http::gateway_options go;
  go.port = 0;
  http::gateway api{b.get(), go};
  if (auto err = api.start()) throw std::runtime_error("http: " + message_of(err));
  const std::size_t clients = 32;
  auto total_jobs = opts.smoke ? 500 : opts.jobs / 5;
  auto requests = std::max<std::size_t>(clients, total_jobs / per_request);
  std::string body;
  if (per_request == 1) {
    body = R"({"kind":"bench.noop","params":{}})";
  } else {
    body = R"({"jobs":[)";
    for (std::size_t i = 0; i < per_request; ++i)
      body += std::string{i ? "," : ""} + R"({"kind":"bench.noop","params":{}})";
    body += "]}";
  }
  auto path = per_request == 1 ? "/v1/jobs" : "/v1/jobs/batch";
  std::vector<std::vector<std::int64_t>> latencies(clients);
  std::atomic<std::size_t> failures{0};
  // Connections are opened (and kept) before the clock starts: httplib's
  // listen backlog is small, and a burst of 32 connects can be refused.
  std::atomic<std::size_t> connected{0};
  std::atomic<bool> start_line{false};
  clock_type::time_point t0;
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client client{"127.0.0.1", api.port()};
      client.set_read_timeout(60, 0);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      for (int tries = 0; tries < 50 && !client.Get("/health"); ++tries)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ++connected;
      while (!start_line) std::this_thread::yield();
      for (std::size_t i = c; i < requests; i += clients) {
        auto start = now_ns();
        auto res = client.Post(path, body, "application/json");
        if (!res || res->status != 202) {
          if (failures++ == 0)
            std::cerr << "http submit failed: "
                      << (res ? std::to_string(res->status) + " " + res->body : httplib::to_string(res.error()))
                      << '\n';
        }
        latencies[c].push_back(now_ns() - start);
      }
    });
  while (connected < clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  t0 = clock_type::now();
  start_line = true;
  for (auto& t : threads) t.join();
  std::chrono::duration<double> took = clock_type::now() - t0;
  if (failures > 0) throw std::runtime_error(std::to_string(failures.load()) + " HTTP submits failed");
  std::vector<std::int64_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  b.track().wait_terminal(requests * per_request, std::chrono::seconds(120));
  std::chrono::duration<double> until_done = clock_type::now() - t0;
  auto jobs = static_cast<double>(requests * per_request);
  return {jobs / took.count(), percentile_ms(all, 99), jobs / until_done.count()};
}

} // namespace

std::vector<figure> run_http(const bench_options& opts, bool sync) {
  figure single_rate{"hypercore", "http-single", sync, "jobs_per_s", {}};
  figure single_p99{"hypercore", "http-single", sync, "p99_ms", {}};
  figure batch_rate{"hypercore", "http-batch", sync, "jobs_per_s", {}};
  figure batch_p99{"hypercore", "http-batch", sync, "p99_ms", {}};
  figure single_done{"hypercore", "http-single", sync, "done_jobs_per_s", {}};
  figure batch_done{"hypercore", "http-batch", sync, "done_jobs_per_s", {}};
  for (std::size_t r = 0; r < opts.runs; ++r) {
    auto single = post_load(opts, sync, 1);
    single_rate.samples.push_back(single.jobs_per_s);
    single_p99.samples.push_back(single.p99_ms);
    single_done.samples.push_back(single.done_per_s);
    auto batch = post_load(opts, sync, 100);
    batch_rate.samples.push_back(batch.jobs_per_s);
    batch_p99.samples.push_back(batch.p99_ms);
    batch_done.samples.push_back(batch.done_per_s);
  }
  return {single_rate, single_p99, single_done, batch_rate, batch_p99, batch_done};
}

} // namespace hypercore::bench
