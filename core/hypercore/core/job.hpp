// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "hypercore/core/job_id.hpp"
#include "hypercore/core/status.hpp"

namespace hypercore {

/// What a client asks for: the input of submit, and of an agent's emit().
/// Empty strings mean "not set"; 0 for max_attempts means "the kind's default".
struct job_spec {
  std::string kind;
  /// Params as JSON text; empty means {}.
  std::string params;
  std::string partition_key;
  std::string session_id;
  std::int32_t priority = 0;
  std::uint64_t delay_ms = 0;
  std::uint32_t max_attempts = 0;
  std::string idempotency_key;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_spec& x) {
  return f(caf::meta::type_name("job_spec"), x.kind, x.params, x.partition_key,
           x.session_id, x.priority, x.delay_ms, x.max_attempts,
           x.idempotency_key);
}

/// One failed attempt, kept in the job's history.
struct error_entry {
  std::uint32_t attempt = 0;
  std::int64_t at_ms = 0;
  std::string message;
  bool retryable = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, error_entry& x) {
  return f(caf::meta::type_name("error_entry"), x.attempt, x.at_ms, x.message,
           x.retryable);
}

/// The durable record of a job: what LMDB stores under its id (see
/// docs/STORAGE.md) and what travels between partitions and agents.
struct job {
  job_id id;
  std::string kind;
  std::string params;
  std::string partition_key;
  std::string session_id;
  std::string idempotency_key;
  std::string trace_id;
  job_id parent_id;
  job_status status = job_status::pending;
  std::int32_t priority = 0;
  /// Attempts started so far; the running attempt's number while running.
  std::uint32_t attempts = 0;
  std::uint32_t max_attempts = 0;
  /// Depth in its follow-up chain: 0 for a submitted job.
  std::uint32_t depth = 0;
  /// The partition that owns the job and its position there (submit order).
  std::uint16_t partition = 0;
  std::uint64_t seq = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t run_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  std::int64_t finished_at_ms = 0;
  std::vector<error_entry> errors;
  /// Ids of the follow-up jobs it emitted on success.
  std::vector<job_id> followups;
  /// Bumped by every durable transition (1 when journaled): the event id of
  /// the job's live stream.
  std::uint64_t revision = 0;
};

/// What a partition's window keeps of a waiting job, read from its record
/// without the params and the history (persistence::decode_job_head). The
/// views point into the record: valid only inside the read transaction.
struct job_head {
  job_id id;
  std::string_view kind;
  std::string_view partition_key;
  job_status status = job_status::pending;
  std::int32_t priority = 0;
  std::uint64_t seq = 0;
  std::int64_t run_at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job& x) {
  return f(caf::meta::type_name("job"), x.id, x.kind, x.params, x.partition_key,
           x.session_id, x.idempotency_key, x.trace_id, x.parent_id, x.status,
           x.priority, x.attempts, x.max_attempts, x.depth, x.partition, x.seq,
           x.created_at_ms, x.run_at_ms, x.updated_at_ms, x.finished_at_ms,
           x.errors, x.followups, x.revision);
}

} // namespace hypercore
