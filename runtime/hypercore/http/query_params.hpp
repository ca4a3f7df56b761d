// SPDX-License-Identifier: Apache-2.0
#pragma once

// Query parameters as numbers, read the way the API documents them: plain
// decimal (an optional '-', then digits), no spaces, no '+', nothing after
// the digits, and within the parameter's range. Pure, so it is fuzzed and
// tested without a server.

#include <cstdint>
#include <optional>
#include <string_view>

namespace hypercore::http {

/// `text` as a decimal integer from `lo` to `hi` inclusive; nullopt when it
/// is empty, not entirely decimal digits (after an optional '-'), overflows
/// int64 or lies outside [lo, hi].
std::optional<std::int64_t> parse_bounded_int(std::string_view text, std::int64_t lo,
                                              std::int64_t hi);

} // namespace hypercore::http
