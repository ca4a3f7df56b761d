// SPDX-License-Identifier: Apache-2.0
#include "hypercore/core/errc.hpp"

#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace hypercore {

std::string_view to_string(errc x) {
  switch (x) {
    case errc::unknown_kind: return "unknown_kind";
    case errc::invalid_params: return "invalid_params";
    case errc::payload_too_large: return "payload_too_large";
    case errc::malformed_id: return "malformed_id";
    case errc::not_found: return "not_found";
    case errc::invalid_transition: return "invalid_transition";
    case errc::shutting_down: return "shutting_down";
    case errc::foreign_data_dir: return "foreign_data_dir";
    case errc::newer_format: return "newer_format";
    case errc::storage_failure: return "storage_failure";
    case errc::chain_too_deep: return "chain_too_deep";
    case errc::timeout: return "timeout";
    case errc::conflict: return "conflict";
    case errc::agent_crashed: return "agent_crashed";
    case errc::agent_timeout: return "agent_timeout";
    case errc::invalid_config: return "invalid_config";
    case errc::not_running: return "not_running";
    case errc::invalid_request: return "invalid_request";
    case errc::overloaded: return "overloaded";
    case errc::invalid_utf8: return "invalid_utf8";
    case errc::storage_full: return "storage_full";
    case errc::storage_unavailable: return "storage_unavailable";
    case errc::data_dir_locked: return "data_dir_locked";
    case errc::unavailable: return "unavailable";
    case errc::already_running: return "already_running";
    case errc::invalid_json: return "invalid_json";
    case errc::duplicate_key: return "duplicate_key";
    case errc::unauthorized: return "unauthorized";
    case errc::rate_limited: return "rate_limited";
    case errc::internal: return "internal";
    case errc::headers_too_large: return "headers_too_large";
    case errc::too_many_connections: return "too_many_connections";
  }
  return "unknown_error";
}

caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<std::uint8_t>(code), hypercore_error_atom::value,
                    caf::make_message(std::move(message))};
}

caf::error make_error(errc code, std::string message, std::string details_json) {
  return caf::error{static_cast<std::uint8_t>(code), hypercore_error_atom::value,
                    caf::make_message(std::move(message), std::move(details_json))};
}

std::string details_of(const caf::error& err) {
  if (!err || err.category() != hypercore_error_atom::value) return {};
  const auto& ctx = err.context();
  if (ctx.match_elements<std::string, std::string>()) return ctx.get_as<std::string>(1);
  return {};
}

errc code_of(const caf::error& err) {
  // CAF 0.17's error has no category when empty; asking for one crashes.
  if (!err) return static_cast<errc>(0);
  if (err.category() != hypercore_error_atom::value) return static_cast<errc>(0);
  return static_cast<errc>(err.code());
}

std::string message_of(const caf::error& err) {
  if (!err) return {};
  if (err.category() == hypercore_error_atom::value) {
    const auto& ctx = err.context();
    if (ctx.match_elements<std::string>() || ctx.match_elements<std::string, std::string>()) {
      auto text = ctx.get_as<std::string>(0);
      if (!text.empty()) return text;
    }
    return std::string{to_string(static_cast<errc>(err.code()))};
  }
  if (err.category() == caf::atom("system"))
    return caf::to_string(static_cast<caf::sec>(err.code()));
  return "error " + std::to_string(err.code());
}

} // namespace hypercore
