// SPDX-License-Identifier: Apache-2.0
#pragma once

// The soak's verdict: from what the clients were told (acknowledged ids,
// idempotency answers), what the API shows once everything is terminal, and
// what `hypercore export` finds in the store, it counts every acknowledged
// job lost, every job made twice, every per-key completion out of order,
// every chain step without exactly one child, every attempt count or
// terminal status the job's plan rules out, and every error history that
// does not match its attempts. Pure: no I/O.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients.hpp"
#include "collector.hpp"

namespace hypercore::soak {

/// One finding, with the jobs that show it (kept for the first few of a kind).
struct violation {
  std::string kind; ///< lost, not_terminal, duplicated, order, chain, attempts, status, history, export
  std::string message;
  std::vector<nlohmann::json> jobs;
};

struct check_counts {
  std::uint64_t acked = 0;
  std::uint64_t followups = 0;    ///< chain children read from the API
  std::uint64_t exported = 0;     ///< lines in the export
  std::uint64_t phantoms = 0;     ///< exported jobs of submits that got no answer
  std::uint64_t chains = 0;       ///< acknowledged chain roots
  std::uint64_t chains_complete = 0; ///< of those, all three steps as planned
  std::uint64_t ordered_pairs = 0;   ///< consecutive same-key pairs compared
  std::uint64_t resubmits = 0;       ///< deliberate re-sends of an idempotency key
  std::uint64_t reruns = 0;          ///< jobs with more attempts than their plan needs
  std::uint64_t missing_error_entries = 0; ///< failed attempts without an error entry
};

struct check_report {
  check_counts n;
  std::map<std::string, std::uint64_t> by_kind; ///< violation counts
  std::vector<violation> violations;
  bool export_ok = false;
  std::string export_error;

  std::uint64_t count(const std::string& kind) const {
    auto it = by_kind.find(kind);
    return it == by_kind.end() ? 0 : it->second;
  }
};

/// Runs every check. `kills` bounds the re-runs an acknowledged job may have.
check_report check_all(const submit_log& log, const api_view& api, const export_view& exp,
                       int kills);

} // namespace hypercore::soak
