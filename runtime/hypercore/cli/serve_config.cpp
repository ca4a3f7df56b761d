// SPDX-License-Identifier: Apache-2.0
#include "hypercore/cli/serve_config.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "hypercore/core/errc.hpp"

namespace hypercore::cli {

namespace {

// One key per line, so adding an option is a one-line change.
const std::set<std::string>& known_keys() {
  static const std::set<std::string> keys{
    "data-dir",
    "listen",
    "partitions",
    "auth-token",
    "auth-token-file",
    "rate-per-kind",
    "rate-per-session",
    "max-body-bytes",
    "max-pending",
    "max-connections",
    "max-header-bytes",
    "header-timeout-ms",
    "idle-timeout-ms",
    "shutdown-timeout-ms",
    "metrics-listen",
    "log-format",
    "log-level",
    "log-payloads",
  };
  return keys;
}

std::string trim(std::string s) {
  auto first = s.find_first_not_of(" \t\r");
  auto last = s.find_last_not_of(" \t\r");
  return first == std::string::npos ? std::string{} : s.substr(first, last - first + 1);
}

caf::error bad(const std::string& origin, const std::string& what) {
  return make_error(errc::invalid_config, "config " + origin + ": " + what);
}

} // namespace

caf::expected<std::map<std::string, std::string>> read_serve_config(const std::string& path) {
  std::ifstream in{path};
  if (!in) return bad(path, "cannot be read");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_serve_config(buffer.str(), path);
}

caf::expected<std::map<std::string, std::string>> parse_serve_config(std::string_view text,
                                                                     const std::string& origin) {
  if (text.size() > (1 << 20)) return bad(origin, "is larger than 1 MiB");
  std::map<std::string, std::string> out;
  auto add = [&](std::string key, std::string value) -> caf::error {
    std::replace(key.begin(), key.end(), '_', '-');
    if (known_keys().count(key) == 0) return bad(origin, "unknown key '" + key.substr(0, 64) + "'");
    out[key] = std::move(value);
    return {};
  };
  auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') {
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return bad(origin, "is not a JSON object");
    for (const auto& [key, value] : doc.items()) {
      if (!value.is_string() && !value.is_number())
        return bad(origin, "key '" + key.substr(0, 64) + "' must be a string or a number");
      if (auto err = add(key, value.is_string() ? value.get<std::string>() : value.dump()))
        return err;
    }
    return out;
  }
  std::istringstream lines{std::string{text}};
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return bad(origin, "line " + std::to_string(n) + " is not 'key = value'");
    auto key = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (auto err = add(key, value)) return err;
  }
  return out;
}

} // namespace hypercore::cli
