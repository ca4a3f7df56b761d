// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "hypercore/core/job_id.hpp"

using namespace hypercore;

TEST_CASE("job ids round-trip through their text form and sort by creation",
          "[unit][core][job_id]") {
  auto a = job_id::generate();
  auto b = job_id::generate();

  auto parsed = job_id::parse(a.to_string());

  REQUIRE(parsed);
  CHECK(*parsed == a);
  CHECK(a < b);
  CHECK(a.to_string().size() == 36);
}

TEST_CASE("malformed job ids are refused", "[unit][core][job_id]") {
  CHECK_FALSE(job_id::parse(""));
  CHECK_FALSE(job_id::parse("not-an-id"));
  CHECK_FALSE(job_id::parse("0190a5b2-0000-7000-8000-00000000000g"));
  CHECK_FALSE(job_id::parse("0190a5b2x0000-7000-8000-000000000000"));
  CHECK_FALSE(job_id::parse("00000000-0000-0000-0000-000000000000"));
}
