// SPDX-License-Identifier: Apache-2.0
// Fuzzes the guard every JSON body passes (sessions, patches, any route):
// what it accepts nests no deeper than the limit, is valid UTF-8 (it dumps
// without throwing) and survives a round trip; what it refuses renders.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "hypercore/http/json_body.hpp"

using namespace hypercore;

namespace {

constexpr std::size_t max_depth = 16;

// Depth of a parsed document, without recursion (the point of the guard).
std::size_t depth_of(const nlohmann::json& root) {
  std::size_t deepest = 0;
  std::vector<std::pair<const nlohmann::json*, std::size_t>> todo{{&root, 0}};
  while (!todo.empty()) {
    auto [node, depth] = todo.back();
    todo.pop_back();
    if (!node->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const auto& child : *node) todo.emplace_back(&child, depth + 1);
  }
  return deepest;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = fuzz::as_text(data, size);

  auto parsed = http::parse_json_body(text, max_depth);

  if (auto* err = std::get_if<http::api_error>(&parsed)) {
    fuzz::require_renderable(*err);
    return 0;
  }
  const auto& doc = std::get<nlohmann::json>(parsed);
  fuzz::require(depth_of(doc) <= max_depth, "an accepted body nests within the limit");
  fuzz::require(http::json_depth(text, max_depth) <= max_depth, "the pre-scan agrees");
  std::string dumped;
  try {
    dumped = doc.dump();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dump threw: %s\n", e.what());
    std::abort();
  }
  auto again = http::parse_json_body(dumped, max_depth);
  fuzz::require(std::holds_alternative<nlohmann::json>(again), "a dumped body is accepted again");
  fuzz::require(std::get<nlohmann::json>(again) == doc, "a dumped body reads back equal");
  return 0;
}
