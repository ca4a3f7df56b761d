// SPDX-License-Identifier: Apache-2.0
#include "hypercore/http/secrets.hpp"

#include <fstream>
#include <iterator>

#include "hypercore/core/errc.hpp"

namespace hypercore::http {

bool constant_time_equals(std::string_view a, std::string_view b) {
  // Walk the longer of the two whole; volatile keeps the loop from being
  // cut short by the optimiser.
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  auto n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = diff | static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

caf::expected<std::string> read_token_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) return make_error(errc::invalid_config, "auth-token-file: cannot read " + path);
  std::string token;
  char c;
  while (in.get(c)) {
    if (token.size() > 4096)
      return make_error(errc::invalid_config, "auth-token-file: " + path + " is over 4 KiB");
    token.push_back(c);
  }
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (token.empty()) return make_error(errc::invalid_config, "auth-token-file: " + path + " is empty");
  return token;
}

} // namespace hypercore::http
