// SPDX-License-Identifier: Apache-2.0
#pragma once

// The commit feed's vocabulary: what the journal publishes after each write
// transaction commits (one `committed` per transaction), and what the feed
// actor sends its subscribers. Every struct has an inspect() and is
// registered in register_message_types(), so a subscriber may live on
// another node. See docs/ARCHITECTURE.md ("The commit feed").

#include <algorithm>
#include <cstdint>
#include <utility>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "hypercore/core/job_id.hpp"
#include "hypercore/core/status.hpp"

namespace hypercore {

using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsub_atom = caf::atom_constant<caf::atom("unsub")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using catchup_atom = caf::atom_constant<caf::atom("catchup")>;
/// (feed_atom, feed handle): the feed was replaced; publish or subscribe there.
using feed_atom = caf::atom_constant<caf::atom("feed")>;

/// What wrote a transition. Values are stored in the event log: never renumber.
enum class transition_cause : std::uint8_t {
  submitted = 0,
  started = 1,
  /// An attempt's outcome, a cancel, or a job that ran out of attempts.
  outcome = 2,
  /// A follow-up job made by its parent's success (same transaction).
  followup = 3,
  replayed = 4,
  /// Removed by retention; the job record is gone after this transition.
  purged = 5,
  session_written = 6,
  session_deleted = 7,
};

std::string_view to_string(transition_cause c);

/// One durable change, as the feed and the event log carry it.
struct transition {
  /// The feed position: dense, increasing, one per transition, kept across
  /// restarts (docs/STORAGE.md, "events").
  std::uint64_t position = 0;
  transition_cause cause = transition_cause::submitted;
  job_id id;
  std::string kind;
  std::uint16_t partition = 0;
  std::uint64_t seq = 0;
  /// Status before; equal to `to` for a job that did not exist before
  /// (submitted, followup) and for session transitions.
  job_status from = job_status::pending;
  job_status to = job_status::pending;
  std::uint32_t attempt = 0;
  /// The job's revision after this transition (its per-job event id).
  std::uint64_t revision = 0;
  std::int64_t run_at_ms = 0;
  std::int64_t created_at_ms = 0;
  /// When the transition was made.
  std::int64_t at_ms = 0;
  std::string trace_id;
  job_id parent_id;
  std::string session_id;
  std::string partition_key;
  /// The failed attempt's error (at most max_transition_error_bytes).
  std::string error;
  bool retryable = false;
  /// Session transitions: the session's expiry.
  std::int64_t expires_at_ms = 0;
};

/// Errors longer than this are cut (on a character boundary) in the feed
/// and the event log; the job record keeps the whole message.
inline constexpr std::size_t max_transition_error_bytes = 1024;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transition& x) {
  return f(caf::meta::type_name("transition"), x.position, x.cause, x.id, x.kind,
           x.partition, x.seq, x.from, x.to, x.attempt, x.revision, x.run_at_ms,
           x.created_at_ms, x.at_ms, x.trace_id, x.parent_id, x.session_id,
           x.partition_key, x.error, x.retryable, x.expires_at_ms);
}

/// From the journal to the feed, once per committed transaction.
/// `next_position` is the position the next transition will get.
struct committed {
  std::vector<transition> transitions;
  std::uint64_t next_position = 1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, committed& x) {
  return f(caf::meta::type_name("committed"), x.transitions, x.next_position);
}

/// Which transitions a subscriber wants; every set field must match.
/// Session transitions match only a filter without job fields.
struct feed_filter {
  job_id job;
  std::string kind;
  std::string trace_id;
  std::string session_id;
  std::string partition_key;
  /// Bit (1 << status) of the status after the transition; 0: any.
  std::uint32_t statuses = 0;
  /// Bit (1 << cause); 0: any.
  std::uint32_t causes = 0;
  /// -1: any partition.
  std::int32_t partition = -1;

  static constexpr std::uint32_t bit(job_status s) { return 1u << static_cast<unsigned>(s); }
  static constexpr std::uint32_t bit(transition_cause c) { return 1u << static_cast<unsigned>(c); }
  static constexpr std::uint32_t terminal_statuses() {
    return bit(job_status::succeeded) | bit(job_status::dead) | bit(job_status::cancelled);
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_filter& x) {
  return f(caf::meta::type_name("feed_filter"), x.job, x.kind, x.trace_id, x.session_id,
           x.partition_key, x.statuses, x.causes, x.partition);
}

bool matches(const feed_filter& filter, const transition& t);

/// Reply of the feed to stats_atom.
struct feed_stats {
  std::uint64_t subscribers = 0;
  /// Transitions received from the journal since start.
  std::uint64_t published = 0;
  /// Times a subscriber fell behind and was sent a gap.
  std::uint64_t gaps = 0;
  std::uint64_t next_position = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_stats& x) {
  return f(caf::meta::type_name("feed_stats"), x.subscribers, x.published, x.gaps,
           x.next_position);
}

/// From the feed to a subscriber: matching transitions of one commit, in
/// position order. The subscriber answers (ack_atom, count) once handled
/// (batched: see ack_batcher).
struct feed_batch {
  std::vector<transition> transitions;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_batch& x) {
  return f(caf::meta::type_name("feed_batch"), x.transitions);
}

/// From the feed to a subscriber that fell behind: transitions at positions
/// [from, to) were not sent; read the matching ones from the event log.
struct feed_gap {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_gap& x) {
  return f(caf::meta::type_name("feed_gap"), x.from, x.to);
}

/// A subscriber's acknowledgements, batched: it answers the feed once it has
/// handled an eighth of its capacity, not once per batch (acks were a third
/// of the feed's messages on one-job commits). Safe: the feed withholds
/// batches only at `capacity` unacknowledged and resumes below half, while
/// what a subscriber leaves unacknowledged is always under an eighth.
class ack_batcher {
public:
  explicit ack_batcher(std::uint64_t capacity = 1) : every_(std::max<std::uint64_t>(1, capacity / 8)) {}
  /// Counts `n` more handled; returns how many to acknowledge now (0: none yet).
  std::uint64_t handled(std::uint64_t n) {
    pending_ += n;
    return pending_ < every_ ? 0 : std::exchange(pending_, 0);
  }

private:
  std::uint64_t every_;
  std::uint64_t pending_ = 0;
};

/// What the feed sends to: any actor that takes batches and gaps (a
/// partition, a feed_subscriber). The feed needs nothing else of it.
using feed_sink_actor = caf::typed_actor<caf::reacts_to<feed_batch>, caf::reacts_to<feed_gap>>;

/// To the feed: deliver matching transitions to `target` from now on, at
/// most `capacity` unacknowledged at a time. Answered with the next
/// position once registered: everything from it on reaches the target (or
/// a gap saying what to read from the event log).
struct subscribe_feed {
  feed_filter filter;
  feed_sink_actor target;
  std::uint32_t capacity = 4096;
  /// For logs and metrics ("partition-3", "sse", "on_transition").
  std::string name;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscribe_feed& x) {
  return f(caf::meta::type_name("subscribe_feed"), x.filter, x.target, x.capacity, x.name);
}

} // namespace hypercore
