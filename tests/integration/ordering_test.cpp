// SPDX-License-Identifier: Apache-2.0
// Partition order: jobs of one key run one at a time in submit order; other
// keys and unkeyed jobs are not held up by them.
#include <map>
#include <mutex>

#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;
using nlohmann::json;

namespace {

/// Shared log of what the recorder agents saw, for assertions.
struct run_log {
  std::mutex mtx;
  std::map<std::string, std::vector<int>> started_per_key;
  std::map<std::string, int> running_per_key;
  int overlaps = 0;
  int running_unkeyed = 0;
  int max_unkeyed = 0;
};

/// Records (key, n) at start, sleeps a random few ms, records the end.
class recorder : public agent {
public:
  explicit recorder(std::shared_ptr<run_log> log) : log_(std::move(log)) {}
  std::string kind() const override { return "recorder"; }
  agent_options options() const override {
    agent_options o;
    o.concurrency = 16;
    return o;
  }
  agent_result handle(agent_context&, const json& params) override {
    auto key = params.value("key", std::string{});
    {
      std::lock_guard<std::mutex> guard{log_->mtx};
      if (key.empty()) {
        log_->max_unkeyed = std::max(log_->max_unkeyed, ++log_->running_unkeyed);
      } else {
        if (log_->running_per_key[key]++ > 0) ++log_->overlaps;
        log_->started_per_key[key].push_back(params.value("n", -1));
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(params.value("sleep_us", 0)));
    std::lock_guard<std::mutex> guard{log_->mtx};
    if (key.empty()) --log_->running_unkeyed;
    else --log_->running_per_key[key];
    return agent_result::ok(json::object());
  }

private:
  std::shared_ptr<run_log> log_;
};

} // namespace

TEST_CASE("1,000 jobs over 10 keys run in submit order per key while unkeyed jobs run "
          "concurrently",
          "[integration][ordering]") {
  auto log = std::make_shared<run_log>();
  engine_fixture f{4, [](engine_config& c) { c.partitions = 8; }, [log](engine& e) {
    REQUIRE_FALSE(e.register_agent([log] { return std::make_unique<recorder>(log); }));
  }};
  std::mt19937 rng{42};
  std::uniform_int_distribution<int> sleep_us{0, 2000};
  std::vector<job_id> ids;
  std::map<std::string, std::vector<int>> submitted;

  for (int n = 0; n < 1000; ++n) {
    auto key = "key-" + std::to_string(n % 10);
    submitted[key].push_back(n);
    ids.push_back(f.submit(spec("recorder", {{"key", key}, {"n", n}, {"sleep_us", sleep_us(rng)}}, key)));
  }
  std::vector<job_spec> unkeyed;
  for (int n = 0; n < 64; ++n) unkeyed.push_back(spec("recorder", {{"sleep_us", 20000}}));
  auto more = f.eng->submit_batch(unkeyed);
  REQUIRE(more);
  ids.insert(ids.end(), more->begin(), more->end());
  for (auto& id : ids) CHECK(f.wait_terminal(id).record.status == job_status::succeeded);

  std::lock_guard<std::mutex> guard{log->mtx};
  CHECK(log->overlaps == 0);
  CHECK(log->started_per_key == submitted);
  CHECK(log->max_unkeyed > 1);
}

TEST_CASE("a job waiting for its retry holds its key but not other keys",
          "[integration][ordering][retry]") {
  engine_fixture f;
  // Four retries: the flaky kind's backoff has full jitter from a 10 ms
  // base, so with two the retries could take under a millisecond in all and
  // the other key's job finish "after" them (seen once in about 40 runs).
  auto flaky = spec("flaky", {{"fail_times", 4}}, "account-1");
  auto first = f.submit(flaky);
  auto behind = f.submit(spec("echo", {{"n", 2}}, "account-1"));
  auto other = f.submit(spec("echo", {{"n", 3}}, "account-2"));

  auto other_view = f.wait_terminal(other);
  auto behind_view = f.wait_terminal(behind);
  auto first_view = f.wait_terminal(first);

  CHECK(first_view.record.attempts == 5);
  CHECK(behind_view.record.created_at_ms >= first_view.record.created_at_ms);
  // The job behind the retrying one started only after it finished.
  CHECK(behind_view.record.updated_at_ms >= first_view.record.finished_at_ms);
  // The other key did not wait for the retries.
  CHECK(other_view.record.finished_at_ms <= first_view.record.finished_at_ms);
}

TEST_CASE("higher priority runs first among jobs with no order between them",
          "[integration][ordering][priority]") {
  // One partition and one echo worker, so jobs run one at a time and finish
  // in the order they were started; on_transition records that order.
  auto order = std::make_shared<std::vector<job_id>>();
  auto mtx = std::make_shared<std::mutex>();
  engine_fixture f{1, [order, mtx](engine_config& c) {
    c.partitions = 1;
    c.on_transition = [order, mtx](const job_id& id, job_status s) {
      if (!is_terminal(s)) return;
      std::lock_guard<std::mutex> guard{*mtx};
      order->push_back(id);
    };
  }};
  // A shared delay makes all five ready at the same instant, lowest priority
  // submitted first.
  std::vector<job_spec> batch;
  for (int p = 0; p < 5; ++p) {
    auto s = spec("echo", {{"p", p}});
    s.priority = p;
    s.delay_ms = 200;
    batch.push_back(s);
  }
  auto ids = f.eng->submit_batch(batch);
  REQUIRE(ids);

  for (auto& id : *ids) f.wait_terminal(id);

  std::lock_guard<std::mutex> guard{*mtx};
  std::vector<job_id> by_priority(ids->rbegin(), ids->rend());
  CHECK(*order == by_priority);
}

TEST_CASE("delayed and retrying unkeyed jobs wait outside the window and starve nothing",
          "[integration][ordering][delay]") {
  engine_fixture f{4, [](engine_config& c) {
    c.partitions = 1;
    c.partition_window = 8;
  }};
  std::vector<job_spec> later(100, spec("echo"));
  for (auto& s : later) s.delay_ms = 3'600'000;
  REQUIRE(f.eng->submit_batch(later));
  std::vector<job_id> retrying;
  for (int i = 0; i < 20; ++i) {
    auto s = spec("flaky", {{"fail_times", 1}});
    retrying.push_back(f.submit(s));
  }

  auto now = f.wait_terminal(f.submit(spec("echo", {{"now", true}})), std::chrono::seconds(10));
  for (auto& id : retrying) CHECK(f.wait_terminal(id).record.attempts == 2);

  CHECK(now.record.status == job_status::succeeded);
  CHECK(f.eng->stats().resident == 0);
}

TEST_CASE("a short delay is honoured", "[integration][delay]") {
  engine_fixture f;
  auto s = spec("echo");
  s.delay_ms = 150;

  auto view = f.wait_terminal(f.submit(s));

  CHECK(view.record.finished_at_ms - view.record.created_at_ms >= 150);
}

TEST_CASE("a delayed unkeyed job due after a keyed one's timer still runs",
          "[integration][delay]") {
  // One partition: the keyed job's timer (100 ms) is armed first; the
  // unkeyed job's later run_at (300 ms) must get a timer when that fires.
  engine_fixture f{2, [](engine_config& cfg) { cfg.partitions = 1; }};
  auto keyed = spec("echo", {{"keyed", true}}, "k");
  keyed.delay_ms = 100;
  auto unkeyed = spec("echo", {{"keyed", false}});
  unkeyed.delay_ms = 300;

  auto first = f.submit(keyed);
  auto second = f.submit(unkeyed);

  CHECK(f.wait_terminal(first, std::chrono::seconds(10)).record.status == job_status::succeeded);
  CHECK(f.wait_terminal(second, std::chrono::seconds(10)).record.status == job_status::succeeded);
}
