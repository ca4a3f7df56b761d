// SPDX-License-Identifier: Apache-2.0
#include "hypercore/http/json_body.hpp"

#include <set>
#include <string>
#include <vector>

#include "hypercore/core/utf8.hpp"

namespace hypercore::http {

std::size_t json_depth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > deepest) deepest = depth;
        if (deepest > limit) return limit + 1;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return deepest;
}

std::variant<nlohmann::json, api_error> parse_json_body(std::string_view text,
                                                        std::size_t max_depth) {
  if (json_depth(text, max_depth) > max_depth)
    return make_api_error(errc::payload_too_large,
                          "the body nests deeper than " + std::to_string(max_depth));
  // One set of seen keys per open object; the callback sees keys in order.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  bool has_duplicate = false;
  auto guard = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& value) {
    using ev = nlohmann::json::parse_event_t;
    if (event == ev::object_start) {
      open_objects.emplace_back();
    } else if (event == ev::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == ev::key && !open_objects.empty()) {
      auto key = value.get<std::string>();
      if (!open_objects.back().insert(key).second) {
        if (!has_duplicate) duplicate = std::move(key);
        has_duplicate = true;
        return false;
      }
    }
    return true;
  };
  auto doc = nlohmann::json::parse(text.begin(), text.end(), guard, /*allow_exceptions=*/false);
  if (has_duplicate)
    return make_api_error(errc::duplicate_key,
                          "the body names the key '" + quote_for_message(duplicate)
                            + "' twice in one object");
  if (doc.is_discarded())
    return make_api_error(errc::invalid_json, "the body is not valid JSON (UTF-8)");
  return doc;
}

} // namespace hypercore::http
