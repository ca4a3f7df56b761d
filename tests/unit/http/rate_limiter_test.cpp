// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "hypercore/http/rate_limiter.hpp"

using namespace hypercore::http;

TEST_CASE("a token bucket allows its burst, then refills at its rate", "[unit][http][rate]") {
  bucket_config cfg{10, 3};
  token_bucket b;

  CHECK(b.take(cfg, 0).allowed);
  CHECK(b.take(cfg, 0).allowed);
  CHECK(b.take(cfg, 0).allowed);
  auto refused = b.take(cfg, 0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after.count() == 100);
  CHECK(b.take(cfg, 100).allowed);
  CHECK_FALSE(b.take(cfg, 150).allowed);
}

TEST_CASE("session limits apply per session, kind limits per kind", "[unit][http][rate]") {
  rate_limiter limiter{{0, 0}, {1, 1}};

  CHECK(limiter.admit("echo", "s1", 0).allowed);
  CHECK_FALSE(limiter.admit("echo", "s1", 10).allowed);
  CHECK(limiter.admit("echo", "s2", 10).allowed);
  CHECK(limiter.admit("echo", "", 10).allowed);
}
