// SPDX-License-Identifier: Apache-2.0
#pragma once

// The value-returning surface of persistence: callers outside this folder
// read and write through these two functions and get an error value, never
// an exception. Inside, job_tables and the codecs signal an unexpected LMDB
// code (or a record that does not decode) by throwing; the throw never
// leaves the call that opened the transaction, and the transaction is
// aborted on the way out (read_txn and write_txn are RAII), as LMDB wants of
// a failed transaction: unusable, never half-recovered.

#include <cerrno>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "hypercore/core/errc.hpp"
#include "hypercore/persistence/job_tables.hpp"
#include "hypercore/persistence/lmdb_env.hpp"

namespace hypercore::persistence {

/// A failed store call: the LMDB or errno code (0 when the failure was not
/// LMDB's, e.g. a record that does not decode) and what failed.
struct store_failure {
  int rc = 0;
  std::string message;
};

/// Runs `fn(job_tables&)` inside one short read transaction on the calling
/// thread and returns what it returns (caf::error for a void fn). Any failure
/// comes back as errc::storage_unavailable with LMDB's message.
template <class F>
auto read_tables(lmdb_env& env, F&& fn) {
  using result = std::invoke_result_t<F, job_tables&>;
  using out = std::conditional_t<std::is_void_v<result>, caf::error, caf::expected<result>>;
  try {
    read_txn txn{env};
    job_tables t{env, txn.get()};
    if constexpr (std::is_void_v<result>) {
      std::forward<F>(fn)(t);
      return out{};
    } else {
      return out{std::forward<F>(fn)(t)};
    }
  } catch (const std::exception& e) {
    return out{make_error(errc::storage_unavailable, std::string{"reading the store failed: "} + e.what())};
  }
}

/// Runs `fn(write_txn&)`, which opens nothing else and commits `txn` itself.
/// Returns the failure, if any, with its code, so the journal can tell
/// MDB_MAP_FULL (grow and replay) from a full disk or an I/O error. Only the
/// journal calls this, on its own thread.
template <class F>
std::optional<store_failure> try_write(lmdb_env& env, F&& fn) {
  try {
    write_txn txn{env};
    std::forward<F>(fn)(txn);
    return std::nullopt;
  } catch (const lmdb_failure& e) {
    return store_failure{e.rc, e.what()};
  } catch (const std::exception& e) {
    return store_failure{0, e.what()};
  }
}

} // namespace hypercore::persistence
