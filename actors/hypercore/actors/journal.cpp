// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/journal.hpp"

#include <algorithm>
#include <cerrno>
#include <unordered_map>
#include <variant>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/core/clock.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/core/routing.hpp"
#include "hypercore/core/transition.hpp"
#include "hypercore/persistence/codec.hpp"
#include "hypercore/persistence/event_codec.hpp"
#include "hypercore/persistence/job_tables.hpp"
#include "hypercore/core/utf8.hpp"

namespace hypercore {

namespace {

using persistence::job_tables;
using persistence::lmdb_failure;

using receipt_promise = caf::typed_response_promise<append_receipt>;
using count_promise = caf::typed_response_promise<std::uint64_t>;
using session_promise = caf::typed_response_promise<session_record>;

struct queued_command {
  std::variant<append_jobs, record_start, record_outcome, replay_dead, purge_jobs, put_session,
               delete_sessions>
    cmd;
  receipt_promise receipt;
  count_promise count;
  session_promise session = {};
};

/// A command's effect, known once it was applied in the transaction.
struct command_result {
  caf::error err;
  append_receipt receipt;
  std::uint64_t count = 0;
  session_record session;
};

std::uint64_t request_digest(const job& j) {
  std::string text;
  text.reserve(j.kind.size() + j.params.size() + j.partition_key.size() + 3);
  text.append(j.kind).push_back('\0');
  text.append(j.params).push_back('\0');
  text.append(j.partition_key).push_back('\0');
  text.append(j.session_id);
  return stable_hash(text);
}

struct journal_state {
  static inline const char* name = "hypercore.journal";

  std::shared_ptr<persistence::lmdb_env> env;
  journal_options opts;
  std::vector<std::uint64_t> next_seq;
  /// next_seq as last made durable in meta: a restart must never hand out a
  /// seq again, even one whose job sits in the scheduled index.
  std::vector<std::uint64_t> durable_seq;
  std::vector<queued_command> queue;
  bool flush_scheduled = false;
  std::uint64_t commits = 0;
  std::uint64_t records = 0;
  std::uint64_t failed_batches = 0;
  bool probe_scheduled = false;
  std::chrono::milliseconds probe_delay{0};
  /// The feed position the next transition gets, and as last committed.
  std::uint64_t next_position = 1;
  std::uint64_t durable_position = 1;
  /// Lowest position still in the event log (0: the log is empty).
  std::uint64_t log_first = 0;
  /// Transitions of the transaction being written, in apply order.
  std::vector<transition> changes;

  // Commands queued when the journal dies were never written: say so at
  // once instead of letting their senders wait out a timeout (CAF 0.17
  // drops undelivered promises silently).
  ~journal_state() {
    auto gone = make_error(errc::unavailable, "the journal stopped before writing this; retry");
    for (auto& q : queue) {
      if (q.receipt.pending()) q.receipt.deliver(gone);
      if (q.count.pending()) q.count.deliver(gone);
      if (q.session.pending()) q.session.deliver(gone);
    }
  }

  // Records what a command changed, for the feed and the event log.
  void note(const job& j, transition_cause cause, job_status from, std::int64_t at,
            const error_entry* failed = nullptr) {
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
    changes.push_back(std::move(t));
  }

  void note_session(transition_cause cause, const std::string& id, std::int64_t expires,
                    std::int64_t at) {
    transition t;
    t.cause = cause;
    t.session_id = id;
    t.expires_at_ms = expires;
    t.at_ms = at;
    changes.push_back(std::move(t));
  }

  // Gives the transaction's transitions their positions and writes them to
  // the event log, trimming it to its capacity (a bounded amount per
  // transaction, so lowering the capacity never makes one huge commit).
  void log_changes(job_tables& t) {
    if (changes.empty()) return;
    auto capacity = opts.event_log_capacity;
    for (auto& c : changes) {
      c.position = next_position++;
      if (capacity > 0) t.put_event(c.position, persistence::encode_transition(c));
    }
    if (capacity > 0) {
      if (log_first == 0) log_first = changes.front().position;
      if (next_position - log_first > capacity) {
        t.trim_events(next_position - capacity, 2 * changes.size() + 64);
        log_first = t.first_event().value_or(next_position);
      }
    }
    t.put_feed_mark(next_position);
  }

  // Where index_active put it: the run_at to wake up for, or 0 for pending.
  static std::int64_t scheduled_at(const job& j, std::int64_t now) {
    return j.partition_key.empty() && j.run_at_ms > now ? j.run_at_ms : 0;
  }

  std::uint64_t assign_seq(job& j) {
    j.seq = ++next_seq.at(j.partition);
    return j.seq;
  }

  command_result apply(job_tables& t, append_jobs& cmd) {
    command_result out;
    auto now = now_ms();
    // Validate the whole command first: all or nothing.
    std::vector<std::optional<job_id>> duplicates(cmd.jobs.size());
    std::unordered_map<std::string_view, std::uint64_t> keys_in_batch;
    for (std::size_t i = 0; i < cmd.jobs.size(); ++i) {
      const auto& j = cmd.jobs[i];
      if (j.partition >= opts.partitions) {
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
      if (!hit || now - hit->created_at_ms > opts.idempotency_ttl_ms) continue;
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
        if (hit && now - hit->created_at_ms <= opts.idempotency_ttl_ms) {
          out.receipt.refs.push_back({hit->id, j.partition, 0, true});
          continue;
        }
        t.put_idempotency(j.idempotency_key,
                          persistence::idempotency_entry{j.id, request_digest(j), now});
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

  command_result apply(job_tables& t, record_start& cmd) {
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

  command_result apply(job_tables& t, record_outcome& cmd) {
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
    std::rotate(changes.end() - static_cast<std::ptrdiff_t>(followups_noted) - 1,
                changes.end() - 1, changes.end());
    // The completed job itself comes first in the receipt.
    out.receipt.refs.insert(out.receipt.refs.begin(), {j->id, j->partition, j->seq, false});
    return out;
  }

  command_result apply(job_tables& t, replay_dead& cmd) {
    command_result out;
    auto now = now_ms();
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

  command_result apply(job_tables& t, purge_jobs& cmd) {
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
      note(*j, transition_cause::purged, j->status, now_ms());
      ++out.count;
    }
    return out;
  }

  command_result apply(job_tables& t, put_session& cmd) {
    command_result out;
    auto expires = cmd.expires_at_ms;
    std::string data = cmd.data;
    if (cmd.update) {
      auto old = t.get_session(cmd.id);
      if (!old || !old->live_at(now_ms())) {
        out.err = make_error(errc::not_found, "no live session " + quote_for_message(cmd.id));
        return out;
      }
      if (cmd.keep_data) data = std::move(old->data);
      if (expires == 0) expires = old->expires_at_ms;
    }
    t.put_session(cmd.id, expires, data);
    note_session(transition_cause::session_written, cmd.id, expires, now_ms());
    out.session = session_record{cmd.id, std::move(data), expires};
    return out;
  }

  command_result apply(job_tables& t, delete_sessions& cmd) {
    command_result out;
    for (const auto& id : cmd.ids) {
      auto old = t.get_session(id);
      if (!old) continue;
      auto expires = old->expires_at_ms;
      if (cmd.expired_before_ms > 0 && expires >= cmd.expired_before_ms) continue;
      t.del_session(id);
      note_session(transition_cause::session_deleted, id, expires, now_ms());
      ++out.count;
    }
    return out;
  }

  // Writes `batch` in one transaction. Throws lmdb_failure; the caller
  // decides between growing the map and failing the batch.
  std::vector<command_result> write_batch(std::vector<queued_command>& batch) {
    persistence::write_txn txn{*env};
    std::vector<command_result> results;
    results.reserve(batch.size());
    changes.clear();
    job_tables t{*env, txn.get()};
    for (auto& q : batch) {
      // Apply to a copy: a retried batch must start from the original commands.
      results.push_back(std::visit([&](auto& cmd) {
        auto copy = cmd;
        return apply(t, copy);
      }, q.cmd));
    }
    log_changes(t);
    for (std::uint16_t p = 0; p < opts.partitions; ++p)
      if (next_seq[p] != durable_seq[p]) t.put_seq_mark(p, next_seq[p]);
    // A probe (empty batch) must touch a page, or it would prove nothing.
    if (batch.empty()) t.put_seq_mark(0, next_seq[0]);
    if (opts.inject_write_error)
      if (int rc = opts.inject_write_error(); rc != 0) throw lmdb_failure(rc, "injected");
    // Anything thrown above aborts the transaction (write_txn's destructor).
    txn.commit();
    durable_seq = next_seq;
    durable_position = next_position;
    return results;
  }

  // Writes the batch, growing the map on MDB_MAP_FULL; a failure comes back
  // as a typed error (never an exception) and is reported to `health`.
  caf::error write_with_growth(std::vector<queued_command>& batch,
                               std::vector<command_result>& results) {
    caf::error failure;
    auto saved_seq = next_seq;
    auto saved_log_first = log_first;
    for (int tries = 0;; ++tries) {
      // A retried batch assigns its seqs and positions again from where it
      // started.
      next_seq = saved_seq;
      next_position = durable_position;
      log_first = saved_log_first;
      try {
        results = write_batch(batch);
        if (opts.health) opts.health->mark_ok();
        return {};
      } catch (const lmdb_failure& e) {
        if (e.rc == MDB_MAP_FULL && tries < 16) {
          try {
            env->grow_map();
            continue;
          } catch (const lmdb_failure& grow) {
            failure = make_error(errc::storage_full, std::string{"the store cannot grow: "} + grow.what());
            break;
          }
        }
        // LMDB reports a short write (a full file system) as EIO: ask the
        // file system whether that is what happened.
        bool full = e.rc == ENOSPC || e.rc == EDQUOT || e.rc == MDB_MAP_FULL
                    || (e.rc == EIO && env->disk_nearly_full());
        failure = make_error(full ? errc::storage_full : errc::storage_unavailable,
                             std::string{full ? "the disk is full: " : "the store failed to write: "}
                               + e.what());
        break;
      } catch (const std::exception& e) {
        failure = make_error(errc::storage_unavailable, std::string{"writing failed: "} + e.what());
        break;
      } catch (...) {
        failure = make_error(errc::storage_unavailable, "writing failed: unknown exception");
        break;
      }
    }
    if (failed_batches++ % 1000 == 0)
      spdlog::error("journal: batch of {} commands failed: {} ({} failed batches so far)",
                    batch.size(), message_of(failure), failed_batches);
    if (opts.health) opts.health->mark_failed(message_of(failure));
    next_seq = saved_seq;
    next_position = durable_position;
    log_first = saved_log_first;
    changes.clear();
    return failure;
  }

  /// True when the store is failing and a probe should be scheduled.
  bool unhealthy() const { return opts.health && !opts.health->ok(); }

  void flush() {
    flush_scheduled = false;
    if (queue.empty()) return;
    std::vector<queued_command> batch;
    if (queue.size() <= opts.max_batch) {
      batch.swap(queue);
    } else {
      auto cut = queue.begin() + static_cast<std::ptrdiff_t>(opts.max_batch);
      batch.assign(std::make_move_iterator(queue.begin()), std::make_move_iterator(cut));
      queue.erase(queue.begin(), cut);
    }
    std::vector<command_result> results;
    caf::error failure = write_with_growth(batch, results);
    ++commits;
    records += batch.size();
    // Published before the senders hear back: whoever learns of a commit
    // from its reply and then subscribes has not missed it (see feed.hpp).
    if (!failure && !changes.empty() && opts.feed)
      caf::anon_send(opts.feed, committed{std::move(changes), next_position});
    changes.clear();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& q = batch[i];
      const auto& err = failure ? failure : results[i].err;
      if (q.receipt.pending()) {
        if (err) q.receipt.deliver(err);
        else q.receipt.deliver(std::move(results[i].receipt));
      }
      if (q.count.pending()) {
        if (err) q.count.deliver(err);
        else q.count.deliver(results[i].count);
      }
      if (q.session.pending()) {
        if (err) q.session.deliver(err);
        else q.session.deliver(std::move(results[i].session));
      }
    }
  }
};

using journal_pointer = journal_actor::stateful_pointer<journal_state>;

void schedule_flush(journal_pointer self) {
  if (!self->state.flush_scheduled) {
    self->state.flush_scheduled = true;
    // Lands behind everything already in the mailbox: that is the group.
    self->send(self, flush_atom::value);
  }
}

// While the store fails, probe it with an empty write at a growing pause, so
// readiness returns by itself when space does, even with no traffic.
void schedule_probe(journal_pointer self) {
  auto& st = self->state;
  if (!st.unhealthy()) {
    st.probe_delay = std::chrono::milliseconds(0);
    return;
  }
  if (st.probe_scheduled) return;
  st.probe_delay = st.probe_delay.count() == 0
                     ? st.opts.probe_initial
                     : std::min(st.opts.probe_max, st.probe_delay * 2);
  st.probe_scheduled = true;
  self->delayed_send(self, st.probe_delay, probe_atom::value);
}

template <class Command>
receipt_promise enqueue_with_receipt(journal_pointer self, Command&& cmd) {
  auto rp = self->make_response_promise<append_receipt>();
  self->state.queue.push_back({std::forward<Command>(cmd), rp, {}});
  schedule_flush(self);
  return rp;
}

journal_actor::behavior_type journal_behavior(journal_pointer self,
                                              std::shared_ptr<persistence::lmdb_env> env,
                                              journal_options opts) {
  auto& st = self->state;
  st.env = std::move(env);
  st.opts = opts;
  st.next_seq.assign(opts.partitions, 0);
  {
    persistence::read_txn txn{*st.env};
    job_tables t{*st.env, txn.get()};
    for (std::uint16_t p = 0; p < opts.partitions; ++p)
      st.next_seq[p] = std::max(t.max_pending_seq(p), t.seq_mark(p));
    st.durable_seq = st.next_seq;
    auto last = t.last_event();
    st.next_position = std::max<std::uint64_t>({1, t.feed_mark(), last ? *last + 1 : 0});
    st.durable_position = st.next_position;
    st.log_first = t.first_event().value_or(0);
  }
  return {
    [=](append_jobs& cmd) -> caf::result<append_receipt> {
      return enqueue_with_receipt(self, std::move(cmd));
    },
    [=](record_start& cmd) {
      self->state.queue.push_back({std::move(cmd), {}, {}});
      schedule_flush(self);
    },
    [=](record_outcome& cmd) -> caf::result<append_receipt> {
      return enqueue_with_receipt(self, std::move(cmd));
    },
    [=](replay_dead& cmd) -> caf::result<append_receipt> {
      return enqueue_with_receipt(self, std::move(cmd));
    },
    [=](purge_jobs& cmd) -> caf::result<std::uint64_t> {
      auto rp = self->make_response_promise<std::uint64_t>();
      self->state.queue.push_back({std::move(cmd), {}, rp});
      schedule_flush(self);
      return rp;
    },
    [=](put_session& cmd) -> caf::result<session_record> {
      auto rp = self->make_response_promise<session_record>();
      self->state.queue.push_back({std::move(cmd), {}, {}, rp});
      schedule_flush(self);
      return rp;
    },
    [=](delete_sessions& cmd) -> caf::result<std::uint64_t> {
      auto rp = self->make_response_promise<std::uint64_t>();
      self->state.queue.push_back({std::move(cmd), {}, rp});
      schedule_flush(self);
      return rp;
    },
    [=](stats_atom) -> caf::result<std::uint64_t, std::uint64_t> {
      while (!self->state.queue.empty()) self->state.flush();
      schedule_probe(self);
      return {self->state.commits, self->state.records};
    },
    [=](flush_atom) {
      self->state.flush();
      if (!self->state.queue.empty()) schedule_flush(self);
      schedule_probe(self);
    },
    [=](probe_atom) {
      auto& s = self->state;
      s.probe_scheduled = false;
      if (!s.unhealthy()) return;
      std::vector<queued_command> none;
      std::vector<command_result> results;
      s.write_with_growth(none, results);
      schedule_probe(self);
    },
  };
}

} // namespace

journal_actor spawn_journal(caf::actor_system& sys,
                            std::shared_ptr<persistence::lmdb_env> env,
                            journal_options opts) {
  return sys.spawn<caf::detached>(journal_behavior, std::move(env), opts);
}

} // namespace hypercore
