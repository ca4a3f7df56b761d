// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hypercore/core/job.hpp"

namespace hypercore {

/// The public JSON form of a job (export, CLI, HTTP API): ids as text,
/// params and output as embedded JSON, timestamps in ms since the epoch.
nlohmann::json to_json(const job& j, const std::optional<std::string>& output = std::nullopt);

/// JSON text that never throws: bytes that are not UTF-8 (stored before the
/// edge checked them, or quoted in a message) become U+FFFD.
std::string safe_dump(const nlohmann::json& value);

} // namespace hypercore
