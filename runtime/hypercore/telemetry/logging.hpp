// SPDX-License-Identifier: Apache-2.0
#pragma once

// How the process logs: spdlog's default logger, to stderr, as text for a
// terminal or as one JSON object per line (ts, level, msg, and the fields
// of the thread's log_scope: job_id, kind, attempt, partition, ...). The
// JSON is built by nlohmann::json, so quotes, control characters and bytes
// that are not UTF-8 are escaped or replaced (spdlog's pattern alone
// escapes nothing).

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace spdlog {
class formatter;
}

namespace hypercore::telemetry {

enum class log_format { text, json };

/// "json" or "text"; nullopt for anything else.
std::optional<log_format> parse_log_format(std::string_view name);

/// Installs the default logger: `format`, at `level` ("trace", "debug",
/// "info", "warn", "error", "critical", "off"). False, changing nothing,
/// for an unknown level.
bool configure_logging(log_format format, std::string_view level);

/// The JSON-lines formatter configure_logging installs (for tests and for
/// programs that embed the engine with sinks of their own).
std::unique_ptr<spdlog::formatter> make_json_formatter();

/// Changes the level at run time (PUT /v1/admin/log-level); false, changing
/// nothing, for an unknown level.
bool set_log_level(std::string_view level);
std::string log_level();

} // namespace hypercore::telemetry
