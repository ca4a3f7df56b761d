// SPDX-License-Identifier: Apache-2.0
#pragma once

// What every rule of the checker reads (the three views, indexed by id) and
// where it reports; private to tests/soak.

#include <map>
#include <string>
#include <vector>

#include "checker.hpp"

namespace hypercore::soak {

struct check_context {
  const submit_log& log;
  const api_view& api;
  const export_view& exp;
  int kills;
  check_report& out;

  std::map<std::string, const acked_job*> acked_by_id;
  std::map<std::string, const nlohmann::json*> export_by_id;
  /// Exported jobs by their parent_id.
  std::map<std::string, std::vector<const nlohmann::json*>> export_children;

  check_context(const submit_log& l, const api_view& a, const export_view& e, int k,
                check_report& o);

  /// The job as the API last showed it, else as exported; nullptr if neither.
  const nlohmann::json* job(const std::string& id) const;
  /// Records one finding; the first few of each kind keep their jobs.
  void report(const std::string& kind, std::string message, std::vector<nlohmann::json> jobs = {});
};

// The rules, one file each.
void check_identity(check_context& c); ///< lost, duplicated, phantoms, export agreement
void check_jobs(check_context& c);     ///< status, outcome, attempts, error history
void check_chains(check_context& c);   ///< one child per chain step
void check_order(check_context& c);    ///< per-key completions in submit order

/// Reads an integer field, 0 when absent.
std::int64_t int_of(const nlohmann::json& j, const char* field);

} // namespace hypercore::soak
