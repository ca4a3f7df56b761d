// SPDX-License-Identifier: Apache-2.0
#pragma once

// The submits in flight that wait on no actor: a ticket per submit, opened
// by the engine before it hands the jobs to the journal, and answered once,
// by the submit answerer, when the journal's commit decided them.
//
// Why not a request per submit: CAF 0.17 answers a request only to an
// actor, so a blocking submit needed a scoped_actor and an HTTP submit a
// spawned relay, and each of those, on ending, wakes CAF's clock thread
// (cancel_timeouts). Measured on 2 cores: three context switches per
// single submit, half the CPU in the kernel. A ticket is one map entry.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "hypercore/core/messages.hpp"

namespace hypercore {

class submit_tickets {
public:
  using clock_type = std::chrono::steady_clock;
  /// Runs exactly once, on whichever thread decides the ticket; it must not
  /// block (the answerer runs it on CAF's scheduler).
  using completion = std::function<void(caf::expected<append_receipt>)>;

  /// Opens a ticket for a submit about to be sent to the journal whose
  /// actor id is `journal`; `done` runs with its answer, or with an error at
  /// `deadline`, when that journal goes down, or at close(). Returns 0, with
  /// `done` already run, when that journal is known down (`unavailable`) or
  /// the tickets are closed (`shutting_down`): the caller must not send.
  std::uint64_t open(completion done, clock_type::time_point deadline, std::uint64_t journal);

  /// The caller stopped waiting (it timed out): true when the ticket was
  /// still open and is now closed without running its completion; false
  /// when an answer took it first (then its completion runs or ran).
  bool withdraw(std::uint64_t ticket);

  /// Runs the completions of the answered tickets; unknown tickets (timed
  /// out meanwhile) are skipped.
  void answer(std::vector<ticket_answer>& answers);

  /// Fails the tickets whose deadline passed; returns how many.
  std::size_t expire(clock_type::time_point now);

  /// Fails the tickets handed to the journal `journal` (it went down: what
  /// it answered arrived before its down message, so these never will), and
  /// every ticket opened later against it or an older journal.
  std::size_t fail_journal(std::uint64_t journal, const caf::error& why);

  /// Fails every open ticket, and every ticket opened from now on, with
  /// `shutting_down` (shutdown; a submit that entered the engine before it
  /// began stopping may open its ticket after this).
  std::size_t close(const caf::error& why);

  /// Opens the tickets again for an engine started anew (a new actor system,
  /// whose journal ids start over); none may be open.
  void reopen();

  std::size_t open_count() const;

private:
  struct entry {
    completion done;
    clock_type::time_point deadline;
    std::uint64_t journal = 0;
  };
  struct shard {
    mutable std::mutex mutex;
    std::unordered_map<std::uint64_t, entry> open;
  };
  static constexpr std::size_t shard_count = 8;

  shard& shard_of(std::uint64_t ticket) { return shards_[ticket % shard_count]; }
  // Takes the entries `pick` selects out of every shard, then runs them
  // with `why`, outside the locks.
  template <class Pick>
  std::size_t fail_where(Pick pick, const caf::error& why);

  // Sequential tickets spread consecutive submits over the shards, so
  // threads that submit at once rarely meet on a lock.
  std::array<shard, shard_count> shards_;
  std::atomic<std::uint64_t> next_{1};
  // CAF's actor ids only grow and one journal runs at a time, so a journal
  // whose id is at most the last one seen down is down too.
  std::atomic<std::uint64_t> newest_dead_journal_{0};
  std::atomic<bool> closed_{false};
};

} // namespace hypercore
