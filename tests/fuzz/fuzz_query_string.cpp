// SPDX-License-Identifier: Apache-2.0
// Fuzzes query strings as the gateway reads them: httplib's parse_query_text
// (percent-decoding included), then each value as a bounded integer, checked
// against an independent digit-by-digit reading.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <httplib.h>

#include "fuzz_check.hpp"
#include "hypercore/http/query_params.hpp"

using namespace hypercore;

namespace {

// The documented rule, written the slow way: optional '-', then at least
// one digit, nothing else, no overflow, within [lo, hi].
std::optional<std::int64_t> reference(std::string_view text, std::int64_t lo, std::int64_t hi) {
  bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  // The magnitude of INT64_MIN, the largest a negative value may reach.
  constexpr unsigned __int128 limit = static_cast<unsigned __int128>(1) << 63;
  unsigned __int128 magnitude = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    magnitude = magnitude * 10 + static_cast<unsigned>(c - '0');
    if (magnitude > limit) return std::nullopt;
  }
  if (!negative && magnitude == limit) return std::nullopt;
  auto value = negative ? -static_cast<__int128>(magnitude) : static_cast<__int128>(magnitude);
  if (value < lo || value > hi) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

void check(std::string_view text, std::int64_t lo, std::int64_t hi) {
  auto got = http::parse_bounded_int(text, lo, hi);
  auto want = reference(text, lo, hi);
  fuzz::require(got == want, "parse_bounded_int agrees with the digit-by-digit reading");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string query{fuzz::as_text(data, size)};
  httplib::Params params;

  httplib::detail::parse_query_text(query, params);

  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  for (const auto& [name, value] : params) {
    // The gateway's ranges: limit, timeout_ms (up to the default max wait),
    // and the whole int64 range for the overflow edges.
    check(value, 1, 1000);
    check(value, 0, 300'000);
    check(value, min, max);
  }
  check(query, min, max);
  return 0;
}
