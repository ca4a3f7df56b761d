// SPDX-License-Identifier: Apache-2.0
// Lazy recovery: a large backlog in the store does not slow start-up or
// fill memory; partitions page it in as they have room.
#include <fstream>

#include "hypercore/core/routing.hpp"
#include "hypercore/persistence/job_tables.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;

namespace {

// Writes `count` pending echo jobs straight into the store, as a previous
// process would have left them; returns the first job of partition 0.
job_id write_backlog(const std::string& dir, std::uint16_t partitions, std::size_t count,
                     std::size_t keys = 0) {
  persistence::env_options opts;
  opts.dir = dir;
  opts.partitions = partitions;
  opts.map_bytes = std::size_t{1} << 30;
  opts.sync = false;
  auto env = persistence::lmdb_env::open(opts);
  REQUIRE(env);
  std::vector<std::uint64_t> seq(partitions, 0);
  job_id first;
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin((*env)->raw(), nullptr, 0, &txn) == 0);
  persistence::job_tables t{**env, txn};
  for (std::size_t i = 0; i < count; ++i) {
    job j;
    j.id = job_id::generate();
    j.kind = "echo";
    j.params = R"({"n":1})";
    j.trace_id = j.id.to_string();
    j.max_attempts = 5;
    if (keys > 0) j.partition_key = "key-" + std::to_string(i % keys);
    j.partition = partition_for(j.partition_key, j.id, partitions);
    j.seq = ++seq[j.partition];
    // With keys: the last job of key-0; without: the first of partition 0.
    if (keys > 0 ? i % keys == 0 : (j.partition == 0 && j.seq == 1)) first = j.id;
    // Every tenth job was running when the previous process died.
    if (i % 10 == 0) {
      j.status = job_status::running;
      j.attempts = 1;
    }
    t.put_job(j);
    t.index_active(j, 0);
  }
  REQUIRE(mdb_txn_commit(txn) == 0);
  return first;
}

} // namespace

TEST_CASE("start-up with a 200,000-job backlog runs the first job at once and pages the rest",
          "[integration][recovery]") {
  temp_dir dir;
  auto first = write_backlog(dir.str(), 4, 200'000);
  auto cfg = test_config(dir.str());
  cfg.partition_window = 256;
  engine e{cfg};
  for (auto& f : agents::builtin_agents(4)) REQUIRE_FALSE(e.register_agent(f));
  auto rss_before = anon_rss_bytes();

  auto t0 = std::chrono::steady_clock::now();
  REQUIRE_FALSE(e.start());
  auto view = e.wait(first, std::chrono::seconds(30));
  auto first_done = std::chrono::steady_clock::now() - t0;

  REQUIRE(view);
  CHECK(view->record.status == job_status::succeeded);
  // The goal is 100 ms (bench/); this bound only catches an eager load,
  // which takes seconds for this backlog.
  CHECK(first_done < std::chrono::seconds(2));
  auto stats = e.stats();
  CHECK(stats.resident <= 4 * 256 + 4);
  INFO("anonymous RSS grew by " << (anon_rss_bytes() - rss_before) / 1024 << " KiB");
  if (memory_bounds_meaningful) CHECK(anon_rss_bytes() < rss_before + (64u << 20));
}

TEST_CASE("start-up pages in key heads only: the records of a busy key's backlog are not read",
          "[integration][recovery]") {
  temp_dir dir;
  constexpr std::size_t keys = 40;
  auto last_of_key0 = write_backlog(dir.str(), 4, 40'000, keys);
  engine e{test_config(dir.str())};
  for (auto& f : agents::builtin_agents(4)) REQUIRE_FALSE(e.register_agent(f));
  REQUIRE_FALSE(e.start());

  // key-0's last job runs after its 999 predecessors: by then the pager has
  // passed the whole pending index.
  auto view = e.wait(last_of_key0, std::chrono::seconds(60));

  REQUIRE(view);
  CHECK(view->record.status == job_status::succeeded);
  auto stats = e.stats();
  INFO("records paged in: " << stats.records_paged);
  // One record per key head (the rest come through the key chain), not one
  // per queued job (40,000 before keyed entries carried their key).
  CHECK(stats.records_paged <= 2 * keys);
}
