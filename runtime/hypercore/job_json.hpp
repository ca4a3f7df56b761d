// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hypercore/core/feed_messages.hpp"
#include "hypercore/core/job.hpp"

namespace hypercore {

/// The public JSON form of a job (export, CLI, HTTP API): ids as text,
/// params and output as embedded JSON, timestamps in ms since the epoch.
nlohmann::json to_json(const job& j, const std::optional<std::string>& output = std::nullopt);

/// The public JSON form of a feed transition (event streams): the job's id,
/// kind, status after and before, attempt, revision, feed position, times,
/// trace and chain fields, and a failed attempt's error.
nlohmann::json to_json(const transition& t);

/// The event name of a transition on the firehose (/v1/events): created,
/// started, retrying, succeeded, dead, cancelled, replayed, purged,
/// session_written, session_deleted.
std::string_view event_type(const transition& t);

/// JSON text that never throws: bytes that are not UTF-8 (stored before the
/// edge checked them, or quoted in a message) become U+FFFD.
std::string safe_dump(const nlohmann::json& value);

} // namespace hypercore
