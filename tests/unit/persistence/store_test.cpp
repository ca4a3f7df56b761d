// SPDX-License-Identifier: Apache-2.0
// The store without actors: codec round trips and the indexes the
// partitions rely on, on a real LMDB environment.
#include <catch2/catch.hpp>

#include <filesystem>
#include <future>

#include <lmdb.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hypercore/core/routing.hpp"
#include "hypercore/persistence/codec.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/persistence/job_tables.hpp"
#include "hypercore/persistence/store_call.hpp"
#include "store_support.hpp"

using namespace hypercore;
using namespace hypercore::persistence;
using hypercore::test::store_fixture;

namespace {

job sample(std::uint16_t partition, std::uint64_t seq, std::string key = {}) {
  job j;
  j.id = job_id::generate();
  j.kind = "echo";
  j.params = R"({"a":1})";
  j.partition_key = std::move(key);
  j.partition = partition;
  j.seq = seq;
  j.errors.push_back({1, 5, "boom", true});
  j.followups.push_back(job_id::generate());
  return j;
}


} // namespace

TEST_CASE("a job record round-trips through the codec", "[unit][persistence]") {
  auto j = sample(3, 42, "user-7");
  j.status = job_status::retrying;

  auto decoded = decode_job(encode_job(j));

  REQUIRE(decoded);
  CHECK(decoded->id == j.id);
  CHECK(decoded->params == j.params);
  CHECK(decoded->partition_key == "user-7");
  CHECK(decoded->status == job_status::retrying);
  CHECK(decoded->errors.size() == 1);
  CHECK(decoded->errors[0].message == "boom");
  CHECK(decoded->followups == j.followups);
}

TEST_CASE("a record's head reads what the window orders by, without the params",
          "[unit][persistence]") {
  auto j = sample(3, 42, "user-7");
  j.kind = "rag.embed";
  j.priority = -7;
  j.run_at_ms = 123456789;
  j.status = job_status::retrying;
  auto bytes = encode_job(j);

  auto head = decode_job_head(bytes);

  REQUIRE(head);
  CHECK(head->id == j.id);
  CHECK(head->kind == "rag.embed");
  CHECK(head->partition_key == "user-7");
  CHECK(head->status == job_status::retrying);
  CHECK(head->priority == -7);
  CHECK(head->seq == 42);
  CHECK(head->run_at_ms == 123456789);
  // A record cut inside its head, or of an unknown version, has none.
  CHECK_FALSE(decode_job_head(std::string_view{bytes}.substr(0, 20)));
  bytes[0] = 99;
  CHECK_FALSE(decode_job_head(bytes));
}

TEST_CASE("truncated or unknown-version records are refused", "[unit][persistence]") {
  auto bytes = encode_job(sample(0, 1));

  CHECK_FALSE(decode_job(bytes.substr(0, bytes.size() / 2)));
  bytes[0] = 99;
  CHECK_FALSE(decode_job(bytes));
  CHECK_FALSE(decode_job(""));
}

TEST_CASE_METHOD(store_fixture, "the pending index pages a partition in seq order",
                 "[unit][persistence]") {
  std::vector<job> jobs{sample(1, 3), sample(1, 1), sample(2, 2), sample(1, 2)};
  write([&](job_tables& t) {
    for (auto& j : jobs) {
      t.put_job(j);
      t.index_active(j, 0);
    }
  });

  std::vector<std::uint64_t> seen;
  read_txn txn{*env};
  job_tables t{*env, txn.get()};
  t.scan_pending(1, 1, [&](const persistence::pending_entry& e) {
    seen.push_back(e.seq);
    return true;
  });

  CHECK(seen == std::vector<std::uint64_t>{2, 3});
  CHECK(t.max_pending_seq(1) == 3);
  CHECK(t.max_pending_seq(2) == 2);
  CHECK(t.max_pending_seq(3) == 0);
}

TEST_CASE_METHOD(store_fixture, "a key chain finds the next job of the same key only",
                 "[unit][persistence]") {
  auto a1 = sample(0, 1, "a");
  auto b1 = sample(0, 2, "b");
  auto a2 = sample(0, 3, "a");
  write([&](job_tables& t) {
    for (auto* j : {&a1, &b1, &a2}) {
      t.put_job(*j);
      t.index_active(*j, 0);
    }
  });

  read_txn txn{*env};
  job_tables t{*env, txn.get()};
  auto hash_a = stable_hash("a");

  CHECK(t.next_of_key(0, hash_a, 1) == std::optional<job_id>{a2.id});
  CHECK_FALSE(t.next_of_key(0, hash_a, 3));
}

TEST_CASE("a read-only open reads beside a writer without its lock",
          "[unit][persistence][readonly]") {
  hypercore::test::temp_dir dir;
  auto j = sample(1, 1);
  {
    store_fixture::write_to(dir.str(), [&](job_tables& t) { t.put_job(j); });
  }
  // Another process mid-transaction (a running engine's journal): it holds
  // LMDB's writer lock until told to let go. Forked with no environment
  // open here.
  int ready[2], release[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(release) == 0);
  pid_t writer = ::fork();
  REQUIRE(writer >= 0);
  if (writer == 0) {
    ::close(ready[0]);
    ::close(release[1]);
    env_options opts;
    opts.dir = dir.str();
    opts.partitions = 4;
    auto env = lmdb_env::open(opts);
    MDB_txn* txn = nullptr;
    if (!env || mdb_txn_begin((*env)->raw(), nullptr, 0, &txn) != 0) ::_exit(1);
    char one = 1;
    if (::write(ready[1], &one, 1) != 1) ::_exit(1);
    (void) ::read(release[0], &one, 1); // returns when the parent closes it
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(release[0]);
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);

  auto reader = std::async(std::launch::async, [&] {
    env_options opts;
    opts.dir = dir.str();
    opts.partitions = 0;
    opts.read_only = true;
    auto ro = lmdb_env::open(opts);
    if (!ro) return std::string{"open: "} + message_of(ro.error());
    std::string seen;
    auto read = read_tables(**ro, [&](job_tables& t) {
      t.scan_jobs([&](const job& found) {
        seen = found.id.to_string();
        return true;
      });
    });
    if (read) return std::string{"read: "} + message_of(read);
    return seen;
  });

  // A reader waiting for the writer lock would wait until `release`
  // closes; this bound only fails a reader that is stuck.
  auto status = reader.wait_for(std::chrono::seconds(20));
  ::close(release[1]);
  ::close(ready[0]);
  int child_status = 0;
  ::waitpid(writer, &child_status, 0);
  CHECK(WIFEXITED(child_status));
  CHECK(WEXITSTATUS(child_status) == 0);
  REQUIRE(status == std::future_status::ready);
  CHECK(reader.get() == j.id.to_string());
}

TEST_CASE("a read-only open refuses a missing or empty store and creates nothing",
          "[unit][persistence][readonly]") {
  hypercore::test::temp_dir dir;
  env_options opts;
  opts.dir = (dir.path() / "absent").string();
  opts.partitions = 0;
  opts.read_only = true;

  auto missing = lmdb_env::open(opts);
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == errc::not_found);
  CHECK_FALSE(std::filesystem::exists(opts.dir));

  SECTION("an LMDB file with no tables") {
    // What an interrupted first open leaves: the file, no meta record.
    {
      MDB_env* raw = nullptr;
      std::filesystem::create_directories(opts.dir);
      REQUIRE(mdb_env_create(&raw) == 0);
      REQUIRE(mdb_env_open(raw, opts.dir.c_str(), 0, 0640) == 0);
      mdb_env_close(raw);
    }
    auto size_before = std::filesystem::file_size(std::filesystem::path{opts.dir} / "data.mdb");
    auto empty = lmdb_env::open(opts);
    REQUIRE_FALSE(empty);
    CHECK(code_of(empty.error()) == errc::not_found);
    CHECK(std::filesystem::file_size(std::filesystem::path{opts.dir} / "data.mdb") == size_before);
  }
}

TEST_CASE("a read-only reader follows a map another process grew",
          "[unit][persistence][readonly]") {
  hypercore::test::temp_dir dir;
  const std::size_t small_map = std::size_t{1} << 20;
  store_fixture::write_to(dir.str(), [&](job_tables& t) { t.put_job(sample(0, 1)); }, small_map);
  // The writer is forked before anything is open here; it waits for the
  // reader to be open, then grows the map and writes past the reader's
  // map, as an engine does after MDB_MAP_FULL.
  int go[2];
  REQUIRE(::pipe(go) == 0);
  // 2 MiB of params: past the 1 MiB map the reader adopts at open.
  std::vector<job> grown;
  for (std::uint64_t i = 0; i < 32; ++i) {
    grown.push_back(sample(2, i + 1));
    grown.back().params = "\"" + std::string(64 << 10, 'x') + "\"";
  }
  pid_t writer = ::fork();
  REQUIRE(writer >= 0);
  if (writer == 0) {
    ::close(go[1]);
    char byte = 0;
    if (::read(go[0], &byte, 1) != 1) ::_exit(1);
    env_options opts;
    opts.dir = dir.str();
    opts.partitions = 4;
    opts.map_bytes = std::size_t{64} << 20;
    auto env = lmdb_env::open(opts);
    if (!env) ::_exit(2);
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin((*env)->raw(), nullptr, 0, &txn) != 0) ::_exit(3);
    job_tables t{**env, txn};
    for (auto& j : grown) t.put_job(j);
    ::_exit(mdb_txn_commit(txn) == 0 ? 0 : 4);
  }
  ::close(go[0]);
  env_options opts;
  opts.dir = dir.str();
  opts.partitions = 0;
  opts.read_only = true;
  auto ro = lmdb_env::open(opts);
  REQUIRE(ro);
  auto map_before = (*ro)->map_bytes();
  char byte = 1;
  REQUIRE(::write(go[1], &byte, 1) == 1);
  ::close(go[1]);
  int child_status = 0;
  REQUIRE(::waitpid(writer, &child_status, 0) == writer);
  REQUIRE(WIFEXITED(child_status));
  REQUIRE(WEXITSTATUS(child_status) == 0);

  std::size_t jobs = 0;
  auto read = read_tables(**ro, [&](job_tables& t) {
    t.scan_jobs([&](const job&) {
      ++jobs;
      return true;
    });
  });

  CHECK_FALSE(read);
  CHECK(jobs == 1 + grown.size());
  CHECK(map_before < std::size_t{2} << 20);
  CHECK((*ro)->map_bytes() == std::size_t{64} << 20);
}
