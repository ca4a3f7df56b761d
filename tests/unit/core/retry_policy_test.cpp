// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "hypercore/core/retry_policy.hpp"

using namespace hypercore;

TEST_CASE("backoff grows exponentially up to the cap", "[unit][core][retry]") {
  retry_policy p; // 100 ms, x2, 30 s cap

  CHECK(backoff_ceiling_ms(p, 1) == 100);
  CHECK(backoff_ceiling_ms(p, 2) == 200);
  CHECK(backoff_ceiling_ms(p, 5) == 1600);
  CHECK(backoff_ceiling_ms(p, 20) == 30'000);
  CHECK(backoff_ceiling_ms(p, 5000) == 30'000);
}

TEST_CASE("full jitter spreads the delay over the whole window", "[unit][core][retry]") {
  retry_policy p;

  auto low = decide_retry(p, 3, 5, true, 0.0);
  auto mid = decide_retry(p, 3, 5, true, 0.5);
  auto high = decide_retry(p, 3, 5, true, 0.999999);

  CHECK(low.retry);
  CHECK(low.delay_ms == 0);
  CHECK(mid.delay_ms == 200);
  CHECK(high.delay_ms == 399);
}

TEST_CASE("no retry after the last attempt or for a permanent error", "[unit][core][retry]") {
  retry_policy p;

  CHECK_FALSE(decide_retry(p, 5, 5, true, 0.5).retry);
  CHECK_FALSE(decide_retry(p, 1, 5, false, 0.5).retry);
  CHECK(decide_retry(p, 4, 5, true, 0.5).retry);
}
