// SPDX-License-Identifier: Apache-2.0
#pragma once

// Comparing and loading secrets (the bearer token) without leaking them
// through timing or the process table.

#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace hypercore::http {

/// True when a and b are equal; takes time that depends on the lengths only,
/// never on where the first difference is.
bool constant_time_equals(std::string_view a, std::string_view b);

/// The token in `path` (trailing newlines and spaces removed). Errors:
/// invalid_config when the file cannot be read, is empty or over 4 KiB.
caf::expected<std::string> read_token_file(const std::string& path);

} // namespace hypercore::http
