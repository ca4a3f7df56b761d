// SPDX-License-Identifier: Apache-2.0
#include "hypercore/http/query_params.hpp"

#include <charconv>
#include <system_error>

namespace hypercore::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

} // namespace

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view text,
                                                             std::size_t max_params) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty() && out.size() < max_params) {
    auto amp = text.find('&');
    auto part = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    auto name = part.substr(0, eq);
    auto value = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    out.emplace_back(percent_decode(name, true), percent_decode(value, true));
  }
  return out;
}

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
