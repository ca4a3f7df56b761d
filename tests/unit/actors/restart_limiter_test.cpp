// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "hypercore/actors/restart_limiter.hpp"

using namespace hypercore;

TEST_CASE("restarts within the intensity limit happen at once", "[unit][actors][supervisor]") {
  restart_limiter limiter{10, 5000};

  for (int i = 0; i < 10; ++i) CHECK(limiter.on_crash(i * 100) == 0);
}

TEST_CASE("restarts past the intensity pause with a doubling backoff",
          "[unit][actors][supervisor]") {
  restart_limiter limiter{10, 5000, 1000, 4000};
  for (int i = 0; i < 10; ++i) limiter.on_crash(i);

  CHECK(limiter.on_crash(11) == 1000);
  CHECK(limiter.on_crash(12) == 2000);
  CHECK(limiter.on_crash(13) == 4000);
  CHECK(limiter.on_crash(14) == 4000);
}

TEST_CASE("crashes older than the window no longer count", "[unit][actors][supervisor]") {
  restart_limiter limiter{2, 1000};
  limiter.on_crash(0);
  limiter.on_crash(10);

  CHECK(limiter.on_crash(5000) == 0);
}
