// SPDX-License-Identifier: Apache-2.0
// Per-job rules: the terminal status and output each plan promises, attempt
// counts within the plan plus at most one re-run per SIGKILL (execution is
// at-least-once), and an error entry for every failed attempt.
#include <set>

#include "check_context.hpp"

namespace hypercore::soak {

namespace {

/// What one job must look like, from its plan (roots) or its step (children).
struct expectation {
  std::string what;             ///< for messages
  std::string status;           ///< the terminal status it must have
  std::int64_t min_attempts = 1;
  std::int64_t max_attempts = 1;
  bool output_is_params = false; ///< echo
  int slept_ms = -1;             ///< sleep: output.slept_ms
  bool output_counts_attempts = false; ///< flaky: output.attempts == attempts
};

expectation expect_root(const planned_job& p, int kills) {
  expectation e;
  e.what = std::string{to_string(p.cls)} + " " + p.soak_id;
  e.status = "succeeded";
  switch (p.cls) {
    case job_class::echo: e.output_is_params = true; break;
    case job_class::sleep: e.slept_ms = p.sleep_ms; break;
    case job_class::chain: break;
    case job_class::flaky_ok:
      e.min_attempts = p.fail_times + 1;
      e.output_counts_attempts = true;
      break;
    case job_class::flaky_dead:
      // Interrupted attempts use up attempts too, so it is always all of them.
      e.status = "dead";
      e.min_attempts = e.max_attempts = p.max_attempts;
      return e;
    case job_class::flaky_permanent:
      e.status = "dead";
      e.max_attempts = std::min<std::int64_t>(p.max_attempts, 1 + kills);
      return e;
  }
  e.max_attempts = e.min_attempts + kills;
  return e;
}

expectation expect_step(const nlohmann::json& j, int kills) {
  expectation e;
  e.what = "chain step " + std::to_string(int_of(j, "depth") + 1);
  e.status = "succeeded";
  e.output_is_params = j.value("kind", "") == "echo";
  e.max_attempts = 1 + kills;
  return e;
}

void check_history(check_context& c, const nlohmann::json& j, const std::string& what) {
  auto status = j.value("status", "");
  auto attempts = int_of(j, "attempts");
  std::int64_t failed = status == "succeeded" ? attempts - 1 : status == "dead" ? attempts : -1;
  if (failed < 0) return; // cancelled: no rule
  const auto& errors = j["errors"];
  std::set<std::int64_t> numbers;
  bool bad_number = false;
  for (const auto& e : errors) {
    auto n = int_of(e, "attempt");
    if (n < 1 || n > attempts || !numbers.insert(n).second) bad_number = true;
  }
  auto have = static_cast<std::int64_t>(errors.size());
  if (have == failed && !bad_number) return;
  if (have < failed) c.out.n.missing_error_entries += static_cast<std::uint64_t>(failed - have);
  c.report("history", what + " " + j.value("id", "") + " is " + status + " after "
                        + std::to_string(attempts) + " attempts with " + std::to_string(have)
                        + " error entries (" + std::to_string(failed) + " failed attempts"
                        + (bad_number ? "; attempt numbers repeat or are out of range" : "") + ")",
           {j});
}

void check_one(check_context& c, const nlohmann::json& j, const expectation& e) {
  auto status = j.value("status", "");
  if (status != "succeeded" && status != "dead" && status != "cancelled") return; // not_terminal
  auto attempts = int_of(j, "attempts");
  auto id = j.value("id", "");
  if (status != e.status) {
    c.report("status", e.what + " " + id + " ended " + status + ", not " + e.status, {j});
  } else if (status == "succeeded") {
    const auto& out = j.value("output", nlohmann::json{});
    bool ok = true;
    if (e.output_is_params) ok = out == j["params"];
    if (e.slept_ms >= 0) ok = out.is_object() && int_of(out, "slept_ms") == e.slept_ms;
    if (e.output_counts_attempts) ok = out.is_object() && int_of(out, "attempts") == attempts;
    if (!ok) c.report("status", e.what + " " + id + " succeeded with the wrong output", {j});
  }
  if (attempts < e.min_attempts || attempts > e.max_attempts)
    c.report("attempts", e.what + " " + id + " took " + std::to_string(attempts)
                           + " attempts; its plan allows " + std::to_string(e.min_attempts)
                           + ".." + std::to_string(e.max_attempts),
             {j});
  else if (attempts > e.min_attempts && e.min_attempts != e.max_attempts)
    ++c.out.n.reruns;
  check_history(c, j, e.what);
}

} // namespace

void check_jobs(check_context& c) {
  std::set<std::string> roots;
  for (const auto& a : c.log.acked) {
    roots.insert(a.id);
    if (const auto* j = c.job(a.id)) check_one(c, *j, expect_root(a.plan, c.kills));
  }
  // Follow-ups the API reached through their parents.
  for (const auto& [id, j] : c.api.jobs)
    if (roots.count(id) == 0) {
      ++c.out.n.followups;
      check_one(c, j, expect_step(j, c.kills));
    }
}

} // namespace hypercore::soak
