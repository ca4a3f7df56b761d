// SPDX-License-Identifier: Apache-2.0
// Chain rules: a 3-step chain is chain -> chain -> echo with exactly one
// child per non-final step, each child pointing at its parent and sharing
// the root's trace and key. The export must hold the same children and no
// other: a step re-run after a SIGKILL must not have emitted twice.
#include <set>

#include "check_context.hpp"

namespace hypercore::soak {

namespace {

std::string str_of(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

/// Checks one step; returns its only child's id ("" at the end or on error).
std::string check_step(check_context& c, const nlohmann::json& step, const nlohmann::json& root,
                       int depth, std::string& problem) {
  auto id = str_of(step, "id");
  auto want_kind = depth < 2 ? "chain" : "echo";
  if (str_of(step, "kind") != want_kind || int_of(step, "depth") != depth)
    problem = "step " + std::to_string(depth + 1) + " " + id + " is a " + str_of(step, "kind")
              + " at depth " + std::to_string(int_of(step, "depth"));
  else if (str_of(step, "trace_id") != str_of(root, "id"))
    problem = "step " + std::to_string(depth + 1) + " " + id + " has another trace_id";
  else if (str_of(step, "partition_key") != str_of(root, "partition_key"))
    problem = "step " + std::to_string(depth + 1) + " " + id + " lost the root's partition_key";
  else if (step.value("status", "") != "succeeded")
    problem = "step " + std::to_string(depth + 1) + " " + id + " is " + step.value("status", "");
  if (!problem.empty()) return {};
  const auto& followups = step["followups"];
  std::size_t want = depth < 2 ? 1 : 0;
  if (followups.size() != want) {
    problem = "step " + std::to_string(depth + 1) + " " + id + " names "
              + std::to_string(followups.size()) + " follow-ups, not " + std::to_string(want);
    return {};
  }
  if (c.exp.ok) {
    auto kids = c.export_children.find(id);
    auto exported = kids == c.export_children.end() ? 0 : kids->second.size();
    if (exported != want) {
      problem = "step " + std::to_string(depth + 1) + " " + id + " has " + std::to_string(exported)
                + " children in the export, not " + std::to_string(want);
      return {};
    }
  }
  return want == 0 ? std::string{} : followups[0].get<std::string>();
}

void check_root(check_context& c, const acked_job& a, std::set<std::string>& covered) {
  const auto* root = c.job(a.id);
  if (root == nullptr) return; // reported as lost
  std::vector<nlohmann::json> steps{*root};
  std::string problem;
  std::string parent = a.id;
  auto next = check_step(c, *root, *root, 0, problem);
  for (int depth = 1; depth < 3 && problem.empty(); ++depth) {
    const auto* step = c.job(next);
    if (step == nullptr) {
      problem = "step " + std::to_string(depth + 1) + " " + next + " is in neither view";
      break;
    }
    steps.push_back(*step);
    covered.insert(next);
    if (str_of(*step, "parent_id") != parent) {
      problem = "step " + std::to_string(depth + 1) + " " + next + " has parent_id '"
                + str_of(*step, "parent_id") + "', not " + parent;
      break;
    }
    parent = next;
    next = check_step(c, *step, *root, depth, problem);
  }
  if (problem.empty()) ++c.out.n.chains_complete;
  else c.report("chain", "chain " + a.plan.soak_id + ": " + problem, std::move(steps));
}

} // namespace

void check_chains(check_context& c) {
  std::set<std::string> covered; // steps already judged through their root
  for (const auto& a : c.log.acked)
    if (a.plan.cls == job_class::chain && !a.id.empty()) {
      ++c.out.n.chains;
      covered.insert(a.id);
      check_root(c, a, covered);
    }
  if (!c.exp.ok) return;
  // Every exported job, acknowledged or not: its children are exactly the
  // follow-ups it names.
  for (const auto& j : c.exp.jobs) {
    auto id = str_of(j, "id");
    if (covered.count(id) != 0) continue;
    auto kids = c.export_children.find(id);
    auto exported = kids == c.export_children.end() ? 0 : kids->second.size();
    if (exported != j["followups"].size()) {
      std::vector<nlohmann::json> shown{j};
      if (kids != c.export_children.end())
        for (const auto* k : kids->second) shown.push_back(*k);
      c.report("chain", "exported job " + id + " names " + std::to_string(j["followups"].size())
                          + " follow-ups but " + std::to_string(exported) + " jobs name it as parent",
               std::move(shown));
    }
  }
}

} // namespace hypercore::soak
