// SPDX-License-Identifier: Apache-2.0
// The engine's contract for one job at a time: submit, results, follow-ups,
// cancel, idempotency, sessions, bad input and bad data directories.
#include <algorithm>
#include <fstream>
#include <map>

#include "hypercore/core/clock.hpp"
#include "hypercore/persistence/file_preallocator.hpp"
#include "hypercore/persistence/lmdb_env.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;
using nlohmann::json;

TEST_CASE_METHOD(engine_fixture, "a submitted echo job succeeds with its params as output",
                 "[integration][engine]") {
  auto id = submit(spec("echo", {{"text", "hello"}}));

  auto view = wait_terminal(id);

  CHECK(view.record.status == job_status::succeeded);
  CHECK(view.record.attempts == 1);
  REQUIRE(view.output);
  CHECK(json::parse(*view.output) == json{{"text", "hello"}});
  CHECK(view.record.trace_id == id.to_string());
}

TEST_CASE_METHOD(engine_fixture, "bad input is refused with a typed error and journals nothing",
                 "[integration][engine][validation]") {
  auto before = eng->stats().records;

  SECTION("unknown kind") {
    auto r = eng->submit(spec("no-such-kind"));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::unknown_kind);
  }
  SECTION("params failing the kind's schema") {
    auto r = eng->submit(spec("sleep", {{"ms", "soon"}}));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::invalid_params);
    CHECK(message_of(r.error()).find("ms") != std::string::npos);
  }
  SECTION("params that are not JSON") {
    job_spec s = spec("echo");
    s.params = "{not json";
    auto r = eng->submit(s);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::invalid_params);
  }
  SECTION("params over the size limit") {
    auto r = eng->submit(spec("echo", {{"blob", std::string((1 << 20) + 10, 'x')}}));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::payload_too_large);
  }
  SECTION("params nested too deep") {
    job_spec s = spec("echo");
    s.params = std::string(200, '[') + std::string(200, ']');
    auto r = eng->submit(s);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::payload_too_large);
  }
  SECTION("a malformed id") {
    auto r = eng->get("not-an-id");
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::malformed_id);
  }
  SECTION("a batch with one bad job writes none of them") {
    auto r = eng->submit_batch({spec("echo"), spec("nope"), spec("echo")});
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::unknown_kind);
    CHECK(message_of(r.error()).find("jobs[1]") != std::string::npos);
  }

  CHECK(eng->stats().records == before);
}

TEST_CASE_METHOD(engine_fixture, "a follow-up chain carries parent and trace ids",
                 "[integration][chain]") {
  json next = json::array({{{"kind", "chain"},
                            {"params", {{"next", json::array({{{"kind", "echo"},
                                                               {"params", {{"leaf", true}}}}})}}}}});
  auto root = submit(spec("chain", {{"next", next}}));

  auto first = wait_terminal(root);
  REQUIRE(first.record.status == job_status::succeeded);
  REQUIRE(first.record.followups.size() == 1);
  auto middle = wait_terminal(first.record.followups[0]);
  REQUIRE(middle.record.followups.size() == 1);
  auto leaf = wait_terminal(middle.record.followups[0]);

  CHECK(middle.record.parent_id == root);
  CHECK(leaf.record.parent_id == middle.record.id);
  CHECK(leaf.record.trace_id == root.to_string());
  CHECK(leaf.record.depth == 2);
  CHECK(json::parse(*leaf.output) == json{{"leaf", true}});
}

TEST_CASE("a chain deeper than the limit ends with a clear error", "[integration][chain]") {
  engine_fixture f{4, [](engine_config& c) { c.max_chain_depth = 3; }};
  // Builds a chain of `n` chain jobs, each emitting the next.
  json params = json::object();
  for (int i = 0; i < 6; ++i)
    params = {{"next", json::array({{{"kind", "chain"}, {"params", params}}})}};
  auto id = f.submit(spec("chain", params));

  job_view view = f.wait_terminal(id);
  while (!view.record.followups.empty()) view = f.wait_terminal(view.record.followups[0]);

  CHECK(view.record.status == job_status::dead);
  CHECK(view.record.depth == 3);
  REQUIRE_FALSE(view.record.errors.empty());
  CHECK(view.record.errors.back().message.find("deeper than 3") != std::string::npos);
}

TEST_CASE_METHOD(engine_fixture, "cancel ends a waiting job and a running one",
                 "[integration][cancel]") {
  SECTION("a delayed job is cancelled at once and never runs") {
    auto s = spec("echo");
    s.delay_ms = 60'000;
    auto id = submit(s);

    auto status = eng->cancel(id);

    REQUIRE(status);
    CHECK(*status == job_status::cancelled);
    auto view = wait_terminal(id);
    CHECK(view.record.status == job_status::cancelled);
    CHECK(view.record.attempts == 0);
  }
  SECTION("a running job ends cancelled when its agent returns, even if it would retry") {
    auto s = spec("sleep", {{"ms", 300}});
    auto id = submit(s);
    while (eng->get(id)->record.status != job_status::running)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));

    auto status = eng->cancel(id);

    REQUIRE(status);
    CHECK(*status == job_status::running);
    CHECK(wait_terminal(id).record.status == job_status::cancelled);
  }
  SECTION("a terminal job cannot be cancelled") {
    auto id = submit(spec("echo"));
    wait_terminal(id);
    auto status = eng->cancel(id);
    REQUIRE_FALSE(status);
    CHECK(code_of(status.error()) == errc::invalid_transition);
  }
}

TEST_CASE_METHOD(engine_fixture, "an idempotency key returns the first job and rejects a different body",
                 "[integration][idempotency]") {
  auto s = spec("echo", {{"n", 1}});
  s.idempotency_key = "order-42";
  auto first = submit(s);

  auto again = eng->submit(s);
  auto changed = s;
  changed.params = R"({"n":2})";
  auto conflict = eng->submit(changed);

  REQUIRE(again);
  CHECK(*again == first);
  REQUIRE_FALSE(conflict);
  CHECK(code_of(conflict.error()) == errc::conflict);
}

namespace {

// Counts its runs in the job's session.
class session_counter : public agent {
public:
  std::string kind() const override { return "counter"; }
  agent_result handle(agent_context& ctx, const json&) override {
    auto* session = ctx.session();
    if (session == nullptr) return agent_result::fail("needs a session");
    (*session)["count"] = session->value("count", 0) + 1;
    return agent_result::ok({{"count", (*session)["count"]}});
  }
};

} // namespace

TEST_CASE("agents read and write their job's session", "[integration][session]") {
  engine_fixture f{4, {}, [](engine& e) {
    REQUIRE_FALSE(e.register_agent([] { return std::make_unique<session_counter>(); }));
  }};
  auto session = f.eng->create_session({{"user", "ada"}}, std::chrono::seconds(60));
  REQUIRE(session);
  auto s = spec("counter");
  s.session_id = *session;

  f.wait_terminal(f.submit(s));
  auto second = f.wait_terminal(f.submit(s));

  CHECK(json::parse(*second.output)["count"] == 2);
  auto data = f.eng->session_data(*session);
  REQUIRE(data);
  CHECK((*data)["count"] == 2);
  CHECK((*data)["user"] == "ada");
}

TEST_CASE("a data directory that is not ours is refused at start", "[integration][storage]") {
  temp_dir dir;

  SECTION("a directory with other files") {
    std::ofstream{dir.path() / "notes.txt"} << "mine";
  }
  SECTION("a data.mdb that is not LMDB") {
    std::ofstream{dir.path() / "data.mdb"} << std::string(8192, 'z');
  }

  engine e{test_config(dir.str())};
  auto err = e.start();
  REQUIRE(err);
  CHECK(code_of(err) == errc::foreign_data_dir);
}

TEST_CASE("a store written by a newer format is refused at start", "[integration][storage]") {
  temp_dir dir;
  {
    persistence::env_options opts;
    opts.dir = dir.str();
    opts.partitions = 4;
    auto env = persistence::lmdb_env::open(opts);
    REQUIRE(env);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin((*env)->raw(), nullptr, 0, &txn) == 0);
    std::string key = "format", value = "99";
    MDB_val k{key.size(), key.data()}, v{value.size(), value.data()};
    REQUIRE(mdb_put(txn, (*env)->dbs().meta, &k, &v, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
  }

  engine e{test_config(dir.str())};
  auto err = e.start();

  REQUIRE(err);
  CHECK(code_of(err) == errc::newer_format);
}

TEST_CASE("a full map grows instead of failing", "[integration][storage]") {
  engine_fixture f{4, [](engine_config& c) { c.initial_map_bytes = 1 << 20; }};
  std::vector<job_spec> batch;
  for (int i = 0; i < 200; ++i) batch.push_back(spec("echo", {{"pad", std::string(4000, 'p')}}));

  // 200 x 4 KB in one transaction cannot fit a 1 MiB map.
  auto ids = f.eng->submit_batch(batch);

  INFO((ids ? std::string{} : message_of(ids.error())));
  REQUIRE(ids);
  CHECK(f.wait_terminal(ids->back()).record.status == job_status::succeeded);
  // The batch was applied again after the map grew (in place, see the
  // journal): each partition's seqs are still 1..n, none skipped or doubled.
  std::map<std::uint16_t, std::vector<std::uint64_t>> seqs;
  for (const auto& id : *ids) {
    auto view = f.eng->get(id);
    REQUIRE(view);
    seqs[view->record.partition].push_back(view->record.seq);
  }
  for (auto& [partition, list] : seqs) {
    std::sort(list.begin(), list.end());
    for (std::size_t i = 0; i < list.size(); ++i) CHECK(list[i] == i + 1);
  }
}

TEST_CASE("terminal jobs are removed after their retention, not before", "[integration][retention]") {
  auto clock = std::make_shared<manual_clock>();
  engine_fixture f{4, [clock](engine_config& c) {
                     c.retention = std::chrono::hours(1);
                     c.clock = manual_clock::reader(clock);
                   }};
  auto id = f.submit(spec("echo"));
  f.wait_terminal(id);

  clock->advance(std::chrono::minutes(59));
  auto kept = f.eng->purge_expired();
  bool kept_readable = static_cast<bool>(f.eng->get(id));
  clock->advance(std::chrono::minutes(1) + std::chrono::milliseconds(1));
  auto removed = f.eng->purge_expired();

  REQUIRE(kept);
  CHECK(*kept == 0);
  CHECK(kept_readable);
  REQUIRE(removed);
  CHECK(*removed == 1);
  auto gone = f.eng->get(id);
  REQUIRE_FALSE(gone);
  CHECK(code_of(gone.error()) == errc::not_found);
}

TEST_CASE("a store is refused with a different partition count", "[integration][storage]") {
  temp_dir dir;
  {
    engine first{test_config(dir.str())};
    REQUIRE_FALSE(first.start());
    first.shutdown();
  }
  auto cfg = test_config(dir.str());
  cfg.partitions = 8;
  engine second{cfg};

  auto err = second.start();

  REQUIRE(err);
  CHECK(code_of(err) == errc::invalid_config);
  CHECK(message_of(err).find("partitions") != std::string::npos);
}

TEST_CASE_METHOD(engine_fixture, "an idempotency key reused inside one batch with another body is a conflict",
                 "[integration][idempotency]") {
  auto a = spec("echo", {{"n", 1}});
  auto b = spec("echo", {{"n", 2}});
  a.idempotency_key = b.idempotency_key = "dup";

  auto r = eng->submit_batch({a, b});

  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::conflict);
}

TEST_CASE("sequence numbers are never reused across restarts, even for scheduled jobs",
          "[integration][storage][delay]") {
  temp_dir dir;
  job_id delayed;
  {
    auto cfg = test_config(dir.str());
    cfg.partitions = 1;
    engine e{cfg};
    for (auto& f : agents::builtin_agents(1)) REQUIRE_FALSE(e.register_agent(f));
    REQUIRE_FALSE(e.start());
    auto s = spec("echo");
    s.delay_ms = 400;
    delayed = *e.submit(s);
    e.shutdown();
  }
  auto cfg = test_config(dir.str());
  cfg.partitions = 1;
  engine e{cfg};
  for (auto& f : agents::builtin_agents(1)) REQUIRE_FALSE(e.register_agent(f));
  REQUIRE_FALSE(e.start());

  auto fresh = e.submit(spec("echo", json::object()));
  REQUIRE(fresh);
  auto fresh_view = e.wait(*fresh, std::chrono::seconds(10));
  auto delayed_view = e.wait(delayed, std::chrono::seconds(10));

  REQUIRE(fresh_view);
  REQUIRE(delayed_view);
  CHECK(fresh_view->record.seq > delayed_view->record.seq);
  CHECK(fresh_view->record.status == job_status::succeeded);
  CHECK(delayed_view->record.status == job_status::succeeded);
}

namespace {

// Whether this machine's temp directory takes preallocation at all (ext4,
// O_DIRECT, room to spare), asked of a store of its own.
bool preallocation_possible_here() {
  temp_dir probe;
  persistence::env_options opts;
  opts.dir = probe.str();
  opts.partitions = 4;
  auto env = persistence::lmdb_env::open(opts);
  if (!env) return false;
  persistence::file_preallocator pre{**env, {}};
  return pre.enabled() && pre.room_to_spare();
}

} // namespace

TEST_CASE("the journal keeps the data file written ahead of its pages, unless told not to",
          "[integration][storage][preallocate]") {
  auto data_file_bytes = [](const engine_fixture& f) {
    return std::filesystem::file_size(f.dir.path() / "data.mdb");
  };
  std::vector<job_id> ids;
  auto run_twenty = [&ids](engine_fixture& f) {
    for (int i = 0; i < 20; ++i) {
      auto id = f.eng->submit(spec("echo", {{"i", i}}));
      REQUIRE(id);
      REQUIRE(f.wait_terminal(*id).record.status == job_status::succeeded);
      ids.push_back(*id);
    }
  };
  constexpr std::uintmax_t mib = 1 << 20;

  SECTION("on by default: 16 MiB ahead, a step per idle commit; the store reopens intact") {
    if (!preallocation_possible_here()) {
      WARN("skipped: the temp directory is not on ext4, refuses O_DIRECT or is nearly full");
      return;
    }
    engine_fixture f;
    run_twenty(f);

    auto size = data_file_bytes(f);

    CHECK(size >= 16 * mib);
    CHECK(size <= 18 * mib);
    f.eng.reset();
    f.start();
    for (const auto& id : ids) {
      auto view = f.eng->get(id);
      REQUIRE(view);
      CHECK(view->record.status == job_status::succeeded);
    }
  }
  SECTION("preallocate_bytes = 0: the file holds its pages only") {
    engine_fixture f{4, [](engine_config& c) { c.preallocate_bytes = 0; }};
    run_twenty(f);

    CHECK(data_file_bytes(f) < 2 * mib);
  }
  SECTION("sync off: no fsync to save, so no preallocation") {
    engine_fixture f{4, [](engine_config& c) { c.sync = false; }};
    run_twenty(f);

    CHECK(data_file_bytes(f) < 2 * mib);
  }
}
