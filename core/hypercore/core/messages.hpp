// SPDX-License-Identifier: Apache-2.0
#pragma once

// Every message that flows between Hypercore's actors: atoms (<verb>_atom),
// commands (verb_noun), events (noun_past_participle) and replies (nouns).
// Each struct has an inspect() so it can cross nodes, and all of them are
// registered once, in register_message_types().

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "hypercore/core/job.hpp"

namespace hypercore {

using work_atom = caf::atom_constant<caf::atom("work")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using drain_atom = caf::atom_constant<caf::atom("drain")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using respawn_atom = caf::atom_constant<caf::atom("respawn")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using delete_atom = caf::atom_constant<caf::atom("delete")>;
using probe_atom = caf::atom_constant<caf::atom("probe")>;
using halt_atom = caf::atom_constant<caf::atom("halt")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using journal_atom = caf::atom_constant<caf::atom("journal")>;
using rewrite_atom = caf::atom_constant<caf::atom("rewrite")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;

/// Where a journaled job landed: its partition and position there.
struct job_ref {
  job_id id;
  std::uint16_t partition = 0;
  std::uint64_t seq = 0;
  /// True when an idempotency key matched an existing job; id is that job's.
  bool duplicate = false;
  /// Set when the job waits in the scheduled index until this time.
  std::int64_t run_at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_ref& x) {
  return f(caf::meta::type_name("job_ref"), x.id, x.partition, x.seq, x.duplicate,
           x.run_at_ms);
}

/// Command to the journal: write new jobs (all or none) in one transaction.
struct append_jobs {
  std::vector<job> jobs;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_jobs& x) {
  return f(caf::meta::type_name("append_jobs"), x.jobs);
}

/// Reply of the journal: one ref per job written, in the order given.
struct append_receipt {
  std::vector<job_ref> refs;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_receipt& x) {
  return f(caf::meta::type_name("append_receipt"), x.refs);
}

/// Command to the journal: append_jobs from a caller that waits on no actor
/// (the engine's submits). Not answered by a reply: the journal lists the
/// ticket in the ticket_answers it sends after the commit.
struct ticketed_append {
  std::uint64_t ticket = 0;
  append_jobs cmd;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ticketed_append& x) {
  return f(caf::meta::type_name("ticketed_append"), x.ticket, x.cmd);
}

/// The outcome of one ticketed_append: an error, or its receipt.
struct ticket_answer {
  std::uint64_t ticket = 0;
  caf::error err;
  append_receipt receipt;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ticket_answer& x) {
  return f(caf::meta::type_name("ticket_answer"), x.ticket, x.err, x.receipt);
}

/// Every ticketed_append one commit decided, sent once per commit to the
/// engine's answerer: one message per commit instead of one per submit.
struct ticket_answers {
  std::vector<ticket_answer> answers;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ticket_answers& x) {
  return f(caf::meta::type_name("ticket_answers"), x.answers);
}

/// Command to the journal: an attempt started (not awaited; see ARCHITECTURE).
struct record_start {
  job_id id;
  std::uint32_t attempt = 0;
  std::int64_t at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_start& x) {
  return f(caf::meta::type_name("record_start"), x.id, x.attempt, x.at_ms);
}

/// Command to the journal: a job moves to `next` (retrying, succeeded, dead
/// or cancelled). Success, its output, its follow-ups and the session update
/// are written in one transaction. attempt 0 means "whatever attempt".
struct record_outcome {
  job_id id;
  std::uint32_t attempt = 0;
  job_status next = job_status::pending;
  std::int64_t at_ms = 0;
  std::string output;
  /// The failed attempt's error; attempt == 0 when there is none.
  error_entry error;
  std::int64_t run_at_ms = 0;
  std::vector<job> followups;
  bool session_changed = false;
  std::string session_data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_outcome& x) {
  return f(caf::meta::type_name("record_outcome"), x.id, x.attempt, x.next,
           x.at_ms, x.output, x.error, x.run_at_ms, x.followups,
           x.session_changed, x.session_data);
}

/// Command to the journal: dead jobs go back to pending with a fresh attempt
/// count, keeping their id and error history.
struct replay_dead {
  std::vector<job_id> ids;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replay_dead& x) {
  return f(caf::meta::type_name("replay_dead"), x.ids);
}

/// Command to the journal: remove terminal jobs finished before cutoff.
struct purge_jobs {
  std::vector<job_id> ids;
  std::int64_t finished_before_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, purge_jobs& x) {
  return f(caf::meta::type_name("purge_jobs"), x.ids, x.finished_before_ms);
}

/// Command to the journal: write a session. A session record is 8 bytes of
/// big-endian expiry (ms since epoch) followed by its JSON data. With
/// `update`, the session must exist and be live (else not_found);
/// `keep_data` keeps its data, and expires_at_ms 0 keeps its expiry. The
/// session store sends it; expires_at_ms is always an absolute time.
struct put_session {
  std::string id;
  std::string data;
  std::int64_t expires_at_ms = 0;
  bool update = false;
  bool keep_data = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, put_session& x) {
  return f(caf::meta::type_name("put_session"), x.id, x.data, x.expires_at_ms, x.update,
           x.keep_data);
}

/// Command to the session store: a new session living `ttl_ms` from now.
struct create_session {
  std::string data;
  std::int64_t ttl_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, create_session& x) {
  return f(caf::meta::type_name("create_session"), x.data, x.ttl_ms);
}

/// Command to the session store: change a live session's data (when
/// `has_data`) and/or restart its life at `ttl_ms` from now (0 keeps it).
struct update_session {
  std::string id;
  bool has_data = false;
  std::string data;
  std::int64_t ttl_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, update_session& x) {
  return f(caf::meta::type_name("update_session"), x.id, x.has_data, x.data, x.ttl_ms);
}

/// Command to the journal: remove sessions; with expired_before_ms > 0 only
/// those whose expiry is before it (a sweep that races an extend loses).
struct delete_sessions {
  std::vector<std::string> ids;
  std::int64_t expired_before_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delete_sessions& x) {
  return f(caf::meta::type_name("delete_sessions"), x.ids, x.expired_before_ms);
}

/// A session as the session store returns it.
struct session_record {
  std::string id;
  std::string data;
  std::int64_t expires_at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_record& x) {
  return f(caf::meta::type_name("session_record"), x.id, x.data, x.expires_at_ms);
}

/// Command to an agent pool: run one attempt of a job.
struct run_job {
  job j;
  bool has_session = false;
  std::string session_data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_job& x) {
  return f(caf::meta::type_name("run_job"), x.j, x.has_session, x.session_data);
}

/// Event from an agent pool: an attempt ended (success, error or crash).
struct job_finished {
  job_id id;
  std::uint32_t attempt = 0;
  bool ok = false;
  std::string output;
  std::string error;
  bool retryable = true;
  std::vector<job_spec> followups;
  bool session_changed = false;
  std::string session_data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_finished& x) {
  return f(caf::meta::type_name("job_finished"), x.id, x.attempt, x.ok, x.output,
           x.error, x.retryable, x.followups, x.session_changed, x.session_data);
}

/// Reply of a partition to stats_atom: what it holds and why.
struct partition_stats {
  std::uint16_t partition = 0;
  std::uint64_t resident = 0;
  std::uint64_t running = 0;
  std::uint64_t ready = 0;
  std::uint64_t delayed = 0;
  std::uint64_t keys = 0;
  bool backlog = false;
  /// Job records the pager decoded since start.
  std::uint64_t records_paged = 0;
  /// Per kind with a ready job in the window: the earliest run_at_ms among
  /// them (two columns, index by index).
  std::vector<std::string> oldest_kinds;
  std::vector<std::int64_t> oldest_ready_ms;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_stats& x) {
  return f(caf::meta::type_name("partition_stats"), x.partition, x.resident,
           x.running, x.ready, x.delayed, x.keys, x.backlog, x.records_paged, x.oldest_kinds,
           x.oldest_ready_ms);
}

/// Reply of an agent pool to stats_atom.
struct pool_stats {
  std::uint64_t workers = 0;
  /// Attempts waiting for a free worker.
  std::uint64_t queued = 0;
  /// Workers replaced since start (crashes and timeouts).
  std::uint64_t restarts = 0;
  /// Attempts an agent holds right now.
  std::uint64_t executing = 0;
  /// Restarts are paused: the kind crashed past its restart intensity.
  bool paused = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_stats& x) {
  return f(caf::meta::type_name("pool_stats"), x.workers, x.queued, x.restarts, x.executing,
           x.paused);
}

/// Reply of the journal to stats_atom; it comes only after everything sent
/// to the journal before it is committed, so it doubles as a barrier.
struct journal_stats {
  /// Write transactions committed since start.
  std::uint64_t commits = 0;
  /// Commands (records) written in them.
  std::uint64_t records = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, journal_stats& x) {
  return f(caf::meta::type_name("journal_stats"), x.commits, x.records);
}

/// Reply to drain_atom: no new attempt starts from now on.
struct drain_report {
  /// Attempts still running when the drain began; they finish and count.
  std::uint64_t running = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drain_report& x) {
  return f(caf::meta::type_name("drain_report"), x.running);
}

/// Registers every type above (and the vectors of them) with CAF, once.
void register_message_types(caf::actor_system_config& cfg);

} // namespace hypercore
