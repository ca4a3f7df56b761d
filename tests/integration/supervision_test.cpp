// SPDX-License-Identifier: Apache-2.0
// Core actors killed inside a running engine are replaced; what they held
// is recovered from the store. Shutdown starts nothing, ends within its
// deadline, and is safe against calls from other threads.
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "hypercore/persistence/job_tables.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;
using nlohmann::json;

namespace {

template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

} // namespace

TEST_CASE("a partition that dies is replaced and its jobs run", "[integration][supervisor]") {
  engine_fixture f{4};
  std::vector<job_id> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(f.submit(spec("sleep", {{"ms", 2}}, "k" + std::to_string(i % 8))));

  for (std::uint16_t p = 0; p < 4; ++p) REQUIRE_FALSE(f.eng->kill_core_actor("partition-" + std::to_string(p)));
  for (int i = 0; i < 50; ++i) ids.push_back(f.submit(spec("echo", {{"i", i}})));

  for (const auto& id : ids) CHECK(f.wait_terminal(id).record.status == job_status::succeeded);
  CHECK(f.eng->stats().core_restarts == 4);
}

TEST_CASE("while the journal is replaced the engine is not ready and submits fail fast",
          "[integration][supervisor]") {
  engine_fixture f{2, [](engine_config& cfg) { cfg.journal_restart_delay = std::chrono::seconds(1); }};
  auto before = f.submit(spec("sleep", {{"ms", 300}}));

  REQUIRE_FALSE(f.eng->kill_core_actor("journal"));
  REQUIRE(eventually([&] { return !f.eng->ready(); }, std::chrono::seconds(1)));
  auto t0 = std::chrono::steady_clock::now();
  auto refused = f.eng->submit(spec("echo"));
  auto took = std::chrono::steady_clock::now() - t0;

  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == errc::unavailable);
  CHECK(took < std::chrono::milliseconds(500));
  CHECK(f.eng->not_ready_reason().find("journal") != std::string::npos);

  REQUIRE(eventually([&] { return f.eng->ready(); }));
  auto after = f.submit(spec("echo", {{"after", true}}));
  CHECK(f.wait_terminal(before).record.status == job_status::succeeded);
  CHECK(f.wait_terminal(after).record.status == job_status::succeeded);
}

TEST_CASE("the session store and the janitor are replaced when they die", "[integration][supervisor]") {
  engine_fixture f{1};
  auto created = f.eng->create_session({{"n", 1}}, std::chrono::seconds(60));
  REQUIRE(created);

  REQUIRE_FALSE(f.eng->kill_core_actor("sessions"));
  REQUIRE_FALSE(f.eng->kill_core_actor("janitor"));
  REQUIRE(eventually([&] { return f.eng->stats().core_restarts == 2; }));

  auto read = f.eng->session(*created);
  REQUIRE(read);
  CHECK(read->data == json{{"n", 1}});
  CHECK(f.eng->purge_expired());
  CHECK(code_of(f.eng->kill_core_actor("nobody")) == errc::not_found);
}

TEST_CASE("a feed that dies is replaced: new work, waits and on_transition go on, nothing is missed",
          "[integration][supervisor][feed]") {
  std::mutex mutex;
  std::set<job_id> terminal;
  engine_fixture f{4, [&](engine_config& cfg) {
    cfg.on_transition = [&](const job_id& id, job_status s) {
      if (!is_terminal(s)) return;
      std::lock_guard<std::mutex> guard{mutex};
      terminal.insert(id);
    };
  }};
  std::vector<job_id> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(f.submit(spec("sleep", {{"ms", 1}}, i % 2 ? "k" : "")));
  // A wait in progress while the feed dies.
  auto last = ids.back();
  auto waiting = std::async(std::launch::async, [&f, last] { return f.eng->wait(last, std::chrono::seconds(30)); });

  REQUIRE_FALSE(f.eng->kill_core_actor("feed"));
  REQUIRE(eventually([&] { return f.eng->stats().core_restarts == 1; }));
  for (int i = 0; i < 100; ++i) ids.push_back(f.submit(spec("echo", {{"i", i}}, i % 2 ? "k" : "")));

  for (const auto& id : ids) CHECK(f.wait_terminal(id).record.status == job_status::succeeded);
  auto waited = waiting.get();
  INFO((waited ? std::string{} : message_of(waited.error())));
  REQUIRE(waited);
  CHECK(waited->record.status == job_status::succeeded);
  // on_transition saw every job, including those finished while no feed ran.
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> guard{mutex};
    return terminal.size() == ids.size();
  }));
}

TEST_CASE("a kind's concurrency holds for the whole engine and only held attempts read running",
          "[integration][shutdown][concurrency]") {
  engine_fixture f{3};
  std::vector<job_id> ids;
  for (int i = 0; i < 30; ++i) ids.push_back(f.submit(spec("sleep", {{"ms", 30}})));

  std::uint64_t most_executing = 0;
  std::size_t most_running = 0;
  for (int round = 0; round < 40; ++round) {
    most_executing = std::max(most_executing, f.eng->stats().executing);
    std::size_t running = 0;
    for (const auto& id : ids)
      if (auto v = f.eng->get(id); v && v->record.status == job_status::running) ++running;
    most_running = std::max(most_running, running);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (const auto& id : ids) f.wait_terminal(id);

  CHECK(most_executing <= 3);
  // A start is journaled when an agent takes the attempt; the outcome may
  // trail by one commit, so one more per worker can still read running.
  CHECK(most_running <= 6);
}

TEST_CASE("no attempt starts once shutdown began, and it ends within its deadline",
          "[integration][shutdown]") {
  temp_dir dir;
  std::vector<job_id> ids;
  std::chrono::steady_clock::duration took{};
  {
    engine e{test_config(dir.str())};
    for (auto& f : agents::builtin_agents(2)) REQUIRE_FALSE(e.register_agent(f));
    REQUIRE_FALSE(e.start());
    for (int i = 0; i < 40; ++i) ids.push_back(*e.submit(spec("sleep", {{"ms", 200}})));
    REQUIRE(eventually([&] { return e.stats().executing == 2; }));

    auto t0 = std::chrono::steady_clock::now();
    e.shutdown(std::chrono::milliseconds(1000));
    took = std::chrono::steady_clock::now() - t0;
  }
  // Read the store itself: a started engine would run the jobs.
  persistence::env_options opts;
  opts.dir = dir.str();
  opts.partitions = 4;
  opts.exclusive = false;
  auto env = persistence::lmdb_env::open(opts);
  REQUIRE(env);
  persistence::read_txn txn{**env};
  persistence::job_tables t{**env, txn.get()};
  int started = 0;
  for (const auto& id : ids)
    if (auto j = t.get_job(id); j && j->attempts > 0) ++started;

  CHECK(took < std::chrono::milliseconds(2000));
  // The two attempts running when shutdown began (200 ms each, within the
  // deadline) and nothing after them.
  CHECK(started == 2);
}

TEST_CASE("an attempt still running at the deadline is recorded as interrupted at the next start",
          "[integration][shutdown]") {
  temp_dir dir;
  job_id id;
  {
    engine e{test_config(dir.str())};
    for (auto& f : agents::builtin_agents(1)) REQUIRE_FALSE(e.register_agent(f));
    REQUIRE_FALSE(e.start());
    // Longer than the deadline: asked to stop at the deadline, the sleep
    // agent returns a retryable error, or the process ends first and the
    // next start records the attempt as interrupted. Either way it counts
    // and leaves one entry.
    id = *e.submit(spec("sleep", {{"ms", 400}}));
    REQUIRE(eventually([&] { return e.stats().executing == 1; }));
    e.shutdown(std::chrono::milliseconds(50));
  }
  engine e{test_config(dir.str())};
  for (auto& f : agents::builtin_agents(1)) REQUIRE_FALSE(e.register_agent(f));
  REQUIRE_FALSE(e.start());

  auto view = e.wait(id, std::chrono::seconds(30));

  REQUIRE(view);
  CHECK(view->record.status == job_status::succeeded);
  // Attempt 1 was abandoned at the deadline: it counts, with its entry.
  CHECK(view->record.attempts == 2);
  REQUIRE(view->record.errors.size() == 1);
  CHECK(view->record.errors[0].attempt == 1);
}

TEST_CASE("shutdown is safe while other threads are inside the engine", "[integration][shutdown]") {
  engine_fixture f{2};
  std::atomic<bool> go{true};
  std::atomic<int> calls{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&] {
      while (go) {
        auto id = f.eng->submit(spec("echo"));
        if (id) (void)f.eng->get(*id);
        (void)f.eng->stats();
        ++calls;
      }
    });
  REQUIRE(eventually([&] { return calls > 100; }));

  std::thread other{[&] { f.eng->shutdown(std::chrono::milliseconds(200)); }};
  f.eng->shutdown(std::chrono::milliseconds(200));
  other.join();
  auto after = f.eng->submit(spec("echo"));
  go = false;
  for (auto& t : clients) t.join();

  REQUIRE_FALSE(after);
  CHECK(code_of(after.error()) == errc::not_running);
}

namespace {

// Holds the journal inside its next write transaction (through the
// inject_write_error seam) until released.
struct journal_hold {
  std::mutex m;
  std::condition_variable cv;
  bool armed = false;
  bool inside = false;

  int pass() {
    std::unique_lock<std::mutex> lock{m};
    if (!armed) return 0;
    inside = true;
    cv.notify_all();
    cv.wait(lock, [&] { return !armed; });
    return 0;
  }
  void arm() {
    std::lock_guard<std::mutex> guard{m};
    armed = true;
  }
  bool wait_inside() {
    std::unique_lock<std::mutex> lock{m};
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return inside; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> guard{m};
      armed = false;
    }
    cv.notify_all();
  }
};

} // namespace

TEST_CASE("submits the journal never wrote fail with unavailable when it dies, not at their timeout",
          "[integration][supervisor][submit]") {
  auto hold = std::make_shared<journal_hold>();
  engine_fixture f{2, [hold](engine_config& cfg) {
    cfg.request_timeout = std::chrono::seconds(60);
    cfg.inject_write_error = [hold] { return hold->pass(); };
  }};
  auto submit_async = [&] {
    return std::async(std::launch::async, [&] { return f.eng->submit(spec("echo")); });
  };
  hold->arm();
  auto written = submit_async();
  REQUIRE(hold->wait_inside());
  // Taken in by the journal while it is inside the first one's commit...
  auto queued = submit_async();
  REQUIRE(eventually([&] { return f.eng->submits_in_flight() == 2; }));
  REQUIRE_FALSE(f.eng->kill_core_actor("journal"));
  // ...and left in its mailbox behind the kill.
  auto dropped = submit_async();
  REQUIRE(eventually([&] { return f.eng->submits_in_flight() == 3; }));
  hold->release();
  auto first = written.get();
  auto second = queued.get();
  auto third = dropped.get();

  // The commit under way ends and is answered; what waited behind it was
  // never written, and its caller hears so when the journal ends (the
  // journal answers what it queued, the answerer what its mailbox held),
  // not from a 60 s timeout.
  REQUIRE(first);
  CHECK(f.wait_terminal(*first).record.status == job_status::succeeded);
  REQUIRE_FALSE(second);
  CHECK(code_of(second.error()) == errc::unavailable);
  REQUIRE_FALSE(third);
  CHECK(code_of(third.error()) == errc::unavailable);
  CHECK(f.eng->submits_in_flight() == 0);
  REQUIRE(eventually([&] { return f.eng->ready(); }));
  CHECK(f.eng->submit(spec("echo")));
}

TEST_CASE("a submit the journal does not answer in time fails with timeout; its late answer is dropped",
          "[integration][supervisor][submit]") {
  auto hold = std::make_shared<journal_hold>();
  engine_fixture f{2, [hold](engine_config& cfg) {
    cfg.request_timeout = std::chrono::milliseconds(300);
    cfg.inject_write_error = [hold] { return hold->pass(); };
  }};
  hold->arm();

  auto late = f.eng->submit(spec("echo"));

  REQUIRE_FALSE(late);
  CHECK(code_of(late.error()) == errc::timeout);
  CHECK(f.eng->submits_in_flight() == 0);
  hold->release();
  // The journal goes on: the next submit is answered.
  auto next = f.eng->submit(spec("echo"));
  REQUIRE(next);
  CHECK(f.wait_terminal(*next).record.status == job_status::succeeded);
}
