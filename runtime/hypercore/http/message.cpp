// SPDX-License-Identifier: Apache-2.0
#include "hypercore/http/message.hpp"

namespace hypercore::http {

namespace {

const std::string empty_value;

const std::string* find(const header_list& list, std::string_view name, bool exact) {
  for (const auto& [key, value] : list)
    if (exact ? key == name : iequals(key, name)) return &value;
  return nullptr;
}

} // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

bool request::has_header(std::string_view name) const { return find(headers, name, false) != nullptr; }

const std::string& request::header(std::string_view name) const {
  auto* v = find(headers, name, false);
  return v ? *v : empty_value;
}

std::size_t request::header_count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& kv : headers)
    if (iequals(kv.first, name)) ++n;
  return n;
}

bool request::has_param(std::string_view name) const { return find(query, name, true) != nullptr; }

const std::string& request::param(std::string_view name) const {
  auto* v = find(query, name, true);
  return v ? *v : empty_value;
}

bool response::has_header(std::string_view name) const {
  return find(headers, name, false) != nullptr;
}

void response::set_header(std::string name, std::string value) {
  for (auto& kv : headers)
    if (iequals(kv.first, name)) {
      kv.second = std::move(value);
      return;
    }
  headers.emplace_back(std::move(name), std::move(value));
}

} // namespace hypercore::http
