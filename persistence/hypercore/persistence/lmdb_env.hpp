// SPDX-License-Identifier: Apache-2.0
#pragma once

// The one LMDB environment of a process: opens (or creates) the data
// directory, checks that it is ours and of a format we read, and owns the
// named databases. Opened once per process; never fork while it is open.

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <stdexcept>
#include <string>

#include <caf/expected.hpp>
#include <lmdb.h>

namespace hypercore::persistence {

/// Version of the store layout (meta "format"); a store with a higher value
/// is refused at open with errc::newer_format.
inline constexpr std::uint32_t store_format_version = 1;

struct env_options {
  std::string dir;
  /// Initial map size; the journal doubles it on MDB_MAP_FULL.
  std::size_t map_bytes = std::size_t{256} << 20;
  /// false opens with MDB_NOSYNC: commits are not fsync'd (benchmarks only).
  bool sync = true;
  /// The partition count the store was created with must match; 0 accepts
  /// any (read-only tools such as export).
  std::uint16_t partitions = 8;
  /// Hold an exclusive lock on the directory for the environment's life: two
  /// engines on one store would run jobs twice and break per-key order.
  /// Read-only tools (export) leave it off and read beside a running engine.
  bool exclusive = true;
  /// Open for reading only (export): no write transaction, so no wait for
  /// LMDB's writer lock beside a running engine and no chance of a write.
  /// The store must exist and hold every table; implies !exclusive.
  bool read_only = false;
};

/// An LMDB return code that is not an ordinary outcome. Thrown only inside
/// persistence and caught there, by read_tables / try_write
/// (store_call.hpp), which hand it to their callers as a value.
struct lmdb_failure : std::runtime_error {
  int rc;
  explicit lmdb_failure(int code, const char* where);
};

/// The named databases, one per table of docs/STORAGE.md.
struct tables {
  MDB_dbi jobs = 0;
  MDB_dbi pending = 0;
  MDB_dbi scheduled = 0;
  MDB_dbi keys = 0;
  MDB_dbi results = 0;
  MDB_dbi dead = 0;
  MDB_dbi expiry = 0;
  MDB_dbi idempotency = 0;
  MDB_dbi sessions = 0;
  MDB_dbi meta = 0;
  /// The event log: feed position -> transition (docs/STORAGE.md).
  MDB_dbi events = 0;
};

class lmdb_env {
public:
  /// Opens the store in opts.dir, creating it when the directory is empty or
  /// missing. Errors: data_dir_locked (another process holds it; the message
  /// names its pid), foreign_data_dir, newer_format, invalid_config
  /// (partition count differs), storage_failure.
  static caf::expected<std::shared_ptr<lmdb_env>> open(const env_options& opts);

  ~lmdb_env();
  lmdb_env(const lmdb_env&) = delete;
  lmdb_env& operator=(const lmdb_env&) = delete;

  MDB_env* raw() const { return env_; }
  const tables& dbs() const { return dbs_; }
  const std::string& dir() const { return dir_; }
  std::size_t map_bytes() const { return map_bytes_; }

  /// Doubles the map: 0, or the LMDB code of the failure. Only the journal
  /// calls this, with no transaction of its own open; it waits for every
  /// reader to leave (see resize_mutex).
  int grow_map();

  /// Adopts the map size another process (a running engine, beside this
  /// read-only reader) grew the store to; LMDB then answers MDB_MAP_RESIZED
  /// to every new transaction. Waits for this process' readers to leave.
  int adopt_map_size();

  /// True when the data directory's file system has almost no room left
  /// (under 5% of its size, or under 64 MiB on large ones): tells a full disk
  /// from other I/O errors, which LMDB reports alike.
  bool disk_nearly_full() const;

  /// Readers hold this shared lock while their read transaction is open, so
  /// grow_map() never runs under an open transaction (an LMDB rule).
  std::shared_mutex& resize_mutex() { return resize_mutex_; }

private:
  lmdb_env() = default;

  MDB_env* env_ = nullptr;
  tables dbs_;
  std::string dir_;
  std::size_t map_bytes_ = 0;
  std::shared_mutex resize_mutex_;
  /// The flock'd hypercore.lock, or -1; closing it releases the lock.
  int lock_fd_ = -1;
};

/// A read-only transaction confined to one handler (MDB_NOTLS, so any thread
/// may open one). Keep it short: a long-lived reader makes the file grow.
class read_txn {
public:
  explicit read_txn(lmdb_env& env);
  ~read_txn();
  read_txn(const read_txn&) = delete;
  read_txn& operator=(const read_txn&) = delete;

  MDB_txn* get() const { return txn_; }

private:
  std::shared_lock<std::shared_mutex> lock_;
  MDB_txn* txn_ = nullptr;
};

/// The write transaction. Only the journal opens one, and it begins and
/// commits it inside one handler, on its own thread (an LMDB rule). Aborted
/// when destroyed uncommitted, so an exception never leaves it open.
class write_txn {
public:
  explicit write_txn(lmdb_env& env);
  ~write_txn();
  write_txn(const write_txn&) = delete;
  write_txn& operator=(const write_txn&) = delete;

  MDB_txn* get() const { return txn_; }
  /// Commits; the transaction is gone afterwards whatever the outcome.
  /// Throws lmdb_failure when the commit fails.
  void commit();

private:
  MDB_txn* txn_ = nullptr;
};

} // namespace hypercore::persistence
