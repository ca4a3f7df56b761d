// SPDX-License-Identifier: Apache-2.0
// Identity rules: every acknowledged job is in the API and in the export,
// no id is there twice, no submit or idempotency key made two jobs, and the
// export agrees with what the API showed.
#include <set>

#include "check_context.hpp"

namespace hypercore::soak {

namespace {

std::string soak_id_of(const nlohmann::json& j) {
  auto p = j.find("params");
  if (p == j.end() || !p->is_object()) return {};
  auto s = p->find("soak_id");
  return s != p->end() && s->is_string() ? s->get<std::string>() : std::string{};
}

nlohmann::json or_null(const nlohmann::json* j) { return j != nullptr ? *j : nlohmann::json{}; }

void check_acknowledged(check_context& c) {
  std::set<std::string> missing(c.api.missing.begin(), c.api.missing.end());
  std::set<std::string> unreadable(c.api.unreadable.begin(), c.api.unreadable.end());
  for (const auto& a : c.log.acked) {
    if (a.id.empty()) {
      c.report("duplicated", "submit " + a.plan.soak_id + " got a 2xx without a job_id");
      continue;
    }
    auto [it, inserted] = c.acked_by_id.emplace(a.id, &a);
    if (!inserted)
      c.report("duplicated", "submits " + it->second->plan.soak_id + " and " + a.plan.soak_id
                               + " were both answered with job " + a.id,
               {or_null(c.job(a.id))});
  }
  // Follow-ups are owed too once their parent says it emitted them.
  for (const auto& id : c.api.missing) {
    auto a = c.acked_by_id.find(id);
    auto what = a != c.acked_by_id.end()
                  ? "acknowledged job " + id + " (" + a->second->plan.soak_id + ", "
                      + to_string(a->second->plan.cls) + ", " + std::to_string(a->second->sends)
                      + " sends) is 404 in the API"
                  : "follow-up " + id + " named by its parent is 404 in the API";
    c.report("lost", what);
  }
  for (const auto& id : c.api.not_terminal)
    c.report("not_terminal",
             "job " + id + " is not terminal when the checks gave up (stuck, or past the settle deadline)",
             {or_null(c.job(id))});
  for (const auto& p : c.api.problems) c.report("unreadable", p);
  if (!c.exp.ok) return;
  for (const auto& [id, j] : c.api.jobs)
    if (c.export_by_id.count(id) == 0 && missing.count(id) == 0)
      c.report("lost", "job " + id + " was in the API but is not in the export", {j});
  for (const auto& a : c.log.acked)
    if (!a.id.empty() && c.api.jobs.count(a.id) == 0 && missing.count(a.id) == 0
        && unreadable.count(a.id) == 0 && c.export_by_id.count(a.id) == 0)
      c.report("lost", "acknowledged job " + a.id + " (" + a.plan.soak_id + ") is in neither view");
}

void check_idempotency(check_context& c) {
  for (const auto& d : c.log.fresh_key_duplicates)
    c.report("duplicated", "the first send of key " + d.plan.idempotency_key
                             + " was answered 'duplicate' with job " + d.id,
             {or_null(c.job(d.id))});
  for (const auto& r : c.log.resubmits) {
    if (r.status == 200 && r.got_id == r.expected_id) continue;
    c.report("duplicated", "re-sending key " + r.key + " (job " + r.expected_id + ") answered "
                             + std::to_string(r.status) + " with job '" + r.got_id + "'",
             {or_null(c.job(r.expected_id)), or_null(c.job(r.got_id))});
  }
  if (!c.exp.ok) return;
  std::map<std::string, std::vector<const nlohmann::json*>> by_key;
  for (const auto& j : c.exp.jobs)
    if (auto k = j.find("idempotency_key"); k != j.end() && k->is_string())
      by_key[k->get<std::string>()].push_back(&j);
  for (const auto& [key, jobs] : by_key)
    if (jobs.size() > 1) {
      std::vector<nlohmann::json> shown;
      for (const auto* j : jobs) shown.push_back(*j);
      c.report("duplicated", std::to_string(jobs.size()) + " exported jobs carry idempotency key " + key,
               std::move(shown));
    }
  for (const auto& a : c.log.acked) {
    if (a.plan.idempotency_key.empty()) continue;
    auto it = by_key.find(a.plan.idempotency_key);
    if (it != by_key.end() && (*it->second.front())["id"] != a.id)
      c.report("duplicated", "key " + a.plan.idempotency_key + " was acknowledged as job " + a.id
                               + " but the export's job with that key is another",
               {*it->second.front()});
  }
}

void check_export(check_context& c) {
  if (!c.exp.ok) return;
  std::map<std::string, int> seen;
  for (const auto& j : c.exp.jobs)
    if (++seen[j["id"].get<std::string>()] == 2)
      c.report("duplicated", "id " + j["id"].get<std::string>() + " is twice in the export", {j});
  std::set<std::string> acked_submits;
  for (const auto& a : c.log.acked) acked_submits.insert(a.plan.soak_id);
  std::set<std::string> unanswered;
  for (const auto& p : c.log.unanswered) unanswered.insert(p.soak_id);
  std::map<std::string, std::vector<const nlohmann::json*>> roots;
  for (const auto& j : c.exp.jobs)
    if (int_of(j, "depth") == 0) roots[soak_id_of(j)].push_back(&j);
  for (const auto& [sid, jobs] : roots) {
    if (jobs.size() > 1) {
      std::vector<nlohmann::json> shown;
      for (const auto* j : jobs) shown.push_back(*j);
      c.report("duplicated", "submit " + sid + " made " + std::to_string(jobs.size()) + " jobs",
               std::move(shown));
    }
    if (acked_submits.count(sid) != 0) continue;
    if (unanswered.count(sid) != 0) c.out.n.phantoms += jobs.size();
    else c.report("duplicated", "exported job of submit '" + sid + "' that nobody sent", {*jobs.front()});
  }
  // Every job was terminal in the API before the clean stop; the export
  // must show the same final state.
  for (const auto& [id, api] : c.api.jobs) {
    auto e = c.export_by_id.find(id);
    if (e == c.export_by_id.end()) continue;
    for (const char* field : {"status", "attempts", "revision", "errors", "followups", "finished_at_ms"})
      if (api.value(field, nlohmann::json{}) != e->second->value(field, nlohmann::json{})) {
        c.report("export", "job " + id + ": '" + field + "' differs between the API and the export",
                 {api, *e->second});
        break;
      }
  }
}

} // namespace

void check_identity(check_context& c) {
  check_acknowledged(c);
  check_idempotency(c);
  check_export(c);
}

} // namespace hypercore::soak
