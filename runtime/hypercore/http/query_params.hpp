// SPDX-License-Identifier: Apache-2.0
#pragma once

// Query parameters as numbers, read the way the API documents them: plain
// decimal (an optional '-', then digits), no spaces, no '+', nothing after
// the digits, and within the parameter's range. Pure, so it is fuzzed and
// tested without a server.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hypercore::http {

/// `text` with every %XX replaced by its byte (and '+' by a space when
/// `plus_is_space`, as in a query); a '%' not followed by two hex digits
/// stays as it is. The result may hold any byte: callers check UTF-8.
std::string percent_decode(std::string_view text, bool plus_is_space);

/// A query string ("a=1&b=x%20y", no leading '?') as decoded name/value
/// pairs in order; a part without '=' has an empty value, empty parts are
/// skipped. At most `max_params` pairs are kept (the rest are ignored).
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view text,
                                                             std::size_t max_params = 256);

/// `text` as a decimal integer from `lo` to `hi` inclusive; nullopt when it
/// is empty, not entirely decimal digits (after an optional '-'), overflows
/// int64 or lies outside [lo, hi].
std::optional<std::int64_t> parse_bounded_int(std::string_view text, std::int64_t lo,
                                              std::int64_t hi);

} // namespace hypercore::http
