// SPDX-License-Identifier: Apache-2.0
#include "report.hpp"

#include <fstream>
#include <iomanip>
#include <set>

namespace hypercore::soak {

namespace {

// Kinds in the order they are printed; "history" fails only when strict.
const char* const kinds[] = {"lost", "not_terminal", "unreadable", "duplicated", "order", "chain",
                             "attempts", "status", "history", "export"};

} // namespace

void print_report(std::ostream& out, const run_summary& run, const crash_stats& k,
                  const submit_log& log, const check_report& c) {
  out << "hypercore-soak: seed " << run.seed << ", " << run.threads << " client threads, "
      << run.target_jobs << " jobs wanted, work dir " << run.work_dir << '\n';
  for (const auto& i : k.incidents) out << "incident: " << i << '\n';
  for (const auto& r : log.refused)
    out << "refused: " << r.plan.soak_id << " answered " << r.status << ": " << r.body.substr(0, 300) << '\n';
  if (!c.export_ok) out << "export: " << c.export_error << '\n';
  std::set<std::string> shown;
  for (const auto& v : c.violations) {
    if (!shown.insert(v.kind).second) continue;
    out << "example " << v.kind << ": " << v.message << '\n';
    for (const auto& j : v.jobs) out << "  " << j.dump() << '\n';
  }
  out << "totals:\n"
      << "  kills                 " << k.kills << " (during recovery " << k.during_recovery
      << ", around ready " << k.around_ready << ", right after ready " << k.right_after_ready
      << ", under load " << k.under_load << ")\n"
      << "  restarts              " << std::max(0, k.starts - 1) << " (longest start-up "
      << k.longest_startup.count() << " ms, failed starts " << k.failed_starts
      << ", exits on its own " << k.self_exits << ")\n"
      << "  jobs acknowledged     " << c.n.acked << " (+" << c.n.followups << " follow-ups; "
      << log.unanswered.size() << " submits unanswered, " << c.n.phantoms << " of them exist; "
      << log.broken_sends << " broken sends, " << log.busy_answers << " 503s; "
      << c.n.resubmits << " key re-sends)\n"
      << "  chains                " << c.n.chains << " (" << c.n.chains_complete << " complete end to end)\n"
      << "  ordered pairs checked " << c.n.ordered_pairs << '\n'
      << "  re-run jobs           " << c.n.reruns << " (more attempts than their plan needs)\n"
      << "  refused submits       " << log.refused.size() << '\n'
      << "  exported              " << c.n.exported << (c.export_ok ? "" : " (export failed)") << '\n'
      << "  lost                  " << c.count("lost") << '\n'
      << "  not terminal          " << c.count("not_terminal") << '\n'
      << "  unreadable            " << c.count("unreadable") << '\n'
      << "  duplicated            " << c.count("duplicated") << '\n'
      << "  order violations      " << c.count("order") << '\n'
      << "  chain violations      " << c.count("chain") << '\n'
      << "  attempt violations    " << c.count("attempts") << '\n'
      << "  status violations     " << c.count("status") << '\n'
      << "  history mismatches    " << c.count("history") << " (" << c.n.missing_error_entries
      << " error entries missing" << (run.strict_history ? "; strict" : "; not strict") << ")\n"
      << "  export mismatches     " << c.count("export") << '\n'
      << "  clean stop            " << (run.shutdown_overran ? "overran its grace period" : "in time") << '\n'
      << "  elapsed               " << std::fixed << std::setprecision(1)
      << static_cast<double>(run.elapsed.count()) / 1000.0 << " s\n";
}

bool write_violations(const std::string& path, const check_report& c) {
  std::ofstream out{path};
  for (const auto& v : c.violations)
    out << nlohmann::json{{"kind", v.kind}, {"message", v.message}, {"jobs", v.jobs}}.dump() << '\n';
  return static_cast<bool>(out);
}

bool passed(const crash_stats& k, const submit_log& log, const check_report& c,
            bool strict_history) {
  // A refused valid submit (a 5xx, a 4xx for a well-formed body) is a defect too.
  if (k.self_exits > 0 || k.failed_starts > 0 || !c.export_ok || !log.refused.empty()) return false;
  for (const char* kind : kinds) {
    if (std::string{kind} == "history" && !strict_history) continue;
    if (c.count(kind) > 0) return false;
  }
  return true;
}

} // namespace hypercore::soak
