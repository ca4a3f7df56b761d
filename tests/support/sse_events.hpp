// SPDX-License-Identifier: Apache-2.0
#pragma once

// Parsing Server-Sent Events text in tests (HTTP streams and event_stream).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hypercore::test {

/// One Server-Sent Event as a test reads it.
struct sse_event {
  std::uint64_t id = 0;
  std::string type;
  nlohmann::json data;
};

/// The whole events in `text` (a trailing partial one is left out);
/// comments (heartbeats) are skipped.
inline std::vector<sse_event> parse_events(const std::string& text) {
  std::vector<sse_event> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find("\n\n", pos);
    if (end == std::string::npos) break;
    auto block = text.substr(pos, end - pos);
    pos = end + 2;
    sse_event ev;
    std::size_t line_start = 0;
    while (line_start < block.size()) {
      auto line_end = block.find('\n', line_start);
      if (line_end == std::string::npos) line_end = block.size();
      auto line = block.substr(line_start, line_end - line_start);
      if (line.rfind("id: ", 0) == 0) ev.id = std::stoull(line.substr(4));
      else if (line.rfind("event: ", 0) == 0) ev.type = line.substr(7);
      else if (line.rfind("data: ", 0) == 0) ev.data = nlohmann::json::parse(line.substr(6));
      line_start = line_end + 1;
    }
    if (!ev.type.empty()) out.push_back(ev);
  }
  return out;
}


} // namespace hypercore::test
