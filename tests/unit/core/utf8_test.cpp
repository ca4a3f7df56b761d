// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "hypercore/core/utf8.hpp"

using namespace hypercore;

TEST_CASE("well-formed UTF-8 is accepted and ill-formed bytes are refused", "[unit][core][utf8]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));

  CHECK_FALSE(is_valid_utf8("\xff"));
  CHECK_FALSE(is_valid_utf8("\xc3"));             // truncated
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));         // overlong
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));     // surrogate
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\x80"));             // lone continuation
}

TEST_CASE("a prefix never cuts a character in half", "[unit][core][utf8]") {
  std::string text = std::string(63, 'a') + "\xc3\xa9";

  CHECK(utf8_prefix(text, 64) == std::string(63, 'a'));
  CHECK(utf8_prefix(text, 65) == text);
  CHECK(utf8_prefix("\xe2\x82\xac", 2).empty());
  CHECK(is_valid_utf8(quote_for_message(std::string(200, 'x') + "\xf0\x9f\x98\x80", 130)));
}

TEST_CASE("sanitizing replaces each bad byte and keeps the rest", "[unit][core][utf8]") {
  CHECK(utf8_sanitized("a\xff" "b") == "a\xef\xbf\xbd" "b");
  CHECK(utf8_sanitized("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(is_valid_utf8(utf8_sanitized("\xc3\x28\xa0\xa1\xe2\x28\xa1")));
}
