// SPDX-License-Identifier: Apache-2.0
#pragma once

// A real LMDB store on a temp dir, for tests of the persistence layer
// without actors: open it, write in one transaction, read in another.

#include <memory>

#include <catch2/catch.hpp>

#include "hypercore/persistence/job_tables.hpp"
#include "test_support.hpp"

namespace hypercore::test {

struct store_fixture {
  temp_dir dir;
  std::shared_ptr<persistence::lmdb_env> env;

  explicit store_fixture(std::uint16_t partitions = 4) {
    persistence::env_options opts;
    opts.dir = dir.str();
    opts.partitions = partitions;
    auto opened = persistence::lmdb_env::open(opts);
    REQUIRE(opened);
    env = *opened;
  }

  /// Writes with `f` to the store in `dir` (created with 4 partitions and a
  /// map of `map_bytes`) in one committed transaction, and closes it again.
  template <class F>
  static void write_to(const std::string& dir, F&& f, std::size_t map_bytes = std::size_t{256} << 20) {
    persistence::env_options opts;
    opts.dir = dir;
    opts.partitions = 4;
    opts.map_bytes = map_bytes;
    auto opened = persistence::lmdb_env::open(opts);
    REQUIRE(opened);
    persistence::write_txn txn{**opened};
    persistence::job_tables t{**opened, txn.get()};
    f(t);
    txn.commit();
  }

  /// Runs `f` on the tables inside one committed write transaction.
  template <class F>
  void write(F&& f) {
    persistence::write_txn txn{*env};
    persistence::job_tables t{*env, txn.get()};
    f(t);
    txn.commit();
  }
};

} // namespace hypercore::test
