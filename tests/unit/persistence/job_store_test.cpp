// SPDX-License-Identifier: Apache-2.0
// The transition rules without actors, on a real store and a manual clock:
// what each command writes, the transitions it reports, and what a
// transaction that did not commit leaves behind (nothing).
#include <catch2/catch.hpp>

#include "hypercore/persistence/job_store.hpp"
#include "store_support.hpp"

using namespace hypercore;
using namespace hypercore::persistence;

namespace {

struct rules_fixture : test::store_fixture {
  std::int64_t clock = 1'000'000;
  std::optional<job_store> store;

  explicit rules_fixture(std::size_t event_log_capacity = 1'000'000) : test::store_fixture(2) {
    reopen(event_log_capacity);
  }

  // A new job_store on the same data, as after a restart.
  void reopen(std::size_t event_log_capacity) {
    job_store_options sopts;
    sopts.partitions = 2;
    sopts.idempotency_ttl_ms = 10'000;
    sopts.event_log_capacity = event_log_capacity;
    sopts.clock = [this] { return clock; };
    read_txn txn{*env};
    store.emplace(sopts, txn, *env);
  }

  std::uint64_t feed_mark() {
    read_txn txn{*env};
    job_tables t{*env, txn.get()};
    return t.feed_mark();
  }

  // One transaction: apply `cmd`, commit, return its result and transitions.
  template <class Command>
  std::pair<command_result, std::vector<transition>> run(Command cmd, bool commit = true) {
    write_txn txn{*env};
    job_tables t{*env, txn.get()};
    store->begin();
    auto result = store->apply(t, cmd);
    store->finish(t);
    if (!commit) {
      store->rolled_back();
      return {std::move(result), {}};
    }
    txn.commit();
    return {std::move(result), store->committed()};
  }

  std::optional<job> read(const job_id& id) {
    read_txn txn{*env};
    job_tables t{*env, txn.get()};
    return t.get_job(id);
  }
};

job new_job(std::string key = {}, std::string idem = {}) {
  job j;
  j.id = job_id::generate();
  j.kind = "echo";
  j.params = "{}";
  j.partition = 1;
  j.partition_key = std::move(key);
  j.idempotency_key = std::move(idem);
  j.max_attempts = 3;
  j.trace_id = j.id.to_string();
  return j;
}

} // namespace

TEST_CASE("a job's life reports one transition per change, with dense positions",
          "[unit][persistence][job_store]") {
  rules_fixture f;
  auto j = new_job();
  auto [submitted, t1] = f.run(append_jobs{{j}});
  REQUIRE_FALSE(submitted.err);
  REQUIRE(t1.size() == 1);
  CHECK(t1[0].position == 1);
  CHECK(t1[0].cause == transition_cause::submitted);
  CHECK(t1[0].revision == 1);
  CHECK(t1[0].seq == 1);
  CHECK(t1[0].at_ms == f.clock);

  auto [started, t2] = f.run(record_start{j.id, 1, f.clock});
  REQUIRE(t2.size() == 1);
  CHECK(t2[0].position == 2);
  CHECK(t2[0].from == job_status::pending);
  CHECK(t2[0].to == job_status::running);

  record_outcome fail;
  fail.id = j.id;
  fail.attempt = 1;
  fail.next = job_status::retrying;
  fail.at_ms = f.clock;
  fail.run_at_ms = f.clock + 50;
  fail.error = {1, f.clock, "boom", true};
  auto [retried, t3] = f.run(fail);
  REQUIRE_FALSE(retried.err);
  REQUIRE(t3.size() == 1);
  CHECK(t3[0].position == 3);
  CHECK(t3[0].to == job_status::retrying);
  CHECK(t3[0].error == "boom");
  CHECK(t3[0].retryable);
  CHECK(f.read(j.id)->revision == 3);
}

TEST_CASE("a transaction that did not commit hands out nothing", "[unit][persistence][job_store]") {
  rules_fixture f;
  auto first = new_job();
  auto [refused, none] = f.run(append_jobs{{first}}, false);
  CHECK(none.empty());
  auto second = new_job();
  auto [ok, t] = f.run(append_jobs{{second}});
  REQUIRE(t.size() == 1);
  CHECK(t[0].position == 1); // the rolled-back transaction's position again
  CHECK(t[0].seq == 1);      // and its seq
  CHECK(f.store->next_position() == 2);
}

TEST_CASE("an idempotency key matches until its TTL on the injected clock",
          "[unit][persistence][job_store]") {
  rules_fixture f;
  auto original = new_job("", "key-1");
  auto [first, t1] = f.run(append_jobs{{original}});
  REQUIRE_FALSE(first.err);

  f.clock += 9'999;
  auto again = new_job("", "key-1");
  again.params = original.params;
  auto [dup, t2] = f.run(append_jobs{{again}});
  REQUIRE(dup.receipt.refs.size() == 1);
  CHECK(dup.receipt.refs[0].duplicate);
  CHECK(dup.receipt.refs[0].id == original.id);
  CHECK(t2.empty()); // a duplicate changes nothing

  f.clock += 2;
  auto later = new_job("", "key-1");
  auto [fresh, t3] = f.run(append_jobs{{later}});
  REQUIRE(fresh.receipt.refs.size() == 1);
  CHECK_FALSE(fresh.receipt.refs[0].duplicate);
  CHECK(fresh.receipt.refs[0].id == later.id);
  CHECK(t3.size() == 1);
}

TEST_CASE("a session is live until its expiry on the injected clock", "[unit][persistence][job_store]") {
  rules_fixture f;
  auto [created, t1] = f.run(put_session{"s-1", R"({"n":1})", f.clock + 5'000, false, false});
  REQUIRE_FALSE(created.err);
  CHECK(created.session.expires_at_ms == f.clock + 5'000);
  REQUIRE(t1.size() == 1);
  CHECK(t1[0].cause == transition_cause::session_written);

  f.clock += 4'000;
  auto [kept, t2] = f.run(put_session{"s-1", "", 0, true, true});
  REQUIRE_FALSE(kept.err);
  CHECK(kept.session.data == R"({"n":1})");
  CHECK(kept.session.expires_at_ms == f.clock + 1'000);

  f.clock += 2'000;
  auto [gone, t3] = f.run(put_session{"s-1", R"({"n":2})", 0, true, false});
  CHECK(code_of(gone.err) == errc::not_found);
}

TEST_CASE("feed positions go on after a restart, from the log's newest record or the mark",
          "[unit][persistence][job_store]") {
  // With the log on no mark is written (its newest record is enough); with
  // it off the mark is; across switches positions never repeat.
  rules_fixture f{100};
  auto [a, first] = f.run(append_jobs{{new_job(), new_job()}});
  REQUIRE(first.size() == 2);
  CHECK(first.back().position == 2);
  CHECK(f.feed_mark() == 0);

  // Restart with the log capacity given, submit one job: its position.
  auto after_restart = [&](std::size_t capacity) {
    f.reopen(capacity);
    auto [result, changes] = f.run(append_jobs{{new_job()}});
    REQUIRE(changes.size() == 1);
    return changes[0].position;
  };
  CHECK(after_restart(100) == 3);
  CHECK(after_restart(0) == 4);
  CHECK(f.feed_mark() == 5);
  CHECK(after_restart(0) == 5);
  CHECK(after_restart(100) == 6);
}
