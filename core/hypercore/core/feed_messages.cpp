// SPDX-License-Identifier: Apache-2.0
#include "hypercore/core/feed_messages.hpp"

namespace hypercore {

std::string_view to_string(transition_cause c) {
  switch (c) {
    case transition_cause::submitted: return "submitted";
    case transition_cause::started: return "started";
    case transition_cause::outcome: return "outcome";
    case transition_cause::followup: return "followup";
    case transition_cause::replayed: return "replayed";
    case transition_cause::purged: return "purged";
    case transition_cause::session_written: return "session_written";
    case transition_cause::session_deleted: return "session_deleted";
  }
  return "unknown";
}

namespace {

bool is_session_cause(transition_cause c) {
  return c == transition_cause::session_written || c == transition_cause::session_deleted;
}

} // namespace

bool matches(const feed_filter& filter, const transition& t) {
  if (filter.causes != 0 && (filter.causes & feed_filter::bit(t.cause)) == 0) return false;
  if (!filter.session_id.empty() && filter.session_id != t.session_id) return false;
  bool job_fields = !filter.job.empty() || !filter.kind.empty() || !filter.trace_id.empty()
                    || !filter.partition_key.empty() || filter.statuses != 0
                    || filter.partition >= 0;
  if (is_session_cause(t.cause)) return !job_fields;
  if (!filter.job.empty() && filter.job != t.id) return false;
  if (filter.statuses != 0 && (filter.statuses & feed_filter::bit(t.to)) == 0) return false;
  if (filter.partition >= 0 && filter.partition != static_cast<std::int32_t>(t.partition))
    return false;
  if (!filter.kind.empty() && filter.kind != t.kind) return false;
  if (!filter.trace_id.empty() && filter.trace_id != t.trace_id) return false;
  if (!filter.partition_key.empty() && filter.partition_key != t.partition_key) return false;
  return true;
}

} // namespace hypercore
