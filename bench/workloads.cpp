// SPDX-License-Identifier: Apache-2.0
// Hypercore's workloads: throughput, latency at an offered load, chains,
// recovery with a large backlog, and memory per pending job.
#include "workloads.hpp"

#include <iostream>

#include <sys/resource.h>
#include <thread>

#include "bench_engine.hpp"
#include "hypercore/telemetry/job_metrics.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/core/routing.hpp"
#include "hypercore/persistence/job_tables.hpp"

namespace hypercore::bench {

namespace {

using nlohmann::json;

job_spec noop(json params = json::object(), std::string key = {}) {
  job_spec s;
  s.kind = "bench.noop";
  s.params = params.dump();
  s.partition_key = std::move(key);
  return s;
}

void require(const caf::error& err, const char* what) {
  if (err) throw std::runtime_error(std::string{what} + ": " + message_of(err));
}

// jobs/s from the first submit to the last durable completion; with
// `metrics`, GET /metrics' job counters follow the feed meanwhile.
double process_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double batch_throughput(const bench_options& opts, bool sync, std::size_t keys,
                        bool metrics = false, double* cpu_share = nullptr) {
  bench_engine b{opts, sync};
  require(b.start(), "start");
  std::optional<telemetry::job_metrics> meter;
  if (metrics) {
    meter.emplace(b.get());
    require(meter->start(), "metrics");
  }
  auto cpu_before = process_cpu_seconds();
  const std::size_t batch_size = 1000;
  auto t0 = clock_type::now();
  for (std::size_t i = 0; i < opts.jobs; i += batch_size) {
    std::vector<job_spec> batch;
    batch.reserve(batch_size);
    for (std::size_t j = i; j < std::min(opts.jobs, i + batch_size); ++j)
      batch.push_back(noop({}, keys == 0 ? std::string{} : "key-" + std::to_string(j % keys)));
    auto ids = b.get().submit_batch(batch);
    if (!ids) require(ids.error(), "submit_batch");
  }
  if (!b.track().wait_terminal(opts.jobs, std::chrono::seconds(600)))
    throw std::runtime_error("throughput run did not finish");
  std::chrono::duration<double> took = clock_type::now() - t0;
  if (meter && cpu_share != nullptr) {
    // Counting finishes a moment after the last job: wait for it.
    meter->wait_seen(b.get().feed_position(), std::chrono::seconds(30));
    *cpu_share = meter->cpu_seconds() / std::max(1e-9, process_cpu_seconds() - cpu_before);
  }
  return static_cast<double>(opts.jobs) / took.count();
}

// One job per submit call, from 32 client threads, so group commit has
// concurrent submits to gather.
double single_throughput(const bench_options& opts, bool sync) {
  bench_engine b{opts, sync};
  require(b.start(), "start");
  const std::size_t clients = 32;
  auto total = std::max<std::size_t>(opts.jobs / 5, clients);
  auto t0 = clock_type::now();
  std::vector<std::thread> threads;
  std::atomic<bool> failed{false};
  for (std::size_t c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      for (std::size_t i = c; i < total; i += clients)
        if (!b.get().submit(noop())) failed = true;
    });
  for (auto& t : threads) t.join();
  if (failed) throw std::runtime_error("a single submit failed");
  if (!b.track().wait_terminal(total, std::chrono::seconds(600)))
    throw std::runtime_error("single-submit run did not finish");
  std::chrono::duration<double> took = clock_type::now() - t0;
  return static_cast<double>(total) / took.count();
}

struct latency_sample {
  double p50 = 0, p99 = 0, p999 = 0;
};

// Offers `rate` jobs/s for the window from 32 client threads on an absolute
// schedule; latency runs from the scheduled send time to the durable
// completion, so a stalled submit is charged to the system (no coordinated
// omission).
latency_sample offered_latency(const bench_options& opts, bool sync, std::size_t rate) {
  bench_engine b{opts, sync};
  require(b.start(), "start");
  const std::size_t clients = 32;
  auto total = static_cast<std::size_t>(rate * opts.latency_window.count());
  auto interval_ns = 1'000'000'000LL / static_cast<std::int64_t>(rate);
  auto start_ns = now_ns() + 10'000'000;
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      for (std::size_t i = c; i < total; i += clients) {
        auto due = start_ns + static_cast<std::int64_t>(i) * interval_ns;
        auto wait = due - now_ns();
        if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
        (void) b.get().submit(noop({{"t0", due}}));
      }
    });
  for (auto& t : threads) t.join();
  b.track().wait_terminal(total, std::chrono::seconds(120));
  std::vector<std::int64_t> lat;
  {
    std::lock_guard<std::mutex> guard{b.track().mtx};
    lat = b.track().latencies_ns;
  }
  return {percentile_ms(lat, 50), percentile_ms(lat, 99), percentile_ms(lat, 99.9)};
}

figure make_figure(std::string workload, bool durable, std::string metric) {
  return {"hypercore", std::move(workload), durable, std::move(metric), {}};
}

} // namespace

std::vector<figure> run_throughput(const bench_options& opts, bool sync) {
  auto batch = make_figure("throughput-batch", sync, "jobs_per_s");
  auto single = make_figure("throughput-single", sync, "jobs_per_s");
  auto keyed = make_figure("throughput-keyed", sync, "jobs_per_s");
  // Beside throughput-batch in every run, so their ratio is the metrics' cost.
  auto metered = make_figure("throughput-batch-metrics", sync, "jobs_per_s");
  // The counting thread's CPU over the process' CPU in that run: what the
  // metrics cost, free of the run-to-run noise of the rates.
  auto share = make_figure("throughput-batch-metrics", sync, "metrics_cpu_share");
  for (std::size_t r = 0; r < opts.runs; ++r) {
    batch.samples.push_back(batch_throughput(opts, sync, 0));
    double cpu_share = 0;
    metered.samples.push_back(batch_throughput(opts, sync, 0, true, &cpu_share));
    share.samples.push_back(cpu_share);
    single.samples.push_back(single_throughput(opts, sync));
    keyed.samples.push_back(batch_throughput(opts, sync, 1000));
  }
  return {batch, single, keyed, metered, share};
}

std::vector<figure> run_latency(const bench_options& opts, bool sync) {
  std::vector<figure> out;
  for (auto [name, rate] : {std::pair{"latency-1k", 1000}, std::pair{"latency-10k", 10000}}) {
    auto p50 = make_figure(name, sync, "p50_ms");
    auto p99 = make_figure(name, sync, "p99_ms");
    auto p999 = make_figure(name, sync, "p999_ms");
    for (std::size_t r = 0; r < opts.runs; ++r) {
      auto s = offered_latency(opts, sync, opts.smoke ? static_cast<std::size_t>(rate) / 10 : rate);
      p50.samples.push_back(s.p50);
      p99.samples.push_back(s.p99);
      p999.samples.push_back(s.p999);
    }
    out.insert(out.end(), {p50, p99, p999});
  }
  return out;
}

std::vector<figure> run_chains(const bench_options& opts, bool sync) {
  auto rate = make_figure("chain3", sync, "chains_per_s");
  auto p50 = make_figure("chain3", sync, "p50_ms");
  auto p99 = make_figure("chain3", sync, "p99_ms");
  for (std::size_t r = 0; r < opts.runs; ++r) {
    bench_engine b{opts, sync};
    require(b.start(), "start");
    auto t0 = clock_type::now();
    for (std::size_t i = 0; i < opts.chains; i += 500) {
      std::vector<job_spec> batch;
      for (std::size_t j = i; j < std::min(opts.chains, i + 500); ++j) {
        job_spec s;
        s.kind = "bench.step";
        s.params = json{{"left", 3}, {"t0", now_ns()}}.dump();
        batch.push_back(std::move(s));
      }
      auto ids = b.get().submit_batch(batch);
      if (!ids) require(ids.error(), "submit_batch");
    }
    if (!b.track().wait_terminal(opts.chains * 3, std::chrono::seconds(600)))
      throw std::runtime_error("chain run did not finish");
    std::chrono::duration<double> took = clock_type::now() - t0;
    rate.samples.push_back(static_cast<double>(opts.chains) / took.count());
    std::lock_guard<std::mutex> guard{b.track().mtx};
    p50.samples.push_back(percentile_ms(b.track().latencies_ns, 50));
    p99.samples.push_back(percentile_ms(b.track().latencies_ns, 99));
  }
  return {rate, p50, p99};
}

std::vector<figure> run_recovery(const bench_options& opts) {
  auto first = make_figure("recovery-1m", true, "first_job_ms");
  auto ready = make_figure("recovery-1m", true, "ready_ms");
  for (std::size_t r = 0; r < opts.runs; ++r) {
    auto dir = scratch_path(opts, "recovery");
    {
      // The backlog a crashed process would leave: written straight to the
      // store (without fsync, to save time; it is set-up, not measured).
      persistence::env_options eo;
      eo.dir = dir;
      eo.map_bytes = std::size_t{4} << 30;
      eo.sync = false;
      auto env = persistence::lmdb_env::open(eo);
      if (!env) require(env.error(), "open");
      std::vector<std::uint64_t> seq(8, 0);
      MDB_txn* txn = nullptr;
      mdb_txn_begin((*env)->raw(), nullptr, 0, &txn);
      persistence::job_tables t{**env, txn};
      for (std::size_t i = 0; i < opts.recovery_jobs; ++i) {
        job j;
        j.id = job_id::generate();
        j.kind = "bench.noop";
        j.params = "{}";
        j.trace_id = j.id.to_string();
        j.max_attempts = 5;
        j.partition = partition_for("", j.id, 8);
        j.seq = ++seq[j.partition];
        t.put_job(j);
        t.index_active(j, 0);
      }
      if (mdb_txn_commit(txn) != 0) throw std::runtime_error("backlog commit failed");
      mdb_env_sync((*env)->raw(), 1);
    }
    bench_engine b{opts, true, 8, 1024, 8, false, dir};
    auto t0 = now_ns();
    require(b.start(), "start");
    auto started = now_ns();
    while (b.track().first_run_ns.load() == 0 && now_ns() - t0 < 30'000'000'000LL)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    ready.samples.push_back(static_cast<double>(started - t0) / 1e6);
    first.samples.push_back(static_cast<double>(b.track().first_run_ns.load() - t0) / 1e6);
  }
  return {first, ready};
}

std::vector<figure> run_memory(const bench_options& opts) {
  auto per_job = make_figure("memory", true, "bytes_per_pending_job");
  auto heap_per_job = make_figure("memory", true, "heap_bytes_per_pending_job");
  for (std::size_t r = 0; r < opts.runs; ++r) {
    const std::uint16_t partitions = 8;
    const std::size_t window = opts.smoke ? 256 : 4096;
    bench_engine b{opts, true, partitions, window, 1};
    require(b.start(), "start");
    // One blocker per partition holds the kind's only credit there, so every
    // other job stays pending in memory.
    std::vector<job_spec> blockers;
    for (int i = 0; i < 64; ++i) {
      job_spec s;
      s.kind = "bench.block";
      blockers.push_back(s);
    }
    auto before = anon_rss_bytes();
    auto heap_before = heap_bytes_in_use();
    std::size_t target = partitions * window;
    for (std::size_t i = 0; i < target; i += 1000) {
      std::vector<job_spec> batch(std::min<std::size_t>(1000, target - i), blockers.front());
      if (auto ids = b.get().submit_batch(batch); !ids) require(ids.error(), "submit_batch");
    }
    std::size_t resident = 0;
    for (int tries = 0; tries < 2000; ++tries) {
      resident = b.get().stats().resident;
      if (resident >= target * 9 / 10) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    auto after = anon_rss_bytes();
    auto heap_after = heap_bytes_in_use();
    // Signed: the heap can shrink between the two readings.
    auto grown = static_cast<double>(after) - static_cast<double>(before);
    per_job.samples.push_back(resident == 0 ? 0.0 : std::max(0.0, grown) / static_cast<double>(resident));
    auto heap_grown = static_cast<double>(heap_after) - static_cast<double>(heap_before);
    heap_per_job.samples.push_back(resident == 0 ? 0.0 : std::max(0.0, heap_grown) / static_cast<double>(resident));
  }
  return {per_job, heap_per_job};
}

} // namespace hypercore::bench
