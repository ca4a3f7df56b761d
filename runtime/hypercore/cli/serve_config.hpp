// SPDX-License-Identifier: Apache-2.0
#pragma once

// The --config file of `hypercore serve`: a JSON object, or TOML-style
// `key = value` lines, naming the serve options (data-dir, listen,
// partitions, auth-token, rate-per-kind, rate-per-session, max-body-bytes,
// max-pending, max-connections, max-header-bytes,
// header-timeout-ms, idle-timeout-ms). A value from the
// file is used only where neither the flag nor its HYPERCORE_* variable was
// given. An unknown key or a malformed value is an error naming it.

#include <map>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace hypercore::cli {

/// Reads the file into key -> value text (keys normalised to dashes).
/// Errors (invalid_config) name the file and the offending key or line.
caf::expected<std::map<std::string, std::string>> read_serve_config(const std::string& path);

/// The parser behind read_serve_config, on text already in memory; `origin`
/// names the text in errors ("config <origin>: ..."). Pure, so it is fuzzed.
caf::expected<std::map<std::string, std::string>> parse_serve_config(std::string_view text,
                                                                     const std::string& origin);

} // namespace hypercore::cli
