// SPDX-License-Identifier: Apache-2.0
#pragma once

// The guard every JSON request body passes before any recursive parse: its
// nesting depth is bounded by a linear scan, then it is parsed with
// duplicate object keys refused (parsers disagree on which one wins, so a
// body with two is ambiguous). Invalid JSON and invalid UTF-8 are refused.

#include <cstddef>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "hypercore/http/api_error.hpp"

namespace hypercore::http {

/// Deepest nesting of arrays and objects in `text`, counted without
/// recursion; stops counting (and returns limit + 1) once past `limit`.
std::size_t json_depth(std::string_view text, std::size_t limit);

/// Parses a request body: 413 payload_too_large when it nests deeper than
/// max_depth, 400 invalid_json when it is not JSON (or not UTF-8), 400
/// duplicate_key when an object names a key twice. Empty text is refused.
std::variant<nlohmann::json, api_error> parse_json_body(std::string_view text,
                                                        std::size_t max_depth);

} // namespace hypercore::http
