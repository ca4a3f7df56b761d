// SPDX-License-Identifier: Apache-2.0
#pragma once

// journal: the only writer of LMDB.
// Owns: the write side of the store and each partition's submit sequence.
// Receives: appends from the engine, starts and outcomes from partitions,
//   replays from the engine, purges from the janitor.
// Persists: every job transition, in group-committed write transactions;
//   a sender is answered only after the transaction holding its command
//   committed (and was fsync'd unless sync is off).
// Fails: MDB_MAP_FULL grows the map and replays the batch; any other LMDB
//   error fails the batch's commands with storage_failure and the journal
//   stays up. A command that does not fit the stored state (errc) fails alone.

#include <cstdint>
#include <memory>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "hypercore/core/messages.hpp"
#include "hypercore/persistence/lmdb_env.hpp"

namespace hypercore {

using journal_actor = caf::typed_actor<
  caf::replies_to<append_jobs>::with<append_receipt>,
  caf::reacts_to<record_start>,
  caf::replies_to<record_outcome>::with<append_receipt>,
  caf::replies_to<replay_dead>::with<append_receipt>,
  caf::replies_to<purge_jobs>::with<std::uint64_t>,
  caf::replies_to<put_session>::with<std::uint64_t>,
  caf::replies_to<delete_sessions>::with<std::uint64_t>,
  /// (commits, records) so far; answered after committing what is queued,
  /// so its reply is also a barrier: everything sent before is durable.
  caf::replies_to<stats_atom>::with<std::uint64_t, std::uint64_t>,
  caf::reacts_to<flush_atom>>;

struct journal_options {
  std::uint16_t partitions = 8;
  /// Most commands written in one transaction.
  std::size_t max_batch = 4096;
  /// An idempotency key older than this no longer matches (milliseconds).
  std::int64_t idempotency_ttl_ms = 24LL * 3600 * 1000;
};

/// Spawns the journal on its own thread (detached): commits block on fsync
/// and an LMDB write transaction must begin and end on one thread.
journal_actor spawn_journal(caf::actor_system& sys,
                            std::shared_ptr<persistence::lmdb_env> env,
                            journal_options opts);

} // namespace hypercore
