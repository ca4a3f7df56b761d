// SPDX-License-Identifier: Apache-2.0
#pragma once

// UTF-8 rules for every string that comes from outside: validate at the
// edge, cut messages on character boundaries, and render stored bytes so
// that no later read, stream or export can fail on them.

#include <cstddef>
#include <string>
#include <string_view>

namespace hypercore {

/// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, no
/// code points above U+10FFFF).
bool is_valid_utf8(std::string_view text);

/// The longest prefix of `text` of at most `max_bytes` bytes that does not
/// cut a UTF-8 sequence in half.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

/// `text` with every ill-formed byte replaced by U+FFFD, for messages and
/// exports of bytes that were stored before they were checked.
std::string utf8_sanitized(std::string_view text);

/// A bounded, printable quote of outside text for an error message:
/// utf8_sanitized(utf8_prefix(text, max_bytes)).
std::string quote_for_message(std::string_view text, std::size_t max_bytes = 64);

} // namespace hypercore
