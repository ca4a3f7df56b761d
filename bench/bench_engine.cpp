// SPDX-License-Identifier: Apache-2.0
#include "bench_engine.hpp"

#include <random>

#include "hypercore/core/errc.hpp"

namespace hypercore::bench {

namespace {

using nlohmann::json;

// Does nothing; when params carry t0 (ns), records the job for latency.
class noop_agent : public agent {
public:
  noop_agent(std::shared_ptr<tracker> t, std::uint32_t c) : t_(std::move(t)), c_(c) {}
  std::string kind() const override { return "bench.noop"; }
  agent_options options() const override {
    agent_options o;
    o.concurrency = c_;
    o.blocking = false;
    return o;
  }
  agent_result handle(agent_context& ctx, const json& params) override {
    std::int64_t zero = 0;
    t_->first_run_ns.compare_exchange_strong(zero, now_ns());
    if (auto t0 = params.find("t0"); t0 != params.end()) {
      std::lock_guard<std::mutex> guard{t_->mtx};
      t_->started_at.emplace(ctx.current().id, t0->get<std::int64_t>());
    }
    return agent_result::ok(json::object());
  }

private:
  std::shared_ptr<tracker> t_;
  std::uint32_t c_;
};

// One step of a chain: emits the next step while params.left > 1; the last
// step records the chain's start time for end-to-end latency.
class step_agent : public agent {
public:
  step_agent(std::shared_ptr<tracker> t, std::uint32_t c) : t_(std::move(t)), c_(c) {}
  std::string kind() const override { return "bench.step"; }
  agent_options options() const override {
    agent_options o;
    o.concurrency = c_;
    o.blocking = false;
    return o;
  }
  agent_result handle(agent_context& ctx, const json& params) override {
    auto left = params.value("left", 1);
    auto t0 = params.value("t0", std::int64_t{0});
    if (left > 1) {
      job_spec next;
      next.kind = "bench.step";
      next.params = json{{"left", left - 1}, {"t0", t0}}.dump();
      ctx.emit(std::move(next));
    } else {
      std::lock_guard<std::mutex> guard{t_->mtx};
      t_->started_at.emplace(ctx.current().id, t0);
    }
    return agent_result::ok(json::object());
  }

private:
  std::shared_ptr<tracker> t_;
  std::uint32_t c_;
};

// Holds its worker until released: keeps other jobs pending in memory.
class block_agent : public agent {
public:
  explicit block_agent(std::shared_ptr<tracker> t) : t_(std::move(t)) {}
  std::string kind() const override { return "bench.block"; }
  agent_options options() const override {
    agent_options o;
    o.concurrency = 1;
    o.timeout = std::chrono::minutes(10);
    return o;
  }
  agent_result handle(agent_context& ctx, const json&) override {
    while (!t_->release_blockers && !ctx.stop_requested())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return agent_result::ok(json::object());
  }

private:
  std::shared_ptr<tracker> t_;
};

} // namespace

void tracker::on_transition(const job_id& id, job_status status) {
  if (!is_terminal(status)) return;
  auto now = now_ns();
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (auto it = started_at.find(id); it != started_at.end()) {
      latencies_ns.push_back(now - it->second);
      started_at.erase(it);
    }
  }
  terminal.fetch_add(1, std::memory_order_relaxed);
  cv.notify_all();
}

bool tracker::wait_terminal(std::uint64_t count, std::chrono::seconds timeout) {
  std::unique_lock<std::mutex> guard{mtx};
  return cv.wait_for(guard, timeout, [&] { return terminal.load() >= count; });
}

std::string scratch_path(const bench_options& opts, const std::string& tag) {
  std::random_device rd;
  return (std::filesystem::path{opts.scratch_dir}
          / ("hypercore-bench-" + tag + "-" + std::to_string(rd())))
    .string();
}

bench_engine::bench_engine(const bench_options& opts, bool sync, std::uint16_t partitions,
                           std::size_t window, std::uint32_t concurrency, bool keep_dir,
                           std::string dir)
  : dir_(dir.empty() ? scratch_path(opts, "run") : std::move(dir)), keep_dir_(keep_dir),
    tracker_(std::make_shared<tracker>()) {
  engine_config cfg;
  cfg.data_dir = dir_;
  cfg.sync = sync;
  cfg.partitions = partitions;
  cfg.partition_window = window;
  cfg.initial_map_bytes = std::size_t{1} << 30;
  cfg.event_log_capacity = opts.event_log_capacity;
  cfg.preallocate_bytes = opts.preallocate_mb << 20;
  auto t = tracker_;
  cfg.on_transition = [t](const job_id& id, job_status s) { t->on_transition(id, s); };
  engine_ = std::make_unique<engine>(cfg);
  engine_->register_agent([t, concurrency] { return std::make_unique<noop_agent>(t, concurrency); });
  engine_->register_agent([t, concurrency] { return std::make_unique<step_agent>(t, concurrency); });
  engine_->register_agent([t] { return std::make_unique<block_agent>(t); });
}

caf::error bench_engine::start() { return engine_->start(); }

bench_engine::~bench_engine() {
  tracker_->release_blockers = true;
  engine_->shutdown(std::chrono::seconds(5));
  engine_.reset();
  if (!keep_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

} // namespace hypercore::bench
