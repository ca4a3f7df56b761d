// SPDX-License-Identifier: Apache-2.0
#include "checker.hpp"

#include "check_context.hpp"

namespace hypercore::soak {

namespace {

constexpr std::uint64_t examples_per_kind = 5;

} // namespace

std::int64_t int_of(const nlohmann::json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

check_context::check_context(const submit_log& l, const api_view& a, const export_view& e,
                             int k, check_report& o)
    : log(l), api(a), exp(e), kills(k), out(o) {
  for (const auto& j : exp.jobs) {
    auto id = j["id"].get<std::string>();
    export_by_id.emplace(id, &j); // a second line with this id is found by check_identity
    auto parent = j.find("parent_id");
    if (parent != j.end() && parent->is_string())
      export_children[parent->get<std::string>()].push_back(&j);
  }
}

const nlohmann::json* check_context::job(const std::string& id) const {
  if (auto it = api.jobs.find(id); it != api.jobs.end()) return &it->second;
  if (auto it = export_by_id.find(id); it != export_by_id.end()) return it->second;
  return nullptr;
}

void check_context::report(const std::string& kind, std::string message,
                           std::vector<nlohmann::json> jobs) {
  auto n = ++out.by_kind[kind];
  if (n > examples_per_kind) jobs.clear(); // the message still names the ids
  out.violations.push_back({kind, std::move(message), std::move(jobs)});
}

check_report check_all(const submit_log& log, const api_view& api, const export_view& exp,
                       int kills) {
  check_report out;
  out.export_ok = exp.ok;
  out.export_error = exp.error;
  check_context c{log, api, exp, kills, out};
  out.n.acked = log.acked.size();
  out.n.exported = exp.jobs.size();
  out.n.resubmits = log.resubmits.size();
  check_identity(c);
  check_jobs(c);
  check_chains(c);
  check_order(c);
  return out;
}

} // namespace hypercore::soak
