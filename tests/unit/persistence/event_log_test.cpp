// SPDX-License-Identifier: Apache-2.0
// The event log without actors: the transition codec and the events table
// (append, range scans, trimming, the position mark) on a real LMDB store.
#include <catch2/catch.hpp>

#include "hypercore/persistence/event_codec.hpp"
#include "hypercore/persistence/job_tables.hpp"
#include "store_support.hpp"

using namespace hypercore;
using namespace hypercore::persistence;

namespace {

transition sample_transition() {
  transition t;
  t.position = 77;
  t.cause = transition_cause::outcome;
  t.id = job_id::generate();
  t.kind = "flaky";
  t.partition = 3;
  t.seq = 12;
  t.from = job_status::running;
  t.to = job_status::retrying;
  t.attempt = 2;
  t.revision = 5;
  t.run_at_ms = 1'700'000'000'500;
  t.created_at_ms = 1'700'000'000'000;
  t.at_ms = 1'700'000'000'400;
  t.trace_id = "trace-1";
  t.parent_id = job_id::generate();
  t.session_id = "s-1";
  t.partition_key = "user-\xc3\xa9";
  t.error = "boom";
  t.retryable = true;
  return t;
}

struct log_fixture : test::store_fixture {
  std::vector<std::uint64_t> positions(std::uint64_t from, std::uint64_t to) {
    read_txn txn{*env};
    job_tables t{*env, txn.get()};
    std::vector<std::uint64_t> out;
    t.scan_events(from, to, [&](std::uint64_t p, std::string_view) {
      out.push_back(p);
      return true;
    });
    return out;
  }
};

} // namespace

TEST_CASE("a transition round-trips through the event codec", "[unit][persistence][feed]") {
  auto t = sample_transition();
  auto decoded = decode_transition(encode_transition(t), 77);
  REQUIRE(decoded);
  CHECK(decoded->position == 77);
  CHECK(decoded->cause == t.cause);
  CHECK(decoded->id == t.id);
  CHECK(decoded->kind == t.kind);
  CHECK(decoded->partition == t.partition);
  CHECK(decoded->seq == t.seq);
  CHECK(decoded->from == t.from);
  CHECK(decoded->to == t.to);
  CHECK(decoded->attempt == t.attempt);
  CHECK(decoded->revision == t.revision);
  CHECK(decoded->run_at_ms == t.run_at_ms);
  CHECK(decoded->created_at_ms == t.created_at_ms);
  CHECK(decoded->at_ms == t.at_ms);
  CHECK(decoded->trace_id == t.trace_id);
  CHECK(decoded->parent_id == t.parent_id);
  CHECK(decoded->session_id == t.session_id);
  CHECK(decoded->partition_key == t.partition_key);
  CHECK(decoded->error == t.error);
  CHECK(decoded->retryable);
}

TEST_CASE("a torn or corrupted event record is refused, never misread", "[unit][persistence][feed]") {
  auto bytes = encode_transition(sample_transition());
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    CHECK_FALSE(decode_transition(std::string_view{bytes}.substr(0, cut), 1));
  CHECK_FALSE(decode_transition(bytes + "x", 1));
  auto bad_status = bytes;
  bad_status[1 + 1 + 16 + 4 + 5 + 2 + 8 + 1] = 9; // `to`
  CHECK_FALSE(decode_transition(bad_status, 1));
  auto bad_version = bytes;
  bad_version[0] = 2;
  CHECK_FALSE(decode_transition(bad_version, 1));
}

TEST_CASE("the events table scans ranges, trims the oldest and keeps the position mark",
          "[unit][persistence][feed]") {
  log_fixture f;
  auto record = encode_transition(sample_transition());
  f.write([&](job_tables& t) {
    for (std::uint64_t p = 1; p <= 10; ++p) t.put_event(p, record);
    t.put_feed_mark(11);
  });

  CHECK(f.positions(3, 6) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK(f.positions(9, 100) == std::vector<std::uint64_t>{9, 10});
  CHECK(f.positions(6, 6).empty());

  std::size_t removed = 0;
  f.write([&](job_tables& t) { removed = t.trim_events(8, 3); });
  CHECK(removed == 3); // bounded per call
  f.write([&](job_tables& t) { removed = t.trim_events(8, 100); });
  CHECK(removed == 4);
  CHECK(f.positions(0, 100) == std::vector<std::uint64_t>{8, 9, 10});

  read_txn txn{*f.env};
  job_tables t{*f.env, txn.get()};
  CHECK(t.first_event() == 8u);
  CHECK(t.last_event() == 10u);
  CHECK(t.feed_mark() == 11u);
}
