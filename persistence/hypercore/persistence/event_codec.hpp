// SPDX-License-Identifier: Apache-2.0
#pragma once

// The event log's record layout (docs/STORAGE.md, "events"): one versioned
// binary record per transition, keyed by its big-endian feed position.

#include <optional>
#include <string>
#include <string_view>

#include "hypercore/core/feed_messages.hpp"

namespace hypercore::persistence {

inline constexpr std::uint8_t event_record_version = 1;

/// Encodes a transition (its position is the key, not part of the record).
std::string encode_transition(const transition& t);
/// The same encoding into `out` (cleared first), so a caller that encodes
/// many reuses one buffer instead of allocating a string per record.
void encode_transition(const transition& t, std::string& out);

/// Decodes a record written by encode_transition; nullopt for a torn or
/// corrupted record or an unknown version. `position` comes from the key.
std::optional<transition> decode_transition(std::string_view bytes, std::uint64_t position);

} // namespace hypercore::persistence
