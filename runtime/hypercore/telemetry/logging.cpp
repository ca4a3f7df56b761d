// SPDX-License-Identifier: Apache-2.0
#include "hypercore/telemetry/logging.hpp"

#include <chrono>
#include <ctime>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "hypercore/core/log_context.hpp"

namespace hypercore::telemetry {

namespace {

std::optional<spdlog::level::level_enum> level_of(std::string_view name) {
  for (auto l : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                 spdlog::level::warn, spdlog::level::err, spdlog::level::critical,
                 spdlog::level::off}) {
    auto sv = spdlog::level::to_string_view(l);
    if (std::string_view{sv.data(), sv.size()} == name) return l;
  }
  if (name == "error") return spdlog::level::err;
  if (name == "warning") return spdlog::level::warn;
  return std::nullopt;
}

std::string iso8601_utc(std::chrono::system_clock::time_point at) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char out[32];
  std::size_t n = std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(out + n, sizeof out - n, ".%03dZ", static_cast<int>(ms % 1000));
  return out;
}

// One JSON object per record. The fields of the logging thread's log_scope
// are added; a field never replaces ts, level or msg.
class json_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    // Ordered: ts, level and msg first, then the fields, as written.
    nlohmann::ordered_json line = nlohmann::ordered_json::object();
    line["ts"] = iso8601_utc(msg.time);
    auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = msg.level == spdlog::level::err ? std::string{"error"}
                    : msg.level == spdlog::level::warn
                      ? std::string{"warn"}
                      : std::string{level.data(), level.size()};
    line["msg"] = std::string{msg.payload.data(), msg.payload.size()};
    for (const auto& [key, value] : log_scope::current()) {
      std::string k{key};
      if (!line.contains(k)) line[k] = value;
    }
    auto text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

} // namespace

std::unique_ptr<spdlog::formatter> make_json_formatter() {
  return std::make_unique<json_formatter>();
}

std::optional<log_format> parse_log_format(std::string_view name) {
  if (name == "json") return log_format::json;
  if (name == "text") return log_format::text;
  return std::nullopt;
}

bool configure_logging(log_format format, std::string_view level) {
  auto l = level_of(level);
  if (!l) return false;
  // Not registered by name, so configuring again (tests) replaces it.
  std::shared_ptr<spdlog::logger> logger;
  if (format == log_format::json) {
    logger = std::make_shared<spdlog::logger>("hypercore",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_formatter(std::make_unique<json_formatter>());
  } else {
    logger = std::make_shared<spdlog::logger>(
      "hypercore", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  }
  logger->set_level(*l);
  // Errors reach the file at once; the rest on spdlog's periodic flush.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return true;
}

bool set_log_level(std::string_view level) {
  auto l = level_of(level);
  if (!l) return false;
  spdlog::set_level(*l);
  return true;
}

std::string log_level() {
  auto l = spdlog::default_logger()->level();
  if (l == spdlog::level::err) return "error";
  if (l == spdlog::level::warn) return "warn";
  auto sv = spdlog::level::to_string_view(l);
  return {sv.data(), sv.size()};
}

} // namespace hypercore::telemetry
