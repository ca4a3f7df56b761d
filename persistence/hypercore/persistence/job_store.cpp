// SPDX-License-Identifier: Apache-2.0
#include "hypercore/persistence/job_store.hpp"

#include <algorithm>
#include <unordered_map>

#include "hypercore/core/errc.hpp"
#include "hypercore/core/routing.hpp"
#include "hypercore/core/transition.hpp"
#include "hypercore/core/utf8.hpp"
#include "hypercore/persistence/event_codec.hpp"

namespace hypercore::persistence {

namespace {

std::uint64_t request_digest(const job& j) {
  std::string text;
  text.reserve(j.kind.size() + j.params.size() + j.partition_key.size() + 3);
  text.append(j.kind).push_back('\0');
  text.append(j.params).push_back('\0');
  text.append(j.partition_key).push_back('\0');
  text.append(j.session_id);
  return stable_hash(text);
}

// Where index_active put it: the run_at to wake up for, or 0 for pending.
std::int64_t scheduled_at(const job& j, std::int64_t now) {
  return j.partition_key.empty() && j.run_at_ms > now ? j.run_at_ms : 0;
}

} // namespace

job_store::job_store(job_store_options opts, read_txn& txn, const lmdb_env& env)
  : opts_(std::move(opts)), clock_(opts_.clock ? opts_.clock : [] { return now_ms(); }) {
  job_tables t{env, txn.get()};
  next_seq_.assign(opts_.partitions, 0);
  for (std::uint16_t p = 0; p < opts_.partitions; ++p)
    next_seq_[p] = std::max(t.max_pending_seq(p), t.seq_mark(p));
  durable_seq_ = next_seq_;
  auto last = t.last_event();
  next_position_ = std::max<std::uint64_t>({1, t.feed_mark(), last ? *last + 1 : 0});
  durable_position_ = next_position_;
  log_first_ = t.first_event().value_or(0);
  durable_log_first_ = log_first_;
}

void job_store::begin() {
  next_seq_ = durable_seq_;
  next_position_ = durable_position_;
  log_first_ = durable_log_first_;
  changes_.clear();
}

void job_store::finish(job_tables& t, bool touch) {
  log_changes(t);
  for (std::uint16_t p = 0; p < opts_.partitions; ++p)
    if (next_seq_[p] != durable_seq_[p]) t.put_seq_mark(p, next_seq_[p]);
  // A probe (an empty transaction) must touch a page, or it would prove nothing.
  if (touch) t.put_seq_mark(0, next_seq_[0]);
}

std::vector<transition> job_store::committed() {
  durable_seq_ = next_seq_;
  durable_position_ = next_position_;
  durable_log_first_ = log_first_;
  return std::exchange(changes_, {});
}

void job_store::rolled_back() { begin(); }

// Records what a command changed, for the feed and the event log.
void job_store::note(const job& j, transition_cause cause, job_status from, std::int64_t at,
          const error_entry* failed) {
  transition t;
  t.cause = cause;
  t.id = j.id;
  t.kind = j.kind;
  t.partition = j.partition;
  t.seq = j.seq;
  t.from = from;
  t.to = j.status;
  t.attempt = j.attempts;
  t.revision = j.revision;
  t.run_at_ms = j.run_at_ms;
  t.created_at_ms = j.created_at_ms;
  t.at_ms = at;
  t.trace_id = j.trace_id;
  t.parent_id = j.parent_id;
  t.session_id = j.session_id;
  t.partition_key = j.partition_key;
  if (failed != nullptr && failed->attempt != 0) {
    t.error = std::string{utf8_prefix(failed->message, max_transition_error_bytes)};
    t.retryable = failed->retryable;
  }
  changes_.push_back(std::move(t));
}

void job_store::note_session(transition_cause cause, const std::string& id, std::int64_t expires,
                  std::int64_t at) {
  transition t;
  t.cause = cause;
  t.session_id = id;
  t.expires_at_ms = expires;
  t.at_ms = at;
  changes_.push_back(std::move(t));
}

// Gives the transaction's transitions their positions and writes them to
// the event log, trimming it to its capacity (a bounded amount per
// transaction, so lowering the capacity never makes one huge commit).
void job_store::log_changes(job_tables& t) {
  if (changes_.empty()) return;
  auto capacity = opts_.event_log_capacity;
  for (auto& c : changes_) {
    c.position = next_position_++;
    if (capacity > 0) {
      encode_transition(c, event_buffer_);
      t.put_event(c.position, event_buffer_);
    }
  }
  if (capacity > 0) {
    if (log_first_ == 0) log_first_ = changes_.front().position;
    if (next_position_ - log_first_ > capacity) {
      t.trim_events(next_position_ - capacity, 2 * changes_.size() + 64);
      log_first_ = t.first_event().value_or(next_position_);
    }
  }
  // With the log on, its newest record says where positions go on (trimming
  // always keeps it), so the mark is written only with the log off: one put
  // fewer per transaction where it matters, small commits of single submits.
  if (capacity == 0) t.put_feed_mark(next_position_);
}

std::uint64_t job_store::assign_seq(job& j) {
  j.seq = ++next_seq_.at(j.partition);
  return j.seq;
}

command_result job_store::apply(job_tables& t, append_jobs& cmd) {
  command_result out;
  auto now = clock_();
  // Validate the whole command first: all or nothing.
  std::vector<std::optional<job_id>> duplicates(cmd.jobs.size());
  std::unordered_map<std::string_view, std::uint64_t> keys_in_batch;
  for (std::size_t i = 0; i < cmd.jobs.size(); ++i) {
    const auto& j = cmd.jobs[i];
    if (j.partition >= opts_.partitions) {
      out.err = make_error(errc::invalid_request, "partition out of range");
      return out;
    }
    if (j.idempotency_key.empty()) continue;
    auto [seen, fresh] = keys_in_batch.emplace(j.idempotency_key, request_digest(j));
    if (!fresh && seen->second != request_digest(j)) {
      out.err = make_error(errc::conflict, "idempotency key '" + j.idempotency_key
                                             + "' appears twice in the batch with different requests");
      return out;
    }
    auto hit = t.get_idempotency(j.idempotency_key);
    if (!hit || now - hit->created_at_ms > opts_.idempotency_ttl_ms) continue;
    if (hit->request_digest != request_digest(j)) {
      out.err = make_error(errc::conflict, "idempotency key '" + j.idempotency_key
                                             + "' was used for a different request");
      return out;
    }
    duplicates[i] = hit->id;
  }
  for (std::size_t i = 0; i < cmd.jobs.size(); ++i) {
    auto& j = cmd.jobs[i];
    if (duplicates[i]) {
      out.receipt.refs.push_back({*duplicates[i], j.partition, 0, true});
      continue;
    }
    // A key repeated inside one batch: the first job wins.
    if (!j.idempotency_key.empty()) {
      auto hit = t.get_idempotency(j.idempotency_key);
      if (hit && now - hit->created_at_ms <= opts_.idempotency_ttl_ms) {
        out.receipt.refs.push_back({hit->id, j.partition, 0, true});
        continue;
      }
      t.put_idempotency(j.idempotency_key,
                        idempotency_entry{j.id, request_digest(j), now});
    }
    assign_seq(j);
    j.revision = 1;
    t.put_job(j);
    t.index_active(j, now);
    note(j, transition_cause::submitted, j.status, now);
    out.receipt.refs.push_back({j.id, j.partition, j.seq, false, scheduled_at(j, now)});
  }
  return out;
}

command_result job_store::apply(job_tables& t, record_start& cmd) {
  command_result out;
  auto j = t.get_job(cmd.id);
  if (!j) return out;
  auto from = j->status;
  if (auto err = apply_start(*j, cmd)) {
    out.err = std::move(err);
    return out;
  }
  ++j->revision;
  t.put_job(*j);
  note(*j, transition_cause::started, from, cmd.at_ms);
  return out;
}

command_result job_store::apply(job_tables& t, record_outcome& cmd) {
  command_result out;
  auto j = t.get_job(cmd.id);
  if (!j) {
    out.err = make_error(errc::not_found, "no job " + cmd.id.to_string());
    return out;
  }
  auto before = *j;
  if (auto err = apply_outcome(*j, cmd)) {
    out.err = std::move(err);
    return out;
  }
  ++j->revision;
  t.unindex_active(before);
  if (is_terminal(j->status)) t.index_terminal(*j);
  else t.index_active(*j, cmd.at_ms);
  std::size_t followups_noted = 0;
  if (j->status == job_status::succeeded) {
    t.put_result(j->id, cmd.output);
    for (auto& f : cmd.followups) {
      assign_seq(f);
      f.revision = 1;
      t.put_job(f);
      t.index_active(f, cmd.at_ms);
      note(f, transition_cause::followup, f.status, cmd.at_ms);
      ++followups_noted;
      j->followups.push_back(f.id);
      out.receipt.refs.push_back({f.id, f.partition, f.seq, false, scheduled_at(f, cmd.at_ms)});
    }
    if (cmd.session_changed && !j->session_id.empty()) {
      // Keep the session's expiry; a session that expired meanwhile stays gone.
      auto old = t.get_session(j->session_id);
      if (old && old->live_at(cmd.at_ms))
        t.put_session(j->session_id, old->expires_at_ms, cmd.session_data);
    }
  }
  t.put_job(*j);
  // The parent's transition comes before its follow-ups' in the feed.
  note(*j, transition_cause::outcome, before.status, cmd.at_ms, &cmd.error);
  std::rotate(changes_.end() - static_cast<std::ptrdiff_t>(followups_noted) - 1,
              changes_.end() - 1, changes_.end());
  // The completed job itself comes first in the receipt.
  out.receipt.refs.insert(out.receipt.refs.begin(), {j->id, j->partition, j->seq, false});
  return out;
}

command_result job_store::apply(job_tables& t, replay_dead& cmd) {
  command_result out;
  auto now = clock_();
  for (const auto& id : cmd.ids) {
    auto j = t.get_job(id);
    if (!j || j->status != job_status::dead) continue;
    t.unindex_terminal(*j);
    if (apply_replay(*j, now)) continue;
    ++j->revision;
    // A replayed job queues behind the jobs already waiting on its key.
    assign_seq(*j);
    t.index_active(*j, now);
    t.put_job(*j);
    note(*j, transition_cause::replayed, job_status::dead, now);
    out.receipt.refs.push_back({j->id, j->partition, j->seq, false});
  }
  return out;
}

command_result job_store::apply(job_tables& t, purge_jobs& cmd) {
  command_result out;
  for (const auto& id : cmd.ids) {
    auto j = t.get_job(id);
    if (!j || !is_terminal(j->status) || j->finished_at_ms >= cmd.finished_before_ms)
      continue;
    t.unindex_terminal(*j);
    t.del_result(id);
    if (!j->idempotency_key.empty()) {
      auto hit = t.get_idempotency(j->idempotency_key);
      if (hit && hit->id == id) t.del_idempotency(j->idempotency_key);
    }
    t.del_job(id);
    ++j->revision;
    note(*j, transition_cause::purged, j->status, clock_());
    ++out.count;
  }
  return out;
}

command_result job_store::apply(job_tables& t, put_session& cmd) {
  command_result out;
  auto expires = cmd.expires_at_ms;
  std::string data = cmd.data;
  if (cmd.update) {
    auto old = t.get_session(cmd.id);
    if (!old || !old->live_at(clock_())) {
      out.err = make_error(errc::not_found, "no live session " + quote_for_message(cmd.id));
      return out;
    }
    if (cmd.keep_data) data = std::move(old->data);
    if (expires == 0) expires = old->expires_at_ms;
  }
  t.put_session(cmd.id, expires, data);
  note_session(transition_cause::session_written, cmd.id, expires, clock_());
  out.session = session_record{cmd.id, std::move(data), expires};
  return out;
}

command_result job_store::apply(job_tables& t, delete_sessions& cmd) {
  command_result out;
  for (const auto& id : cmd.ids) {
    auto old = t.get_session(id);
    if (!old) continue;
    auto expires = old->expires_at_ms;
    if (cmd.expired_before_ms > 0 && expires >= cmd.expired_before_ms) continue;
    t.del_session(id);
    note_session(transition_cause::session_deleted, id, expires, clock_());
    ++out.count;
  }
  return out;
}


} // namespace hypercore::persistence
