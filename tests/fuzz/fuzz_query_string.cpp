// SPDX-License-Identifier: Apache-2.0
// Fuzzes query strings as the gateway reads them: our parse_query and
// percent_decode, checked against a slow reference split and decode and a
// round trip through percent-encoding, then each value as a bounded
// integer, checked against an independent digit-by-digit reading.

#include <cctype>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <vector>

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

// Percent-decoding the documented way, one byte at a time with sscanf's
// hex reading: "%XX" with two hex digits is a byte, anything else is kept.
std::string reference_decode(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    unsigned byte = 0;
    char digits[3] = {0, 0, 0};
    if (text[i] == '%' && i + 2 < text.size()) {
      digits[0] = text[i + 1];
      digits[1] = text[i + 2];
      bool hex = std::isxdigit(static_cast<unsigned char>(digits[0]))
                 && std::isxdigit(static_cast<unsigned char>(digits[1]));
      if (hex && std::sscanf(digits, "%2x", &byte) == 1) {
        out.push_back(static_cast<char>(byte));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i] == '+' ? ' ' : text[i]);
    ++i;
  }
  return out;
}

// Every byte as %XX: decoding it must give the bytes back exactly.
std::string encode_all(std::string_view bytes) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back('%');
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

void check_query(std::string_view query) {
  constexpr std::size_t max_params = 8;
  auto got = http::parse_query(query, max_params);
  fuzz::require(got.size() <= max_params, "parse_query keeps at most max_params pairs");

  std::vector<std::pair<std::string, std::string>> want;
  std::string_view rest = query;
  for (;;) {
    auto amp = rest.find('&');
    auto part = rest.substr(0, amp);
    if (!part.empty() && want.size() < max_params) {
      auto eq = part.find('=');
      want.emplace_back(reference_decode(part.substr(0, eq)),
                        eq == std::string_view::npos ? std::string{} : reference_decode(part.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  fuzz::require(got == want, "parse_query agrees with the reference split and decode");
  fuzz::require(http::percent_decode(encode_all(query), false) == query,
                "percent_decode inverts percent-encoding of any bytes");
}

void check(std::string_view text, std::int64_t lo, std::int64_t hi) {
  auto got = http::parse_bounded_int(text, lo, hi);
  auto want = reference(text, lo, hi);
  fuzz::require(got == want, "parse_bounded_int agrees with the digit-by-digit reading");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string query{fuzz::as_text(data, size)};
  check_query(query);
  auto params = http::parse_query(query);

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
