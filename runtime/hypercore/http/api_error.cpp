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

http_code http_code_of(errc code) {
  switch (code) {
    case errc::unknown_kind: return {400, "unknown_kind"};
    case errc::invalid_params: return {400, "invalid_params"};
    case errc::payload_too_large: return {413, "payload_too_large"};
    case errc::malformed_id: return {400, "malformed_id"};
    case errc::not_found: return {404, "not_found"};
    case errc::invalid_transition: return {409, "invalid_transition"};
    case errc::shutting_down: return {503, "shutting_down"};
    case errc::chain_too_deep: return {400, "chain_too_deep"};
    case errc::timeout: return {408, "timeout"};
    case errc::conflict: return {409, "conflict"};
    case errc::invalid_request: return {400, "invalid_request"};
    case errc::overloaded: return {503, "overloaded"};
    case errc::not_running: return {503, "not_ready"};
    case errc::invalid_config: return {400, "invalid_request"};
    case errc::invalid_utf8: return {400, "invalid_utf8"};
    case errc::storage_full: return {507, "storage_full"};
    case errc::storage_failure:
    case errc::storage_unavailable: return {503, "storage_unavailable"};
    case errc::unavailable: return {503, "unavailable"};
    case errc::invalid_json: return {400, "invalid_json"};
    case errc::duplicate_key: return {400, "duplicate_key"};
    case errc::unauthorized: return {401, "unauthorized"};
    case errc::rate_limited: return {429, "rate_limited"};
    case errc::headers_too_large: return {431, "headers_too_large"};
    case errc::too_many_connections: return {503, "too_many_connections"};
    case errc::already_running:
    case errc::data_dir_locked:
    case errc::foreign_data_dir:
    case errc::newer_format:
    case errc::agent_crashed:
    case errc::agent_timeout:
    case errc::internal:
      return {500, "internal"};
  }
  return {500, "internal"};
}

api_error make_api_error(errc code, std::string message, nlohmann::json details) {
  auto http = http_code_of(code);
  return {http.status, std::string{http.code}, std::move(message), std::move(details)};
}

api_error to_api_error(const caf::error& err) {
  auto out = make_api_error(code_of(err), message_of(err));
  if (auto details = details_of(err); !details.empty()) {
    auto parsed = nlohmann::json::parse(details, nullptr, false);
    if (!parsed.is_discarded()) out.details = std::move(parsed);
  }
  return out;
}

} // namespace hypercore::http
