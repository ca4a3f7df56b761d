// SPDX-License-Identifier: Apache-2.0
// The denominators: what LMDB and CAF alone can do on this machine, measured
// in the same run as Hypercore so a ratio compares like with like.
#include <filesystem>
#include <future>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <lmdb.h>

#include "bench_engine.hpp"
#include "hypercore/core/messages.hpp"
#include "hypercore/persistence/codec.hpp"
#include "workloads.hpp"

namespace hypercore::bench {

namespace {

// Durable group-committed puts of records the size of a Hypercore job
// record, `batch` per transaction with fsync: records/s.
double lmdb_group_commit(const bench_options& opts, std::size_t batch) {
  auto dir = scratch_path(opts, "lmdb");
  std::filesystem::create_directories(dir);
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_mapsize(env, std::size_t{1} << 30);
  if (mdb_env_open(env, dir.c_str(), 0, 0640) != 0) throw std::runtime_error("mdb_env_open");
  job sample;
  sample.id = job_id::generate();
  sample.kind = "bench.noop";
  sample.params = "{}";
  sample.trace_id = sample.id.to_string();
  auto record = persistence::encode_job(sample);
  MDB_dbi dbi = 0;
  auto t0 = clock_type::now();
  for (std::size_t i = 0; i < opts.jobs; i += batch) {
    MDB_txn* txn = nullptr;
    mdb_txn_begin(env, nullptr, 0, &txn);
    if (i == 0) mdb_dbi_open(txn, nullptr, 0, &dbi);
    for (std::size_t j = i; j < std::min(opts.jobs, i + batch); ++j) {
      auto key = persistence::id_key(job_id::generate());
      MDB_val k{key.size(), key.data()}, v{record.size(), record.data()};
      mdb_put(txn, dbi, &k, &v, MDB_APPEND);
    }
    if (mdb_txn_commit(txn) != 0) throw std::runtime_error("mdb_txn_commit");
  }
  std::chrono::duration<double> took = clock_type::now() - t0;
  mdb_env_close(env);
  std::filesystem::remove_all(dir);
  return static_cast<double>(opts.jobs) / took.count();
}

// Messages/s through partition -> agent -> journal with no work: the path
// every job takes, minus storage and agents.
double caf_path(const bench_options& opts) {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  caf::actor_system sys{cfg};
  std::promise<void> done;
  auto finished = done.get_future();
  auto total = opts.jobs;
  auto journal = sys.spawn([total, &done](caf::event_based_actor*) -> caf::behavior {
    auto seen = std::make_shared<std::size_t>(0);
    return {[=, &done](job_finished&) {
      if (++*seen == total) done.set_value();
    }};
  });
  auto agent = sys.spawn([journal](caf::event_based_actor* self) -> caf::behavior {
    return {[=](run_job& cmd) {
      job_finished f;
      f.id = cmd.j.id;
      f.ok = true;
      self->send(journal, std::move(f));
    }};
  });
  auto partition = sys.spawn([agent](caf::event_based_actor* self) -> caf::behavior {
    return {[=](job& j) { self->send(agent, run_job{std::move(j), false, {}}); }};
  });
  job sample;
  sample.kind = "bench.noop";
  sample.params = "{}";
  auto t0 = clock_type::now();
  for (std::size_t i = 0; i < total; ++i) caf::anon_send(partition, sample);
  finished.wait();
  std::chrono::duration<double> took = clock_type::now() - t0;
  return static_cast<double>(total) / took.count();
}

} // namespace

std::vector<figure> run_limits(const bench_options& opts) {
  figure lmdb{"limit-lmdb", "throughput-batch", true, "jobs_per_s", {}};
  figure caf{"limit-caf", "throughput-batch", false, "jobs_per_s", {}};
  for (std::size_t r = 0; r < opts.runs; ++r) {
    lmdb.samples.push_back(lmdb_group_commit(opts, 1000));
    caf.samples.push_back(caf_path(opts));
  }
  return {lmdb, caf};
}

} // namespace hypercore::bench
