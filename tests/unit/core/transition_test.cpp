// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "hypercore/core/errc.hpp"
#include "hypercore/core/transition.hpp"

using namespace hypercore;

namespace {

job running_job(std::uint32_t attempt) {
  job j;
  j.id = job_id::generate();
  j.status = job_status::running;
  j.attempts = attempt;
  return j;
}

} // namespace

TEST_CASE("an outcome of an older attempt is refused", "[unit][core][transition]") {
  auto j = running_job(2);
  record_outcome late;
  late.attempt = 1;
  late.next = job_status::succeeded;

  auto err = apply_outcome(j, late);

  CHECK(code_of(err) == errc::invalid_transition);
  CHECK(j.status == job_status::running);
}

TEST_CASE("a terminal job accepts no further transition", "[unit][core][transition]") {
  auto j = running_job(1);
  record_outcome cancel;
  cancel.next = job_status::cancelled;
  REQUIRE_FALSE(apply_outcome(j, cancel));

  record_outcome success;
  success.attempt = 1;
  success.next = job_status::succeeded;

  CHECK(code_of(apply_outcome(j, success)) == errc::invalid_transition);
  CHECK(code_of(apply_start(j, {j.id, 2, 0})) == errc::invalid_transition);
  CHECK(j.status == job_status::cancelled);
}

TEST_CASE("a retry records the error and the next run time", "[unit][core][transition]") {
  auto j = running_job(1);
  record_outcome retry;
  retry.attempt = 1;
  retry.next = job_status::retrying;
  retry.error = {1, 10, "boom", true};
  retry.run_at_ms = 500;

  REQUIRE_FALSE(apply_outcome(j, retry));

  CHECK(j.status == job_status::retrying);
  CHECK(j.run_at_ms == 500);
  REQUIRE(j.errors.size() == 1);
  CHECK(j.errors[0].message == "boom");
}

TEST_CASE("only dead jobs can be replayed, with a fresh attempt count", "[unit][core][transition]") {
  auto j = running_job(3);
  CHECK(code_of(apply_replay(j, 0)) == errc::invalid_transition);
  j.status = job_status::dead;
  j.errors.push_back({3, 1, "x", true});

  REQUIRE_FALSE(apply_replay(j, 77));

  CHECK(j.status == job_status::pending);
  CHECK(j.attempts == 0);
  CHECK(j.errors.size() == 1);
  CHECK(j.run_at_ms == 77);
}

TEST_CASE("a start over an attempt still stored as running records that attempt as interrupted",
          "[unit][core][transition]") {
  auto j = running_job(1);

  REQUIRE_FALSE(apply_start(j, record_start{j.id, 2, 5000}));

  CHECK(j.attempts == 2);
  REQUIRE(j.errors.size() == 1);
  CHECK(j.errors[0].attempt == 1);
  CHECK(j.errors[0].at_ms == 5000);
  CHECK(j.errors[0].retryable);
  CHECK(j.errors[0].message == "attempt 1 interrupted: the process stopped during it");
}

TEST_CASE("a start after a recorded failure adds no interrupted entry", "[unit][core][transition]") {
  auto j = running_job(1);
  j.status = job_status::retrying;
  j.errors.push_back({1, 10, "boom", true});

  REQUIRE_FALSE(apply_start(j, record_start{j.id, 2, 20}));

  CHECK(j.errors.size() == 1);
}
