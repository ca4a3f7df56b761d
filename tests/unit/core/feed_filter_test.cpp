// SPDX-License-Identifier: Apache-2.0
// Which transitions a feed filter lets through.
#include <catch2/catch.hpp>

#include "hypercore/core/feed_messages.hpp"

using namespace hypercore;

namespace {

transition job_transition(job_status to, transition_cause cause = transition_cause::outcome) {
  transition t;
  t.cause = cause;
  t.id = job_id::generate();
  t.kind = "echo";
  t.partition = 2;
  t.to = to;
  t.trace_id = "t-1";
  t.partition_key = "k";
  return t;
}

} // namespace

TEST_CASE("an empty filter matches everything", "[unit][feed]") {
  feed_filter any;
  CHECK(matches(any, job_transition(job_status::succeeded)));
  transition session;
  session.cause = transition_cause::session_written;
  session.session_id = "s";
  CHECK(matches(any, session));
}

TEST_CASE("every set field of a filter must match", "[unit][feed]") {
  auto t = job_transition(job_status::dead);
  feed_filter f;
  f.kind = "echo";
  f.statuses = feed_filter::bit(job_status::dead) | feed_filter::bit(job_status::succeeded);
  f.partition = 2;
  f.trace_id = "t-1";
  f.partition_key = "k";
  CHECK(matches(f, t));

  auto other_kind = f;
  other_kind.kind = "flaky";
  CHECK_FALSE(matches(other_kind, t));
  auto other_status = f;
  other_status.statuses = feed_filter::bit(job_status::retrying);
  CHECK_FALSE(matches(other_status, t));
  auto other_partition = f;
  other_partition.partition = 1;
  CHECK_FALSE(matches(other_partition, t));
  auto other_job = f;
  other_job.job = job_id::generate();
  CHECK_FALSE(matches(other_job, t));
  auto same_job = f;
  same_job.job = t.id;
  CHECK(matches(same_job, t));
  auto causes = f;
  causes.causes = feed_filter::bit(transition_cause::submitted);
  CHECK_FALSE(matches(causes, t));
}

TEST_CASE("session transitions match only filters without job fields", "[unit][feed]") {
  transition session;
  session.cause = transition_cause::session_deleted;
  session.session_id = "s-1";
  feed_filter by_session;
  by_session.session_id = "s-1";
  CHECK(matches(by_session, session));
  by_session.session_id = "s-2";
  CHECK_FALSE(matches(by_session, session));
  feed_filter by_kind;
  by_kind.kind = "echo";
  CHECK_FALSE(matches(by_kind, session));
  feed_filter by_status;
  by_status.statuses = feed_filter::terminal_statuses();
  CHECK_FALSE(matches(by_status, session));
}

TEST_CASE("a subscriber acknowledges once per eighth of its capacity", "[feed]") {
  ack_batcher acks{64};
  std::uint64_t acked = 0;
  for (int i = 0; i < 7; ++i) acked += acks.handled(1);
  CHECK(acked == 0);
  CHECK(acks.handled(1) == 8);
  CHECK(acks.handled(20) == 20);
  // What stays unacknowledged is always under an eighth of the capacity, so
  // a feed that withholds at `capacity` is always told it may resume.
  CHECK(acks.handled(7) == 0);
}

TEST_CASE("a small subscriber acknowledges every batch", "[feed]") {
  ack_batcher acks{4};
  CHECK(acks.handled(1) == 1);
  CHECK(acks.handled(3) == 3);
}
