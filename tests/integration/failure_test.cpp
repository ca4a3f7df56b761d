// SPDX-License-Identifier: Apache-2.0
// Retries, dead letters and replay, crashes, timeouts and shutdown.
#include "hypercore/persistence/job_tables.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;
using nlohmann::json;

TEST_CASE_METHOD(engine_fixture, "a flaky job is retried with backoff until it succeeds",
                 "[integration][retry]") {
  auto id = submit(spec("flaky", {{"fail_times", 2}}));

  auto view = wait_terminal(id);

  CHECK(view.record.status == job_status::succeeded);
  CHECK(view.record.attempts == 3);
  REQUIRE(view.record.errors.size() == 2);
  CHECK(view.record.errors[0].attempt == 1);
  CHECK(view.record.errors[1].retryable);
}

TEST_CASE_METHOD(engine_fixture, "a permanent error skips retries", "[integration][retry]") {
  auto id = submit(spec("flaky", {{"permanent", true}}));

  auto view = wait_terminal(id);

  CHECK(view.record.status == job_status::dead);
  CHECK(view.record.attempts == 1);
  REQUIRE(view.record.errors.size() == 1);
  CHECK_FALSE(view.record.errors[0].retryable);
}

TEST_CASE_METHOD(engine_fixture, "a job that exhausts its attempts is dead with its history and can be replayed",
                 "[integration][retry][dead]") {
  auto s = spec("flaky", {{"fail_times", 10}});
  s.max_attempts = 3;
  auto id = submit(s);

  auto dead = wait_terminal(id);
  REQUIRE(dead.record.status == job_status::dead);
  REQUIRE(dead.record.errors.size() == 3);
  CHECK(dead.record.errors.back().attempt == 3);

  auto listed = eng->dead_letters({"flaky", std::chrono::milliseconds(0), 10});
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().id == id);

  SECTION("by id: same id, history kept, fresh attempt count") {
    auto replayed = eng->replay(std::vector<job_id>{id});
    REQUIRE(replayed);
    REQUIRE(replayed->size() == 1);

    auto again = wait_terminal(id);

    CHECK(again.record.status == job_status::dead);
    CHECK(again.record.attempts == 3);
    CHECK(again.record.errors.size() == 6);
  }
  SECTION("by criteria: kind and limit") {
    auto none = eng->replay(dead_filter{"echo", std::chrono::milliseconds(0), 10});
    REQUIRE(none);
    CHECK(none->empty());

    auto some = eng->replay(dead_filter{"flaky", std::chrono::milliseconds(0), 10});
    REQUIRE(some);
    CHECK(some->size() == 1);
  }
}

TEST_CASE("an agent that crashes is restarted and goes on serving other jobs",
          "[integration][supervisor]") {
  engine_fixture f{1};
  auto bad = spec("crash", {{"crash", true}});
  bad.max_attempts = 2;
  auto crashed = f.submit(bad);
  auto fine = f.submit(spec("crash", {{"crash", false}, {"n", 7}}));

  auto crashed_view = f.wait_terminal(crashed);
  auto fine_view = f.wait_terminal(fine);

  CHECK(crashed_view.record.status == job_status::dead);
  REQUIRE(crashed_view.record.errors.size() == 2);
  CHECK(crashed_view.record.errors[0].message.find("crashed") != std::string::npos);
  CHECK(fine_view.record.status == job_status::succeeded);
  CHECK(f.eng->stats().restarts >= 2);
}

namespace {

class slow_agent : public agent {
public:
  std::string kind() const override { return "slow"; }
  agent_options options() const override {
    agent_options o;
    o.concurrency = 1;
    o.timeout = std::chrono::milliseconds(100);
    o.retry.base_ms = 1;
    return o;
  }
  agent_result handle(agent_context& ctx, const json& params) override {
    if (ctx.attempt() > params.value("slow_attempts", 100u)) return agent_result::ok({{"fast", true}});
    for (int i = 0; i < 500 && !ctx.stop_requested(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return agent_result::ok({{"late", true}});
  }
};

} // namespace

TEST_CASE("an attempt past its kind's timeout fails as retryable and its late result is ignored",
          "[integration][timeout]") {
  engine_fixture f{4, {}, [](engine& e) {
    REQUIRE_FALSE(e.register_agent([] { return std::make_unique<slow_agent>(); }));
  }};
  auto s = spec("slow", {{"slow_attempts", 1}});
  s.max_attempts = 3;

  auto view = f.wait_terminal(f.submit(s));

  CHECK(view.record.status == job_status::succeeded);
  CHECK(view.record.attempts == 2);
  REQUIRE(view.record.errors.size() == 1);
  CHECK(view.record.errors[0].message.find("timed out") != std::string::npos);
  CHECK(json::parse(*view.output) == json{{"fast", true}});
}

TEST_CASE("shutdown finishes running work and leaves the rest pending for the next start",
          "[integration][shutdown]") {
  temp_dir dir;
  std::vector<job_id> ids;
  {
    auto cfg = test_config(dir.str());
    engine e{cfg};
    for (auto& f : agents::builtin_agents(2)) REQUIRE_FALSE(e.register_agent(f));
    REQUIRE_FALSE(e.start());
    for (int i = 0; i < 20; ++i) ids.push_back(*e.submit(spec("sleep", {{"ms", 50}})));
    // Shutdown must find attempts running, or it would prove nothing.
    for (int i = 0; i < 2000 && e.stats().executing == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(e.stats().executing > 0);

    // A deadline far longer than the jobs: the running ones finish in it,
    // and shutdown goes on as soon as the pools say they are idle, not at
    // the deadline (the jobs take 50 ms).
    auto began = std::chrono::steady_clock::now();
    e.shutdown(std::chrono::seconds(10));
    auto took = std::chrono::steady_clock::now() - began;
    CHECK(took < std::chrono::seconds(5));

    auto refused = e.submit(spec("echo"));
    REQUIRE_FALSE(refused);
  }
  {
    // What shutdown left: every job finished or untouched, none cut.
    persistence::env_options opts;
    opts.dir = dir.str();
    opts.partitions = 4;
    auto env = persistence::lmdb_env::open(opts);
    REQUIRE(env);
    persistence::read_txn txn{**env};
    persistence::job_tables t{**env, txn.get()};
    std::size_t succeeded = 0, untouched = 0;
    t.scan_jobs([&](const job& j) {
      CHECK(j.errors.empty());
      if (j.status == job_status::succeeded) ++succeeded;
      else if (j.status == job_status::pending && j.attempts == 0) ++untouched;
      else FAIL("job left " << to_string(j.status) << " with " << j.attempts << " attempts");
      return true;
    });
    CHECK(succeeded >= 1);
    CHECK(succeeded + untouched == ids.size());
    CHECK(untouched > 0); // no attempt started after shutdown began
  }
  engine e{test_config(dir.str())};
  for (auto& f : agents::builtin_agents(8)) REQUIRE_FALSE(e.register_agent(f));
  REQUIRE_FALSE(e.start());

  for (auto& id : ids) {
    auto view = e.wait(id, std::chrono::seconds(30));
    REQUIRE(view);
    CHECK(view->record.status == job_status::succeeded);
    CHECK(view->record.attempts == 1);
  }
}

TEST_CASE_METHOD(engine_fixture, "a follow-up out of the submit bounds fails its parent and makes no job",
                 "[integration][chain][bounds]") {
  auto emit = [&](json followup) {
    auto s = spec("chain", {{"next", json::array({std::move(followup)})}});
    s.max_attempts = 3;
    return wait_terminal(submit(s));
  };

  auto wrapped = emit({{"kind", "echo"}, {"priority", 2147483653LL}});
  auto far = emit({{"kind", "echo"}, {"delay_ms", 1000000000000000ULL}});
  auto overflow = emit({{"kind", "echo"}, {"delay_ms", 9223372036854775807ULL}});
  auto high = emit({{"kind", "echo"}, {"priority", 1000001}});

  for (const auto* v : {&wrapped, &far, &overflow, &high}) {
    CHECK(v->record.status == job_status::dead);
    CHECK(v->record.attempts == 1); // a permanent refusal, not retried
    CHECK(v->record.followups.empty());
    REQUIRE(v->record.errors.size() == 1);
  }
  CHECK(wrapped.record.errors[0].message.find("priority") != std::string::npos);
  CHECK(far.record.errors[0].message.find("delay_ms") != std::string::npos);
  CHECK(overflow.record.errors[0].message.find("delay_ms") != std::string::npos);
  CHECK(high.record.errors[0].message.find("priority") != std::string::npos);
}

namespace {

class garbled_agent : public agent {
public:
  std::string kind() const override { return "garbled"; }
  agent_result handle(agent_context&, const json&) override {
    return agent_result::ok(json{{"text", "not utf-8: \xff"}});
  }
};

} // namespace

TEST_CASE("an agent's malformed output fails the attempt for good; other kinds keep running",
          "[integration][fault]") {
  engine_fixture f{2, {}, [](engine& e) {
    REQUIRE_FALSE(e.register_agent([] { return std::make_unique<garbled_agent>(); }));
  }};

  auto bad = f.wait_terminal(f.submit(spec("garbled")));
  auto fine = f.wait_terminal(f.submit(spec("echo", {{"n", 1}})));

  CHECK(bad.record.status == job_status::dead);
  REQUIRE(bad.record.errors.size() == 1);
  CHECK(bad.record.errors[0].message.find("not valid JSON") != std::string::npos);
  CHECK_FALSE(bad.output);
  CHECK(fine.record.status == job_status::succeeded);
}
