// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "hypercore/http/json_body.hpp"
#include "hypercore/http/secrets.hpp"

using namespace hypercore::http;

namespace {

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string code_of(const std::variant<nlohmann::json, api_error>& r) {
  return std::holds_alternative<api_error>(r) ? std::get<api_error>(r).code : "";
}

} // namespace

TEST_CASE("nesting depth is counted without recursion, strings aside", "[unit][http][bounds]") {
  CHECK(json_depth("{}", 64) == 1);
  CHECK(json_depth(R"({"a":[{"b":"[[[["}]})", 64) == 3);
  CHECK(json_depth(R"("\"[")", 64) == 0);
  CHECK(json_depth(nested(100'000), 64) == 65);
}

TEST_CASE("a body past the depth limit is refused before any parse", "[unit][http][bounds]") {
  CHECK(code_of(parse_json_body(nested(64), 64)).empty());
  CHECK(code_of(parse_json_body(nested(65), 64)) == "payload_too_large");
  CHECK(code_of(parse_json_body("{\"data\":" + nested(100'000) + "}", 64)) == "payload_too_large");
}

TEST_CASE("duplicate keys, invalid JSON and invalid UTF-8 are refused", "[unit][http][validation]") {
  CHECK(code_of(parse_json_body(R"({"a":1,"a":2})", 64)) == "duplicate_key");
  CHECK(code_of(parse_json_body(R"({"x":{"a":1,"a":2}})", 64)) == "duplicate_key");
  CHECK(code_of(parse_json_body(R"({"":1,"":2})", 64)) == "duplicate_key");
  CHECK(code_of(parse_json_body(R"([{"a":1},{"a":2}])", 64)).empty());
  CHECK(code_of(parse_json_body("{\"a\":\"\xff\"}", 64)) == "invalid_json");
  CHECK(code_of(parse_json_body("{\"a\":", 64)) == "invalid_json");
  CHECK(code_of(parse_json_body("", 64)) == "invalid_json");
}

TEST_CASE("token comparison is exact", "[unit][http][auth]") {
  CHECK(constant_time_equals("Bearer abc", "Bearer abc"));
  CHECK_FALSE(constant_time_equals("Bearer abc", "Bearer abd"));
  CHECK_FALSE(constant_time_equals("Bearer abc", "Bearer abcd"));
  CHECK_FALSE(constant_time_equals("", "x"));
  CHECK(constant_time_equals("", ""));
}
