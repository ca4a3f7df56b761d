// SPDX-License-Identifier: Apache-2.0
// The agent pool's timeout, on CAF's deterministic scheduler: time only moves
// when the test says so, and the test decides which actor runs when.
#include <catch2/catch.hpp>

#include <caf/abstract_actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "hypercore/actors/agent_pool.hpp"
#include "hypercore/core/messages.hpp"

using namespace hypercore;

namespace {

struct testing_config : caf::actor_system_config {
  testing_config() {
    set("scheduler.policy", caf::atom("testing"));
    register_message_types(*this);
  }
};

struct probe_counts {
  int calls = 0;
};

// Answers at once; whether it is "slow" is decided by when the test lets
// its worker run.
class probe_agent : public agent {
public:
  explicit probe_agent(std::shared_ptr<probe_counts> c) : counts_(std::move(c)) {}
  std::string kind() const override { return "probe"; }
  agent_options options() const override {
    agent_options o;
    o.concurrency = 1;
    o.blocking = false; // scheduled, so the test coordinator runs it
    o.timeout = std::chrono::milliseconds(100);
    return o;
  }
  agent_result handle(agent_context&, const nlohmann::json&) override {
    ++counts_->calls;
    return agent_result::ok({{"late", false}});
  }

private:
  std::shared_ptr<probe_counts> counts_;
};

run_job attempt(std::uint32_t n) {
  run_job cmd;
  cmd.j.id = job_id::generate();
  cmd.j.kind = "probe";
  cmd.j.params = "{}";
  cmd.j.attempts = n;
  return cmd;
}

} // namespace

TEST_CASE("a timed-out attempt fails as retryable, its worker is replaced, and its late "
          "result is dropped",
          "[unit][actors][timeout]") {
  testing_config cfg;
  caf::actor_system sys{cfg};
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  auto counts = std::make_shared<probe_counts>();
  auto catalog = std::make_shared<kind_catalog>();
  kind_entry entry;
  entry.kind = "probe";
  entry.factory = [counts] { return std::make_unique<probe_agent>(counts); };
  entry.options = probe_agent{counts}.options();
  catalog->kinds["probe"] = entry;
  auto pool = spawn_agent_pool(sys, catalog, "probe", admission_limits{});
  auto replies = std::make_shared<std::vector<job_finished>>();
  auto client = sys.spawn([pool, replies](caf::event_based_actor* self) {
    self->request(pool, caf::infinite, attempt(1)).then([replies](job_finished& f) {
      replies->push_back(f);
    });
  });
  auto* pool_ptr = caf::actor_cast<caf::abstract_actor*>(pool);
  auto* client_ptr = caf::actor_cast<caf::abstract_actor*>(client);
  auto pool_or_client = [&](caf::resumable* job) {
    auto* actor = dynamic_cast<caf::abstract_actor*>(job);
    return actor == pool_ptr || actor == client_ptr;
  };

  // The pool hands the attempt to its worker, which the test keeps waiting.
  sched.run_jobs_filtered(pool_or_client);
  REQUIRE(replies->empty());
  sched.advance_time(std::chrono::milliseconds(150));
  sched.run_jobs_filtered(pool_or_client);

  REQUIRE(replies->size() == 1);
  CHECK_FALSE(replies->front().ok);
  CHECK(replies->front().retryable);
  CHECK(replies->front().error.find("timed out") != std::string::npos);

  // Now the old worker runs: its answer comes too late and is dropped.
  sched.run();
  CHECK(replies->size() == 1);

  // The replacement worker serves the next attempt.
  sys.spawn([pool, replies](caf::event_based_actor* self) {
    self->request(pool, caf::infinite, attempt(2)).then([replies](job_finished& f) {
      replies->push_back(f);
    });
  });
  sched.run();
  REQUIRE(replies->size() == 2);
  CHECK(replies->back().ok);
  CHECK(replies->back().attempt == 2);
  caf::anon_send_exit(pool, caf::exit_reason::kill);
  sched.run();
}
