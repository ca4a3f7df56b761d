// SPDX-License-Identifier: Apache-2.0
#pragma once

// The two views the checker compares: the jobs as the API reports them once
// terminal (each acknowledged job, then every follow-up it names, through
// GET /v1/jobs/{id}/wait), and the jobs as `hypercore export` writes them
// from the stopped server's directory.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hypercore::soak {

struct api_view {
  std::map<std::string, nlohmann::json> jobs; ///< last state seen, by id
  std::vector<std::string> missing;           ///< 404: the store does not have it
  /// Not terminal at the deadline, or stuck: due over 15 s ago while no
  /// job became terminal for 15 s.
  std::vector<std::string> not_terminal;
  std::vector<std::string> unreadable;        ///< no usable answer (server gone, 5xx)
  std::vector<std::string> problems;          ///< one line per unreadable id
};

/// Waits until `roots` and their follow-ups are terminal, with `threads`
/// readers, for no longer than `deadline` (less when every job left is stuck).
api_view collect_terminal(int port, const std::vector<std::string>& roots, int threads,
                          std::chrono::steady_clock::time_point deadline);

struct export_view {
  bool ok = false;
  std::string error; ///< why not ok
  std::vector<nlohmann::json> jobs;
  std::size_t bad_lines = 0; ///< lines that are not a JSON object with an id
};

/// Runs `bin export --data-dir DIR` into `out_path` and parses the lines.
export_view read_export(const std::string& bin, const std::string& data_dir,
                        const std::string& out_path, const std::string& err_path,
                        std::chrono::milliseconds limit);

} // namespace hypercore::soak
