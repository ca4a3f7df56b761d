// SPDX-License-Identifier: Apache-2.0
// The soak checker's rules on hand-made views: each kind of fault the crash
// loop looks for is found, and a clean run passes.
#include <catch2/catch.hpp>

#include "checker.hpp"

using namespace hypercore::soak;
using nlohmann::json;

namespace {

planned_job plan(job_class cls, const std::string& soak_id, const std::string& key = {},
                 std::uint64_t seq = 0) {
  planned_job p;
  p.cls = cls;
  p.soak_id = soak_id;
  p.partition_key = key;
  p.key_seq = seq;
  p.max_attempts = 10;
  return p;
}

json job(const std::string& id, const std::string& kind, json params, std::int64_t finished,
         int attempts = 1) {
  json errors = json::array();
  for (int a = 1; a < attempts; ++a)
    errors.push_back({{"attempt", a}, {"at_ms", finished - 1}, {"message", "x"}, {"retryable", true}});
  return {{"id", id}, {"kind", kind}, {"status", "succeeded"}, {"params", params},
          {"output", params}, {"attempts", attempts}, {"depth", 0}, {"trace_id", id},
          {"errors", errors}, {"followups", json::array()}, {"revision", 3},
          {"finished_at_ms", finished}};
}

struct views {
  submit_log log;
  api_view api;
  export_view exp;

  void ack(planned_job p, const json& j) {
    acked_job a;
    a.plan = std::move(p);
    a.id = j["id"];
    log.acked.push_back(a);
    api.jobs[a.id] = j;
    exp.jobs.push_back(j);
  }
  check_report check(int kills = 0) {
    exp.ok = true;
    return check_all(log, api, exp, kills);
  }
};

json echo_params(const std::string& soak_id) { return {{"soak_id", soak_id}}; }

} // namespace

TEST_CASE("a run where everything held has no violations", "[unit][soak]") {
  views v;
  v.ack(plan(job_class::echo, "t0-n0", "k", 1), job("a", "echo", echo_params("t0-n0"), 100));
  v.ack(plan(job_class::echo, "t0-n1", "k", 2), job("b", "echo", echo_params("t0-n1"), 100));

  auto r = v.check();

  CHECK(r.violations.empty());
  CHECK(r.n.ordered_pairs == 1);
}

TEST_CASE("an acknowledged job that neither view has is lost", "[unit][soak]") {
  views v;
  acked_job a;
  a.plan = plan(job_class::echo, "t0-n0");
  a.id = "gone";
  v.log.acked.push_back(a);
  v.api.missing.push_back("gone");

  auto r = v.check();

  CHECK(r.count("lost") == 1);
}

TEST_CASE("an id twice in the export and a key on two jobs are duplicates", "[unit][soak]") {
  views v;
  auto p = plan(job_class::echo, "t0-n0");
  p.idempotency_key = "soak-t0-n0";
  auto j = job("a", "echo", echo_params("t0-n0"), 100);
  j["idempotency_key"] = p.idempotency_key;
  v.ack(p, j);

  SECTION("the same id twice") {
    v.exp.jobs.push_back(j);

    CHECK(v.check().count("duplicated") >= 1);
  }
  SECTION("another job with the same key") {
    auto other = job("b", "echo", echo_params("t0-n0"), 100);
    other["idempotency_key"] = p.idempotency_key;
    v.exp.jobs.push_back(other);

    auto r = v.check();

    CHECK(r.count("duplicated") >= 2); // the key, and one submit with two jobs
  }
  SECTION("a re-send of the key answered with a new job") {
    v.log.resubmits.push_back({p.idempotency_key, "a", 202, "b"});

    CHECK(v.check().count("duplicated") == 1);
  }
}

TEST_CASE("a chain step with two children in the export is a chain violation", "[unit][soak]") {
  views v;
  auto root = job("r", "chain", echo_params("t0-n0"), 100);
  root["followups"] = {"c1"};
  auto c1 = job("c1", "chain", echo_params("t0-n0"), 101);
  c1.update({{"parent_id", "r"}, {"depth", 1}, {"trace_id", "r"}, {"followups", {"c2"}}});
  auto c2 = job("c2", "echo", echo_params("t0-n0"), 102);
  c2.update({{"parent_id", "c1"}, {"depth", 2}, {"trace_id", "r"}});
  v.ack(plan(job_class::chain, "t0-n0"), root);
  for (const auto& j : {c1, c2}) {
    v.api.jobs[j["id"]] = j;
    v.exp.jobs.push_back(j);
  }
  REQUIRE(v.check().n.chains_complete == 1);

  auto twin = c2;
  twin["id"] = "c2-again";
  v.exp.jobs.push_back(twin);
  auto r = v.check();

  CHECK(r.count("chain") == 1);
  CHECK(r.n.chains_complete == 0);
}

TEST_CASE("per-key completions out of submit order are order violations", "[unit][soak]") {
  views v;
  auto first = plan(job_class::echo, "t0-n0", "k", 1);

  SECTION("the later job finished first") {
    v.ack(first, job("a", "echo", echo_params("t0-n0"), 200));
    v.ack(plan(job_class::echo, "t0-n1", "k", 2), job("b", "echo", echo_params("t0-n1"), 199));

    CHECK(v.check().count("order") == 1);
  }
  SECTION("a sleep finished sooner after its predecessor than it slept") {
    auto s = plan(job_class::sleep, "t0-n1", "k", 2);
    s.sleep_ms = 20;
    v.ack(first, job("a", "echo", echo_params("t0-n0"), 200));
    auto j = job("b", "sleep", echo_params("t0-n1"), 210);
    j["output"] = {{"slept_ms", 20}};
    v.ack(s, j);

    CHECK(v.check().count("order") == 1);
  }
  SECTION("an attempt of the later job ended before its predecessor finished") {
    auto f = plan(job_class::flaky_ok, "t0-n1", "k", 2);
    f.fail_times = 1;
    v.ack(first, job("a", "echo", echo_params("t0-n0"), 200));
    auto j = job("b", "flaky", echo_params("t0-n1"), 300, 2);
    j["output"] = {{"attempts", 2}};
    j["errors"][0]["at_ms"] = 150;
    v.ack(f, j);

    CHECK(v.check().count("order") == 1);
  }
  SECTION("equal timestamps are a tie") {
    v.ack(first, job("a", "echo", echo_params("t0-n0"), 200));
    v.ack(plan(job_class::echo, "t0-n1", "k", 2), job("b", "echo", echo_params("t0-n1"), 200));

    CHECK(v.check().count("order") == 0);
  }
}

TEST_CASE("attempts beyond the plan plus one per kill are attempt violations", "[unit][soak]") {
  views v;
  auto f = plan(job_class::flaky_ok, "t0-n0");
  f.fail_times = 2;
  auto j = job("a", "flaky", echo_params("t0-n0"), 100, 5);
  j["output"] = {{"attempts", 5}};
  v.ack(f, j);

  CHECK(v.check(2).count("attempts") == 0); // 3 needed + 2 kills
  CHECK(v.check(1).count("attempts") == 1);
}

TEST_CASE("a failed attempt without an error entry is a history mismatch", "[unit][soak]") {
  views v;
  auto j = job("a", "echo", echo_params("t0-n0"), 100, 2);
  j["errors"] = json::array();
  v.ack(plan(job_class::echo, "t0-n0"), j);

  auto r = v.check(1);

  CHECK(r.count("history") == 1);
  CHECK(r.n.missing_error_entries == 1);
  CHECK(r.count("attempts") == 0);
}
