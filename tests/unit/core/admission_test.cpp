// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "hypercore/core/admission.hpp"
#include "hypercore/core/errc.hpp"

using namespace hypercore;

namespace {

kind_catalog catalog_with_echo() {
  kind_catalog c;
  kind_entry e;
  e.kind = "echo";
  e.options.retry.max_attempts = 7;
  c.kinds["echo"] = e;
  return c;
}

} // namespace

TEST_CASE("admission fills in defaults and routes keyed jobs stably", "[unit][actors][admission]") {
  auto catalog = catalog_with_echo();
  admission_limits limits;
  job_spec s{"echo", "", "user-1", "", 0, 250, 0, ""};

  auto a = admit(s, catalog, limits, nullptr, 1000);
  auto b = admit(s, catalog, limits, nullptr, 1000);

  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->params == "{}");
  CHECK(a->max_attempts == 7);
  CHECK(a->run_at_ms == 1250);
  CHECK(a->partition == b->partition);
  CHECK(a->trace_id == a->id.to_string());
}

TEST_CASE("follow-ups inherit trace and session and refuse to go too deep",
          "[unit][actors][admission]") {
  auto catalog = catalog_with_echo();
  admission_limits limits;
  limits.max_chain_depth = 2;
  job parent;
  parent.id = job_id::generate();
  parent.trace_id = "trace-1";
  parent.session_id = "s-1";
  parent.depth = 1;
  job_spec s{"echo", "{}", "", "", 0, 0, 0, ""};

  auto child = admit(s, catalog, limits, &parent, 0);
  parent.depth = 2;
  auto too_deep = admit(s, catalog, limits, &parent, 0);

  REQUIRE(child);
  CHECK(child->trace_id == "trace-1");
  CHECK(child->session_id == "s-1");
  CHECK(child->parent_id == parent.id);
  CHECK(child->depth == 2);
  REQUIRE_FALSE(too_deep);
  CHECK(code_of(too_deep.error()) == errc::chain_too_deep);
}

TEST_CASE("oversized keys and attempt counts are refused", "[unit][actors][admission]") {
  auto catalog = catalog_with_echo();
  admission_limits limits;

  job_spec long_key{"echo", "{}", std::string(1000, 'k'), "", 0, 0, 0, ""};
  job_spec many{"echo", "{}", "", "", 0, 0, 1'000'000, ""};

  CHECK(code_of(admit(long_key, catalog, limits, nullptr, 0).error()) == errc::payload_too_large);
  CHECK(code_of(admit(many, catalog, limits, nullptr, 0).error()) == errc::invalid_request);
}

TEST_CASE("submits and follow-ups share one set of bounds on priority, delay and strings",
          "[unit][actors][admission][bounds]") {
  auto catalog = catalog_with_echo();
  admission_limits limits;
  job parent;
  parent.id = job_id::generate();
  const job* parents[] = {nullptr, &parent};

  for (const job* p : parents) {
    auto refused = [&](job_spec s) {
      auto r = admit(s, catalog, limits, p, 1000);
      return r ? errc{} : code_of(r.error());
    };
    job_spec ok{"echo", "", "", "", 0, 0, 0, ""};
    CHECK(admit(ok, catalog, limits, p, 1000));

    auto s = ok;
    s.priority = 1'000'001;
    CHECK(refused(s) == errc::invalid_request);
    s.priority = -1'000'001;
    CHECK(refused(s) == errc::invalid_request);
    s = ok;
    s.delay_ms = 1'000'000'000'000'000ULL;
    CHECK(refused(s) == errc::invalid_request);
    s.delay_ms = static_cast<std::uint64_t>(INT64_MAX);
    CHECK(refused(s) == errc::invalid_request);
    s.delay_ms = limits.max_delay_ms;
    auto at_limit = admit(s, catalog, limits, p, 1000);
    REQUIRE(at_limit);
    CHECK(at_limit->run_at_ms == 1000 + static_cast<std::int64_t>(limits.max_delay_ms));
    s = ok;
    s.idempotency_key = "\xff";
    CHECK(refused(s) == errc::invalid_utf8);
    s = ok;
    s.partition_key = "ok\xc3";
    CHECK(refused(s) == errc::invalid_utf8);
    s = ok;
    s.kind = std::string(129, 'k');
    CHECK(refused(s) == errc::invalid_request);
  }
}
