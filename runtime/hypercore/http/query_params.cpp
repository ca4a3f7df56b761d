// SPDX-License-Identifier: Apache-2.0
#include "hypercore/http/query_params.hpp"

#include <charconv>
#include <system_error>

namespace hypercore::http {

std::optional<std::int64_t> parse_bounded_int(std::string_view text, std::int64_t lo,
                                              std::int64_t hi) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  // from_chars already refuses '+', spaces and an empty text; a partial
  // parse ("12abc") is caught by comparing where it stopped.
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || stop != end || value < lo || value > hi) return std::nullopt;
  return value;
}

} // namespace hypercore::http
