// SPDX-License-Identifier: Apache-2.0
#include "hypercore/http/api_error.hpp"

#include "hypercore/core/errc.hpp"

namespace hypercore::http {

std::string api_error::body() const {
  nlohmann::json e{{"code", code}, {"message", message}};
  if (!details.is_null()) e["details"] = details;
  // Messages quote outside text; a stray byte must not turn a 4xx into a crash.
  return nlohmann::json{{"error", std::move(e)}}.dump(-1, ' ', false,
                                                      nlohmann::json::error_handler_t::replace);
}

api_error to_api_error_without_details(const caf::error& err);

api_error make_api_error(int status, std::string code, std::string message,
                         nlohmann::json details) {
  return {status, std::move(code), std::move(message), std::move(details)};
}

api_error to_api_error(const caf::error& err) {
  auto out = to_api_error_without_details(err);
  if (auto details = details_of(err); !details.empty()) {
    auto parsed = nlohmann::json::parse(details, nullptr, false);
    if (!parsed.is_discarded()) out.details = std::move(parsed);
  }
  return out;
}

api_error to_api_error_without_details(const caf::error& err) {
  auto message = message_of(err);
  switch (code_of(err)) {
    case errc::unknown_kind: return {400, "unknown_kind", message, nullptr};
    case errc::invalid_params: return {400, "invalid_params", message, nullptr};
    case errc::payload_too_large: return {413, "payload_too_large", message, nullptr};
    case errc::malformed_id: return {400, "malformed_id", message, nullptr};
    case errc::not_found: return {404, "not_found", message, nullptr};
    case errc::invalid_transition: return {409, "invalid_transition", message, nullptr};
    case errc::shutting_down: return {503, "shutting_down", message, nullptr};
    case errc::chain_too_deep: return {400, "chain_too_deep", message, nullptr};
    case errc::timeout: return {408, "timeout", message, nullptr};
    case errc::conflict: return {409, "conflict", message, nullptr};
    case errc::invalid_request: return {400, "invalid_request", message, nullptr};
    case errc::overloaded: return {503, "overloaded", message, nullptr};
    case errc::not_running: return {503, "not_ready", message, nullptr};
    case errc::invalid_config: return {400, "invalid_request", message, nullptr};
    case errc::invalid_utf8: return {400, "invalid_utf8", message, nullptr};
    case errc::storage_full: return {507, "storage_full", message, nullptr};
    case errc::storage_failure:
    case errc::storage_unavailable: return {503, "storage_unavailable", message, nullptr};
    case errc::unavailable: return {503, "unavailable", message, nullptr};
    case errc::data_dir_locked:
    case errc::foreign_data_dir:
    case errc::newer_format:
    case errc::agent_crashed:
    case errc::agent_timeout:
      return {500, "internal", message, nullptr};
  }
  return {500, "internal", message, nullptr};
}

} // namespace hypercore::http
