// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "hypercore/actors/partition_queue.hpp"

using namespace hypercore;

namespace {

job make(std::uint64_t seq, std::string key = {}, std::int32_t priority = 0,
         std::string kind = "echo") {
  job j;
  j.id = job_id::generate();
  j.seq = seq;
  j.partition_key = std::move(key);
  j.priority = priority;
  j.kind = std::move(kind);
  return j;
}

auto any_credit = [](const std::string&) { return true; };

} // namespace

TEST_CASE("ready jobs run by priority, then submit order", "[unit][actors][partition]") {
  partition_queue q{16};
  auto low = make(1);
  auto high = make(2, {}, 5);
  auto low2 = make(3);
  q.add(low, 0);
  q.add(high, 0);
  q.add(low2, 0);

  CHECK(q.take_next(any_credit) == high.id);
  CHECK(q.take_next(any_credit) == low.id);
  CHECK(q.take_next(any_credit) == low2.id);
  CHECK(q.take_next(any_credit) == std::nullopt);
}

TEST_CASE("a job waiting for its retry keeps its key busy", "[unit][actors][partition]") {
  partition_queue q{16};
  auto head = make(1, "k");
  q.add(head, 0);
  q.take_next(any_credit);
  q.mark_completing(head.id);

  q.schedule(head.id, 1000, 0);

  CHECK(q.key_busy("k"));
  CHECK(q.take_next(any_credit) == std::nullopt);
  q.promote_due(1000);
  CHECK(q.take_next(any_credit) == head.id);
  q.remove(head.id);
  CHECK_FALSE(q.key_busy("k"));
}

TEST_CASE("a kind without credit does not block other kinds", "[unit][actors][partition]") {
  partition_queue q{16};
  auto a = make(1, {}, 9, "slow");
  auto b = make(2, {}, 0, "fast");
  q.add(a, 0);
  q.add(b, 0);

  auto next = q.take_next([](const std::string& kind) { return kind != "slow"; });

  REQUIRE(next);
  CHECK(*next == b.id);
}

TEST_CASE("delayed jobs wait for their run time", "[unit][actors][partition]") {
  partition_queue q{16};
  auto later = make(1);
  later.run_at_ms = 500;
  q.add(later, 100);

  CHECK(q.take_next(any_credit) == std::nullopt);
  CHECK(q.promote_due(499) == std::optional<std::int64_t>{500});
  CHECK(q.promote_due(500) == std::nullopt);
  CHECK(q.take_next(any_credit) == later.id);
}

TEST_CASE("the window has a capacity and a job that was running is ready again",
          "[unit][actors][partition]") {
  partition_queue q{2};
  auto was_running = make(1);
  was_running.status = job_status::running;
  q.add(was_running, 0);
  q.add(make(2), 0);

  CHECK_FALSE(q.has_room());
  CHECK(q.ready_count() == 2);
  CHECK(q.state_of(was_running.id) == partition_queue::slot_state::ready);
  CHECK(q.running_job(was_running.id) == nullptr);
}

TEST_CASE("a waiting job keeps no params; a running one is held whole until it leaves",
          "[unit][actors][partition]") {
  partition_queue q{4};
  auto j = make(1, "k");
  j.params = R"({"text":")" + std::string(4096, 'x') + R"("})";
  q.add(j, 0);
  CHECK(q.running_job(j.id) == nullptr);

  auto taken = q.take_next(any_credit);
  REQUIRE(taken == j.id);
  q.hold(j.id, j);
  REQUIRE(q.running_job(j.id) != nullptr);
  CHECK(q.running_job(j.id)->params == j.params);

  // A retry lets the whole job go: the next start reads it again.
  q.mark_completing(j.id);
  q.schedule(j.id, 0, 0);
  CHECK(q.running_job(j.id) == nullptr);
  CHECK(q.key_busy("k"));
  REQUIRE(q.take_next(any_credit) == j.id);

  auto left = q.remove(j.id);
  REQUIRE(left);
  CHECK(left->partition_key == "k");
  CHECK(left->seq == 1);
  CHECK_FALSE(q.key_busy("k"));
  CHECK_FALSE(q.contains(j.id));
}

TEST_CASE("a job that could not start is ready again, in its place", "[unit][actors][partition]") {
  partition_queue q{4};
  auto first = make(1);
  auto second = make(2);
  q.add(first, 0);
  q.add(second, 0);
  REQUIRE(q.take_next(any_credit) == first.id);
  CHECK(q.running_count() == 1);

  q.requeue(first.id);

  CHECK(q.running_count() == 0);
  CHECK(q.take_next(any_credit) == first.id);
}
