// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/journal.hpp"

#include <algorithm>
#include <cerrno>
#include <variant>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/core/clock.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/persistence/codec.hpp"
#include "hypercore/persistence/file_preallocator.hpp"
#include "hypercore/persistence/job_store.hpp"
#include "hypercore/persistence/job_tables.hpp"
#include "hypercore/persistence/store_call.hpp"

namespace hypercore {

namespace {

using persistence::job_tables;
using persistence::command_result;
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
  /// Non-zero: a ticketed_append, answered in the commit's ticket_answers.
  std::uint64_t ticket = 0;
};

struct journal_state {
  static inline const char* name = "hypercore.journal";

  std::shared_ptr<persistence::lmdb_env> env;
  journal_options opts;
  /// The transition rules; this actor keeps the group-commit mechanics.
  std::optional<persistence::job_store> store;
  std::optional<persistence::file_preallocator> preallocator;
  std::vector<queued_command> queue;
  bool flush_scheduled = false;
  std::uint64_t commits = 0;
  std::uint64_t records = 0;
  std::uint64_t failed_batches = 0;
  bool probe_scheduled = false;
  std::chrono::milliseconds probe_delay{0};
  /// The last committed transaction's transitions, to publish.
  std::vector<transition> changes;
  /// Jobs waiting once the transaction being written commits.
  std::uint64_t waiting_after = 0;

  // Commands queued when the journal dies were never written: say so at
  // once instead of letting their senders wait out a timeout (CAF 0.17
  // drops undelivered promises silently).
  ~journal_state() {
    auto gone = make_error(errc::unavailable, "the journal stopped before writing this; retry");
    ticket_answers tickets;
    for (auto& q : queue) {
      if (q.receipt.pending()) q.receipt.deliver(gone);
      if (q.count.pending()) q.count.deliver(gone);
      if (q.session.pending()) q.session.deliver(gone);
      if (q.ticket != 0) tickets.answers.push_back({q.ticket, gone, {}});
    }
    if (!tickets.answers.empty() && opts.answers)
      caf::anon_send(opts.answers, std::move(tickets));
  }

  // Writes `batch` in one transaction (inside persistence::try_write, which
  // turns a failure into a value); the caller decides between growing the
  // map and failing the batch.
  void write_batch(persistence::write_txn& txn, std::vector<queued_command>& batch,
                   std::vector<command_result>& results) {
    results.clear();
    results.reserve(batch.size());
    store->begin();
    job_tables t{*env, txn.get()};
    for (auto& q : batch) {
      // Applied in place, without a copy of the params: a batch replayed
      // after MDB_MAP_FULL gets the same result, because apply() only
      // reassigns what it derives from the store (seq, revision), and
      // store->begin() rewinds those counters to what is durable.
      results.push_back(std::visit([&](auto& cmd) { return store->apply(t, cmd); }, q.cmd));
    }
    store->finish(t, batch.empty());
    // O(1): LMDB keeps entry counts in the tables' headers.
    waiting_after = t.count(t.dbs().pending) + t.count(t.dbs().scheduled);
    if (opts.inject_write_error)
      if (int rc = opts.inject_write_error(); rc != 0) throw lmdb_failure(rc, "injected");
    // Anything thrown above aborts the transaction (write_txn's destructor).
    txn.commit();
    changes = store->committed();
  }

  // Writes the batch, growing the map on MDB_MAP_FULL; a failure comes back
  // as a typed error (never an exception) and is reported to `health`.
  caf::error write_with_growth(std::vector<queued_command>& batch,
                               std::vector<command_result>& results) {
    caf::error failure;
    for (int tries = 0;; ++tries) {
      // A retried batch assigns its seqs and positions again from where it
      // started (job_store::begin).
      auto failed = persistence::try_write(*env, [&](persistence::write_txn& txn) {
        write_batch(txn, batch, results);
      });
      if (!failed) {
        if (opts.health) {
          opts.health->set_waiting(waiting_after);
          opts.health->mark_ok();
        }
        return {};
      }
      if (failed->rc == MDB_MAP_FULL && tries < 16) {
        if (int rc = env->grow_map(); rc == 0) continue;
        else {
          failure = make_error(errc::storage_full, std::string{"the store cannot grow: "} + mdb_strerror(rc));
          break;
        }
      }
      if (failed->rc == 0) {
        failure = make_error(errc::storage_unavailable, "writing failed: " + failed->message);
        break;
      }
      // LMDB reports a short write (a full file system) as EIO: ask the
      // file system whether that is what happened.
      auto rc = failed->rc;
      bool full = rc == ENOSPC || rc == EDQUOT || rc == MDB_MAP_FULL
                  || (rc == EIO && env->disk_nearly_full());
      failure = make_error(full ? errc::storage_full : errc::storage_unavailable,
                           std::string{full ? "the disk is full: " : "the store failed to write: "}
                             + failed->message);
      break;
    }
    if (failed_batches++ % 1000 == 0)
      spdlog::error("journal: batch of {} commands failed: {} ({} failed batches so far)",
                    batch.size(), message_of(failure), failed_batches);
    if (opts.health) opts.health->mark_failed(message_of(failure));
    store->rolled_back();
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
    auto began = std::chrono::steady_clock::now();
    caf::error failure = write_with_growth(batch, results);
    if (opts.meter) opts.meter->record(std::chrono::steady_clock::now() - began, batch.size());
    ++commits;
    records += batch.size();
    // Published before the senders hear back: whoever learns of a commit
    // from its reply and then subscribes has not missed it (see feed.hpp).
    if (!failure && !changes.empty() && opts.feed)
      caf::anon_send(opts.feed, committed{std::move(changes), store->next_position()});
    changes.clear();
    ticket_answers tickets;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& q = batch[i];
      const auto& err = failure ? failure : results[i].err;
      if (q.ticket != 0) {
        if (err) tickets.answers.push_back({q.ticket, err, {}});
        else tickets.answers.push_back({q.ticket, {}, std::move(results[i].receipt)});
        continue;
      }
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
    if (!tickets.answers.empty() && opts.answers)
      caf::anon_send(opts.answers, std::move(tickets));
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
  {
    persistence::read_txn txn{*st.env};
    persistence::job_store_options sopts;
    sopts.partitions = opts.partitions;
    sopts.idempotency_ttl_ms = opts.idempotency_ttl_ms;
    sopts.event_log_capacity = opts.event_log_capacity;
    sopts.clock = opts.clock;
    st.store.emplace(std::move(sopts), txn, *st.env);
    st.preallocator.emplace(*st.env, opts.preallocate);
    if (opts.health) {
      persistence::job_tables t{*st.env, txn.get()};
      opts.health->set_waiting(t.count(t.dbs().pending) + t.count(t.dbs().scheduled));
    }
  }
  return {
    [=](append_jobs& cmd) -> caf::result<append_receipt> {
      return enqueue_with_receipt(self, std::move(cmd));
    },
    [=](ticketed_append& t) {
      self->state.queue.push_back({std::move(t.cmd), {}, {}, {}, t.ticket});
      schedule_flush(self);
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
    [=](stats_atom) {
      while (!self->state.queue.empty()) self->state.flush();
      schedule_probe(self);
      return journal_stats{self->state.commits, self->state.records};
    },
    [=](flush_atom) {
      auto& s = self->state;
      s.flush();
      if (!s.queue.empty()) schedule_flush(self);
      // Between transactions, on this thread: the only time the file may
      // be written by anyone but LMDB's commit. Idle: nothing is waiting.
      else if (!s.unhealthy()) s.preallocator->step(self->mailbox().empty());
      schedule_probe(self);
    },
    [=](feed_atom, caf::actor& feed) { self->state.opts.feed = std::move(feed); },
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
