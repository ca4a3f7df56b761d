// SPDX-License-Identifier: Apache-2.0
#include "hypercore/core/admission.hpp"

#include "hypercore/core/errc.hpp"
#include "hypercore/core/routing.hpp"
#include "hypercore/core/utf8.hpp"

namespace hypercore {

caf::expected<nlohmann::json> parse_params(const std::string& text,
                                           const admission_limits& limits) {
  if (text.size() > limits.max_params_bytes)
    return make_error(errc::payload_too_large,
                      "params are " + std::to_string(text.size()) + " bytes; the limit is "
                        + std::to_string(limits.max_params_bytes));
  if (text.empty()) return nlohmann::json::object();
  bool too_deep = false;
  auto depth_guard = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (static_cast<std::size_t>(depth) > limits.max_json_depth) too_deep = true;
    return !too_deep;
  };
  auto parsed = nlohmann::json::parse(text, depth_guard, /*allow_exceptions=*/false);
  if (too_deep)
    return make_error(errc::payload_too_large,
                      "params nest deeper than " + std::to_string(limits.max_json_depth));
  if (parsed.is_discarded()) return make_error(errc::invalid_params, "params are not valid JSON");
  return parsed;
}

caf::expected<job> admit(job_spec spec, const kind_catalog& catalog,
                         const admission_limits& limits, const job* parent,
                         std::int64_t now_ms) {
  // UTF-8 first: every later message may quote these strings.
  for (const auto* text : {&spec.kind, &spec.partition_key, &spec.idempotency_key,
                           &spec.session_id})
    if (!is_valid_utf8(*text))
      return make_error(errc::invalid_utf8,
                        "kind, partition_key, idempotency_key and session_id must be UTF-8");
  if (spec.kind.empty() || spec.kind.size() > limits.max_kind_bytes)
    return make_error(errc::invalid_request, "kind must be 1 to "
                                               + std::to_string(limits.max_kind_bytes) + " bytes");
  const auto* entry = catalog.find(spec.kind);
  if (entry == nullptr)
    return make_error(errc::unknown_kind, "no agent is registered for kind '"
                                            + quote_for_message(spec.kind, 128) + "'");
  if (spec.partition_key.size() > limits.max_key_bytes
      || spec.idempotency_key.size() > limits.max_key_bytes
      || spec.session_id.size() > limits.max_key_bytes)
    return make_error(errc::payload_too_large,
                      "partition_key, idempotency_key and session_id are limited to "
                        + std::to_string(limits.max_key_bytes) + " bytes");
  if (spec.max_attempts > limits.max_attempts_cap)
    return make_error(errc::invalid_request,
                      "max_attempts is limited to " + std::to_string(limits.max_attempts_cap));
  if (spec.priority < limits.min_priority || spec.priority > limits.max_priority)
    return make_error(errc::invalid_request, "priority must be from "
                                               + std::to_string(limits.min_priority) + " to "
                                               + std::to_string(limits.max_priority));
  if (spec.delay_ms > limits.max_delay_ms)
    return make_error(errc::invalid_request,
                      "delay_ms is limited to " + std::to_string(limits.max_delay_ms));
  auto params = parse_params(spec.params, limits);
  if (!params) return params.error();
  if (entry->validate)
    if (auto err = entry->validate(*params)) return err;
  job j;
  j.id = job_id::generate();
  j.kind = std::move(spec.kind);
  j.params = spec.params.empty() ? std::string{"{}"} : std::move(spec.params);
  j.partition_key = std::move(spec.partition_key);
  j.session_id = std::move(spec.session_id);
  j.idempotency_key = std::move(spec.idempotency_key);
  j.priority = spec.priority;
  j.max_attempts = spec.max_attempts != 0 ? spec.max_attempts
                                          : entry->options.retry.max_attempts;
  j.partition = partition_for(j.partition_key, j.id, limits.partitions);
  j.created_at_ms = now_ms;
  j.updated_at_ms = now_ms;
  j.run_at_ms = now_ms + static_cast<std::int64_t>(spec.delay_ms);
  if (parent != nullptr) {
    if (parent->depth + 1 > limits.max_chain_depth)
      return make_error(errc::chain_too_deep,
                        "follow-up chain deeper than " + std::to_string(limits.max_chain_depth)
                          + " jobs");
    j.depth = parent->depth + 1;
    j.parent_id = parent->id;
    j.trace_id = parent->trace_id;
    if (j.session_id.empty()) j.session_id = parent->session_id;
  } else {
    j.trace_id = j.id.to_string();
  }
  return j;
}

} // namespace hypercore
