// SPDX-License-Identifier: Apache-2.0
// decide_outcome without actors: what a finished attempt leads to.
#include <catch2/catch.hpp>

#include "hypercore/actors/outcome.hpp"

using namespace hypercore;

namespace {

kind_catalog catalog_with(std::string kind) {
  kind_catalog c;
  kind_entry e;
  e.kind = kind;
  e.options.retry.base_ms = 100;
  c.kinds[kind] = e;
  return c;
}

job running_job(std::uint32_t attempt, std::uint32_t max_attempts) {
  job j;
  j.id = job_id::generate();
  j.kind = "echo";
  j.status = job_status::running;
  j.attempts = attempt;
  j.max_attempts = max_attempts;
  j.trace_id = "trace";
  return j;
}

job_finished finished(const job& j, bool ok, bool retryable = true) {
  job_finished f;
  f.id = j.id;
  f.attempt = j.attempts;
  f.ok = ok;
  f.output = ok ? R"({"done":true})" : "";
  f.error = ok ? "" : "boom";
  f.retryable = retryable;
  return f;
}

} // namespace

TEST_CASE("a success keeps its output, session change and admitted follow-ups", "[unit][outcome]") {
  auto catalog = catalog_with("echo");
  admission_limits limits;
  auto j = running_job(1, 5);
  auto f = finished(j, true);
  f.followups.push_back(job_spec{"echo", "{}", "", "", 0, 0, 0, ""});
  f.session_changed = true;
  f.session_data = R"({"n":1})";

  auto cmd = decide_outcome(j, f, {catalog, limits, false, 0.5, 1000});

  CHECK(cmd.next == job_status::succeeded);
  CHECK(cmd.at_ms == 1000);
  CHECK(cmd.output == R"({"done":true})");
  REQUIRE(cmd.followups.size() == 1);
  CHECK(cmd.followups[0].parent_id == j.id);
  CHECK(cmd.followups[0].trace_id == "trace");
  CHECK(cmd.followups[0].depth == 1);
  CHECK(cmd.session_changed);
  CHECK(cmd.error.attempt == 0);
}

TEST_CASE("a follow-up that no longer passes admission ends the job dead with the reason",
          "[unit][outcome]") {
  auto catalog = catalog_with("echo");
  admission_limits limits;
  auto j = running_job(1, 5);
  auto f = finished(j, true);
  f.followups.push_back(job_spec{"gone", "{}", "", "", 0, 0, 0, ""});

  auto cmd = decide_outcome(j, f, {catalog, limits, false, 0.5, 1000});

  CHECK(cmd.next == job_status::dead);
  CHECK(cmd.output.empty());
  CHECK(cmd.followups.empty());
  CHECK(cmd.error.attempt == 1);
  CHECK_FALSE(cmd.error.retryable);
  CHECK(cmd.error.message.find("gone") != std::string::npos);
}

TEST_CASE("a failure is retried by the kind's policy until attempts run out", "[unit][outcome]") {
  auto catalog = catalog_with("echo");
  admission_limits limits;
  auto first = running_job(1, 3);
  auto retried = decide_outcome(first, finished(first, false), {catalog, limits, false, 0.5, 1000});
  CHECK(retried.next == job_status::retrying);
  CHECK(retried.run_at_ms > 1000);
  CHECK(retried.error.attempt == 1);
  CHECK(retried.error.message == "boom");
  CHECK(retried.error.at_ms == 1000);

  auto last = running_job(3, 3);
  auto dead = decide_outcome(last, finished(last, false), {catalog, limits, false, 0.5, 1000});
  CHECK(dead.next == job_status::dead);
  CHECK(dead.error.attempt == 3);

  auto permanent = running_job(1, 3);
  auto refused = decide_outcome(permanent, finished(permanent, false, false),
                                {catalog, limits, false, 0.5, 1000});
  CHECK(refused.next == job_status::dead);
  CHECK_FALSE(refused.error.retryable);
}

TEST_CASE("the jitter draw moves the retry time, deterministically", "[unit][outcome]") {
  auto catalog = catalog_with("echo");
  admission_limits limits;
  auto j = running_job(2, 5);
  auto low = decide_outcome(j, finished(j, false), {catalog, limits, false, 0.0, 1000});
  auto high = decide_outcome(j, finished(j, false), {catalog, limits, false, 0.99, 1000});
  auto again = decide_outcome(j, finished(j, false), {catalog, limits, false, 0.99, 1000});
  CHECK(low.run_at_ms <= high.run_at_ms);
  CHECK(high.run_at_ms == again.run_at_ms);
}

TEST_CASE("a cancel requested during the attempt wins over any result", "[unit][outcome]") {
  auto catalog = catalog_with("echo");
  admission_limits limits;
  auto j = running_job(1, 5);
  for (bool ok : {true, false}) {
    auto cmd = decide_outcome(j, finished(j, ok), {catalog, limits, true, 0.5, 1000});
    CHECK(cmd.next == job_status::cancelled);
    CHECK(cmd.output.empty());
    CHECK(cmd.error.attempt == 0);
  }
}
