// SPDX-License-Identifier: Apache-2.0
#include "hypercore/http/router.hpp"

#include <string_view>

namespace hypercore::http {

namespace {

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 1; // after the leading '/'
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

} // namespace

void router::add(std::string method, const std::string& pattern, handler h, runs_on where) {
  routes_.push_back({std::move(method), split(pattern), std::move(h), where, pattern, routes_.size()});
}

const route* router::match(request& req) const {
  if (req.path.empty() || req.path.front() != '/') return nullptr;
  std::string_view path = req.path;
  for (const auto& r : routes_) {
    if (r.method != req.method) continue;
    std::vector<std::string> captured;
    std::size_t start = 1;
    bool ok = true;
    for (std::size_t i = 0; i < r.segments.size(); ++i) {
      if (start > path.size()) {
        ok = false;
        break;
      }
      auto slash = path.find('/', start);
      auto last = slash == std::string_view::npos;
      auto segment = path.substr(start, (last ? path.size() : slash) - start);
      if (r.segments[i] == "{}") {
        if (segment.empty()) ok = false;
        else captured.emplace_back(segment);
      } else if (segment != r.segments[i]) {
        ok = false;
      }
      if (!ok) break;
      // The pattern's last segment must end the path, and no earlier one may.
      if (last != (i + 1 == r.segments.size())) {
        ok = false;
        break;
      }
      start = last ? path.size() + 1 : slash + 1;
    }
    if (!ok) continue;
    req.matches = std::move(captured);
    return &r;
  }
  return nullptr;
}

} // namespace hypercore::http
