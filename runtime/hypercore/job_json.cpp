// SPDX-License-Identifier: Apache-2.0
#include "hypercore/job_json.hpp"

namespace hypercore {

namespace {

// Stored params and outputs are valid JSON (checked on the way in); should
// one not parse, it is exported as a string rather than dropped.
nlohmann::json embedded(const std::string& text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json(text) : parsed;
}

} // namespace

nlohmann::json to_json(const job& j, const std::optional<std::string>& output) {
  nlohmann::json out{
    {"id", j.id.to_string()},
    {"kind", j.kind},
    {"status", std::string{to_string(j.status)}},
    {"params", embedded(j.params)},
    {"priority", j.priority},
    {"attempts", j.attempts},
    {"max_attempts", j.max_attempts},
    {"trace_id", j.trace_id},
    {"depth", j.depth},
    {"partition", j.partition},
    {"created_at_ms", j.created_at_ms},
    {"run_at_ms", j.run_at_ms},
    {"updated_at_ms", j.updated_at_ms},
    {"revision", j.revision},
  };
  if (!j.partition_key.empty()) out["partition_key"] = j.partition_key;
  if (!j.session_id.empty()) out["session_id"] = j.session_id;
  if (!j.idempotency_key.empty()) out["idempotency_key"] = j.idempotency_key;
  if (!j.parent_id.empty()) out["parent_id"] = j.parent_id.to_string();
  if (j.finished_at_ms != 0) out["finished_at_ms"] = j.finished_at_ms;
  auto errors = nlohmann::json::array();
  for (const auto& e : j.errors)
    errors.push_back({{"attempt", e.attempt}, {"at_ms", e.at_ms}, {"message", e.message},
                      {"retryable", e.retryable}});
  out["errors"] = std::move(errors);
  auto followups = nlohmann::json::array();
  for (const auto& f : j.followups) followups.push_back(f.to_string());
  out["followups"] = std::move(followups);
  if (output) out["output"] = embedded(*output);
  return out;
}

namespace {

bool is_session_transition(const transition& t) {
  return t.cause == transition_cause::session_written || t.cause == transition_cause::session_deleted;
}

} // namespace

nlohmann::json to_json(const transition& t) {
  nlohmann::json out{
    {"position", t.position},
    {"type", std::string{event_type(t)}},
    {"cause", std::string{to_string(t.cause)}},
    {"at_ms", t.at_ms},
  };
  if (is_session_transition(t)) {
    out["session_id"] = t.session_id;
    out["expires_at_ms"] = t.expires_at_ms;
    return out;
  }
  out["job_id"] = t.id.to_string();
  out["kind"] = t.kind;
  out["status"] = std::string{to_string(t.to)};
  bool fresh = t.cause == transition_cause::submitted || t.cause == transition_cause::followup;
  out["previous_status"] = fresh ? nlohmann::json(nullptr) : nlohmann::json(std::string{to_string(t.from)});
  out["attempt"] = t.attempt;
  out["revision"] = t.revision;
  out["partition"] = t.partition;
  out["seq"] = t.seq;
  out["run_at_ms"] = t.run_at_ms;
  out["created_at_ms"] = t.created_at_ms;
  out["trace_id"] = t.trace_id;
  if (!t.parent_id.empty()) out["parent_id"] = t.parent_id.to_string();
  if (!t.session_id.empty()) out["session_id"] = t.session_id;
  if (!t.partition_key.empty()) out["partition_key"] = t.partition_key;
  if (!t.error.empty()) {
    out["error"] = t.error;
    out["retryable"] = t.retryable;
  }
  return out;
}

std::string_view event_type(const transition& t) {
  switch (t.cause) {
    case transition_cause::submitted:
    case transition_cause::followup: return "created";
    case transition_cause::started: return "started";
    case transition_cause::replayed: return "replayed";
    case transition_cause::purged: return "purged";
    case transition_cause::session_written: return "session_written";
    case transition_cause::session_deleted: return "session_deleted";
    case transition_cause::outcome: break;
  }
  switch (t.to) {
    case job_status::retrying: return "retrying";
    case job_status::succeeded: return "succeeded";
    case job_status::dead: return "dead";
    case job_status::cancelled: return "cancelled";
    default: return "changed";
  }
}

std::string safe_dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace hypercore
