// SPDX-License-Identifier: Apache-2.0
// The commit feed, end to end on a real store: what subscribers receive,
// how a stuck one falls behind and catches up from the event log, resuming
// by position across restarts, and the event log's retention.

#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <vector>

#include "hypercore/persistence/job_tables.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;

namespace {

/// Collects what a subscription delivers, thread-safe.
struct collector {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<transition> seen;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> lost;

  subscription_hooks hooks() {
    subscription_hooks h;
    h.on_transitions = [this](const std::vector<transition>& batch) {
      {
        std::lock_guard<std::mutex> guard{mutex};
        seen.insert(seen.end(), batch.begin(), batch.end());
      }
      changed.notify_all();
    };
    h.on_lost = [this](std::uint64_t from, std::uint64_t to) {
      {
        std::lock_guard<std::mutex> guard{mutex};
        lost.emplace_back(from, to);
      }
      changed.notify_all();
    };
    return h;
  }

  /// Waits (bounded) until `done` holds over what was seen.
  bool wait_for(const std::function<bool(const std::vector<transition>&)>& done,
                std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock{mutex};
    return changed.wait_for(lock, timeout, [&] { return done(seen); });
  }

  std::size_t terminal_count() {
    std::size_t n = 0;
    for (const auto& t : seen)
      if (t.cause == transition_cause::outcome && is_terminal(t.to)) ++n;
    return n;
  }
};

/// Checks what `seen` says about each job against the store: every revision
/// from 1 to the stored one exactly once, in order, and positions strictly
/// increasing.
void check_exactly_once_in_order(engine& eng, const std::vector<transition>& seen,
                                 const std::vector<job_id>& ids) {
  std::map<job_id, std::vector<std::uint64_t>> revisions;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (i > 0) REQUIRE(seen[i].position > seen[i - 1].position);
    if (!seen[i].id.empty()) revisions[seen[i].id].push_back(seen[i].revision);
  }
  for (const auto& id : ids) {
    auto stored = eng.get(id);
    REQUIRE(stored);
    const auto& revs = revisions[id];
    REQUIRE(revs.size() == stored->record.revision);
    for (std::size_t r = 0; r < revs.size(); ++r) REQUIRE(revs[r] == r + 1);
  }
}

std::vector<job_status> statuses_of(const std::vector<transition>& seen, const job_id& id) {
  std::vector<job_status> out;
  for (const auto& t : seen)
    if (t.id == id) out.push_back(t.to);
  return out;
}

} // namespace

TEST_CASE("every durable transition reaches a subscriber exactly once, in revision order per job",
          "[integration][feed]") {
  engine_fixture f;
  collector all;
  auto sub = f.eng->subscribe(feed_filter{}, all.hooks());
  REQUIRE(sub);

  std::vector<job_id> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(f.submit(spec("echo", {{"i", i}}, i % 3 ? "" : "k")));
  auto flaky = f.submit(spec("flaky", {{"fail_times", 2}}));
  ids.push_back(flaky);
  for (const auto& id : ids) f.wait_terminal(id);
  REQUIRE(all.wait_for([&](const auto&) { return all.terminal_count() == ids.size(); }));

  std::lock_guard<std::mutex> guard{all.mutex};
  check_exactly_once_in_order(*f.eng, all.seen, ids);
  // Never merged: each attempt shows as its own transitions.
  CHECK(statuses_of(all.seen, flaky)
        == std::vector<job_status>{job_status::pending, job_status::running, job_status::retrying,
                                   job_status::running, job_status::retrying, job_status::running,
                                   job_status::succeeded});
  for (const auto& t : all.seen) {
    if (t.id != flaky || t.to != job_status::retrying) continue;
    CHECK(t.retryable);
    CHECK(t.error.find("flaky: failing attempt") == 0);
  }
}

TEST_CASE("a filter delivers only what it names", "[integration][feed]") {
  engine_fixture f;
  collector dead_flaky;
  feed_filter filter;
  filter.kind = "flaky";
  filter.statuses = feed_filter::bit(job_status::dead);
  auto sub = f.eng->subscribe(filter, dead_flaky.hooks());
  REQUIRE(sub);

  auto before = f.eng->feed_position();
  auto ok = f.submit(spec("echo"));
  auto s = spec("flaky", {{"fail_times", 5}});
  s.max_attempts = 2;
  auto doomed = f.submit(s);
  f.wait_terminal(ok);
  f.wait_terminal(doomed);
  // One job's transitions, read back from the event log from before it was made.
  collector one_job;
  feed_filter by_job;
  by_job.job = doomed;
  subscribe_options from_before;
  from_before.resume_from = before;
  auto job_sub = f.eng->subscribe(by_job, one_job.hooks(), from_before);
  REQUIRE(job_sub);
  REQUIRE(dead_flaky.wait_for([](const auto& seen) { return !seen.empty(); }));
  REQUIRE(one_job.wait_for([](const auto& seen) {
    return !seen.empty() && seen.back().to == job_status::dead;
  }));

  std::lock_guard<std::mutex> guard{dead_flaky.mutex};
  REQUIRE(dead_flaky.seen.size() == 1);
  CHECK(dead_flaky.seen[0].id == doomed);
  CHECK(dead_flaky.seen[0].error == "flaky: failing attempt 2 of 5");
  std::lock_guard<std::mutex> guard2{one_job.mutex};
  CHECK(statuses_of(one_job.seen, doomed)
        == std::vector<job_status>{job_status::pending, job_status::running, job_status::retrying,
                                   job_status::running, job_status::dead});
  for (const auto& t : one_job.seen) CHECK(t.id == doomed);
}

TEST_CASE("a stuck subscriber slows nothing, gets a gap and catches up from the event log "
          "without losing a transition",
          "[integration][feed]") {
  engine_fixture f;
  std::promise<void> release;
  auto released = release.get_future().share();
  collector slow;
  auto hooks = slow.hooks();
  auto record = hooks.on_transitions;
  hooks.on_transitions = [released, record](const std::vector<transition>& batch) {
    released.wait(); // stuck until every job below has finished
    record(batch);
  };
  subscribe_options stuck;
  stuck.capacity = 8;
  stuck.own_thread = true; // it blocks: not on one of the engine's threads
  auto sub = f.eng->subscribe(feed_filter{}, std::move(hooks), stuck);
  REQUIRE(sub);

  // The journal and the partitions go on while the subscriber is stuck:
  // 2,000 jobs are acknowledged and finish.
  std::vector<job_id> ids;
  for (int b = 0; b < 20; ++b) {
    std::vector<job_spec> batch;
    for (int i = 0; i < 100; ++i) batch.push_back(spec("echo", {{"b", b}, {"i", i}}));
    auto got = f.eng->submit_batch(batch);
    REQUIRE(got);
    ids.insert(ids.end(), got->begin(), got->end());
  }
  for (const auto& id : ids) f.wait_terminal(id);
  CHECK(f.eng->stats().feed_gaps > 0);

  release.set_value();
  REQUIRE(slow.wait_for([&](const auto&) { return slow.terminal_count() == ids.size(); }));
  std::lock_guard<std::mutex> guard{slow.mutex};
  CHECK(slow.lost.empty());
  check_exactly_once_in_order(*f.eng, slow.seen, ids);
}

TEST_CASE("a subscription resumes from a position, across a restart", "[integration][feed]") {
  engine_fixture f;
  auto first = f.submit(spec("echo"));
  f.wait_terminal(first);
  auto from = f.eng->feed_position();
  REQUIRE(from > 1);
  auto second = f.submit(spec("flaky", {{"fail_times", 1}}));
  f.wait_terminal(second);
  f.eng->shutdown();
  f.start();
  auto after_restart = f.eng->feed_position();
  CHECK(after_restart >= from + 5);
  auto third = f.submit(spec("echo"));
  f.wait_terminal(third);

  collector resumed;
  subscribe_options resume;
  resume.resume_from = from;
  auto sub = f.eng->subscribe(feed_filter{}, resumed.hooks(), resume);
  REQUIRE(sub);
  REQUIRE(resumed.wait_for([&](const auto& seen) {
    return std::count_if(seen.begin(), seen.end(), [&](const transition& t) {
             return t.id == third && t.to == job_status::succeeded;
           }) == 1;
  }));
  std::lock_guard<std::mutex> guard{resumed.mutex};
  CHECK(resumed.lost.empty());
  REQUIRE_FALSE(resumed.seen.empty());
  CHECK(resumed.seen.front().position == from);
  for (const auto& t : resumed.seen) CHECK(t.id != first);
  CHECK(statuses_of(resumed.seen, second)
        == std::vector<job_status>{job_status::pending, job_status::running, job_status::retrying,
                                   job_status::running, job_status::succeeded});
  check_exactly_once_in_order(*f.eng, resumed.seen, {second, third});
}

TEST_CASE("with the event log off, resuming reports the range as lost instead of skipping it",
          "[integration][feed]") {
  engine_fixture f{4, [](engine_config& c) { c.event_log_capacity = 0; }};
  auto id = f.submit(spec("echo"));
  f.wait_terminal(id);
  auto next = f.eng->feed_position();
  REQUIRE(next > 1);

  collector resumed;
  subscribe_options resume;
  resume.resume_from = 1;
  auto sub = f.eng->subscribe(feed_filter{}, resumed.hooks(), resume);
  REQUIRE(sub);
  REQUIRE(resumed.wait_for([&](const auto&) { return !resumed.lost.empty(); }));
  std::lock_guard<std::mutex> guard{resumed.mutex};
  CHECK(resumed.lost.front() == std::pair<std::uint64_t, std::uint64_t>{1, next});
  CHECK(resumed.seen.empty());
}

TEST_CASE("the event log keeps its newest transitions up to its capacity", "[integration][feed]") {
  engine_fixture f{4, [](engine_config& c) { c.event_log_capacity = 50; }};
  for (int i = 0; i < 60; ++i) f.wait_terminal(f.submit(spec("echo", {{"i", i}})));
  auto next = f.eng->feed_position();
  REQUIRE(next > 150);
  f.eng->shutdown();

  persistence::env_options opts;
  opts.dir = f.dir.str();
  opts.partitions = 4;
  auto env = persistence::lmdb_env::open(opts);
  REQUIRE(env);
  persistence::read_txn txn{**env};
  persistence::job_tables t{**env, txn.get()};
  CHECK(t.count(t.dbs().events) == 50);
  CHECK(t.first_event() == next - 50);
  CHECK(t.last_event() == next - 1);
}

TEST_CASE("session writes appear in the feed", "[integration][feed][sessions]") {
  engine_fixture f;
  collector sessions;
  feed_filter filter;
  filter.causes = feed_filter::bit(transition_cause::session_written)
                  | feed_filter::bit(transition_cause::session_deleted);
  auto sub = f.eng->subscribe(filter, sessions.hooks());
  REQUIRE(sub);

  auto id = f.eng->create_session({{"n", 1}}, std::chrono::seconds(60));
  REQUIRE(id);
  REQUIRE(f.eng->update_session(*id, nlohmann::json{{"n", 2}}, std::nullopt));
  REQUIRE_FALSE(f.eng->delete_session(*id));
  REQUIRE(sessions.wait_for([](const auto& seen) { return seen.size() == 3; }));
  std::lock_guard<std::mutex> guard{sessions.mutex};
  CHECK(sessions.seen[0].cause == transition_cause::session_written);
  CHECK(sessions.seen[1].cause == transition_cause::session_written);
  CHECK(sessions.seen[2].cause == transition_cause::session_deleted);
  for (const auto& t : sessions.seen) CHECK(t.session_id == *id);
  CHECK(sessions.seen[0].expires_at_ms > 0);
}

TEST_CASE("dropping a subscription stops its callbacks", "[integration][feed]") {
  engine_fixture f;
  std::atomic<int> calls{0};
  auto sub = f.eng->subscribe(feed_filter{}, [&](const transition&) { ++calls; });
  REQUIRE(sub);
  f.wait_terminal(f.submit(spec("echo")));
  // The terminal transition is delivered after wait returns at the latest
  // by the time another commit is acknowledged.
  f.wait_terminal(f.submit(spec("echo")));
  sub->reset();
  auto before = calls.load();
  CHECK(before > 0);
  f.wait_terminal(f.submit(spec("echo")));
  f.wait_terminal(f.submit(spec("echo")));
  CHECK(calls.load() == before);
}
