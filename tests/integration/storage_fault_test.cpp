// SPDX-License-Identifier: Apache-2.0
// The store stops accepting writes (a full disk, an I/O error, a throwing
// write): outcomes already reached are kept and written once it accepts them
// again, the agent does not run again, no attempt is spent, submits get a
// typed error, and readiness says why until writes succeed again.
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <fstream>
#include <mutex>

#include "hypercore/http/gateway.hpp"
#include "http_client.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;
using nlohmann::json;

namespace {

/// Holds each attempt until the test opens the gate; counts the calls.
struct gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> calls{0};
};

class gated_agent : public agent {
public:
  explicit gated_agent(std::shared_ptr<gate> g) : gate_(std::move(g)) {}
  std::string kind() const override { return "gated"; }
  agent_options options() const override {
    agent_options o;
    o.concurrency = 1;
    o.timeout = std::chrono::seconds(60);
    return o;
  }
  agent_result handle(agent_context&, const nlohmann::json&) override {
    ++gate_->calls;
    std::unique_lock<std::mutex> lock{gate_->m};
    gate_->cv.wait_for(lock, std::chrono::seconds(30), [&] { return gate_->open; });
    return agent_result::ok({{"done", true}});
  }

private:
  std::shared_ptr<gate> gate_;
};

// Waits (bounded) until `done` holds; a guard against hangs, not a timer.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

struct faulty_store {
  std::shared_ptr<std::atomic<int>> fault = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> writes = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<gate> g = std::make_shared<gate>();
  engine_fixture f{2,
                   [this](engine_config& cfg) {
                     auto fault_ = fault;
                     auto writes_ = writes;
                     cfg.inject_write_error = [fault_, writes_] {
                       ++*writes_;
                       int rc = fault_->load();
                       if (rc == -1) throw std::runtime_error("injected exception");
                       return rc;
                     };
                   },
                   [this](engine& e) {
                     auto g_ = g;
                     REQUIRE_FALSE(e.register_agent([g_] { return std::make_unique<gated_agent>(g_); }));
                   }};

  void open_gate() {
    {
      std::lock_guard<std::mutex> lock{g->m};
      g->open = true;
    }
    g->cv.notify_all();
  }
};

} // namespace

TEST_CASE("a full disk keeps a finished outcome, spends no attempt and resumes by itself",
          "[integration][storage][fault]") {
  faulty_store s;
  http::gateway_options opts;
  opts.port = 0;
  http::gateway api{*s.f.eng, opts};
  REQUIRE_FALSE(api.start());
  auto id = s.f.submit(spec("gated"));
  REQUIRE(eventually([&] { return s.g->calls == 1; }));

  s.fault->store(ENOSPC);
  s.open_gate();
  // The outcome's write fails and is tried again, with backoff.
  auto writes_before = s.writes->load();
  REQUIRE(eventually([&] { return s.writes->load() >= writes_before + 3; }));
  auto refused = s.f.eng->submit(spec("echo"));
  auto http_refused = http_call(api.port(), "POST", "/v1/jobs", R"({"kind":"echo"})");
  auto ready = http_call(api.port(), "GET", "/ready");
  auto during = s.f.eng->get(id);

  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == errc::storage_full);
  CHECK(http_refused.status == 507);
  CHECK(http_refused.error_code() == "storage_full");
  CHECK(http_refused.headers.count("Retry-After") == 1);
  CHECK(ready.status == 503);
  CHECK(ready.body.find("disk is full") != std::string::npos);
  REQUIRE(during);
  CHECK_FALSE(is_terminal(during->record.status));

  s.fault->store(0);
  auto done = s.f.wait_terminal(id);

  CHECK(done.record.status == job_status::succeeded);
  CHECK(done.record.attempts == 1);
  CHECK(done.record.errors.empty());
  CHECK(s.g->calls == 1);
  CHECK(eventually([&] { return s.f.eng->ready(); }));
  CHECK(http_call(api.port(), "GET", "/ready").status == 200);
  CHECK(s.f.eng->submit(spec("echo")));
}

TEST_CASE("an I/O error or a throwing write fails the batch as a value; the journal stays up",
          "[integration][storage][fault]") {
  faulty_store s;
  s.open_gate();

  SECTION("EIO") {
    s.fault->store(EIO);
    auto refused = s.f.eng->submit(spec("echo"));
    REQUIRE_FALSE(refused);
    CHECK(code_of(refused.error()) == errc::storage_unavailable);
  }
  SECTION("an exception inside the transaction") {
    s.fault->store(-1);
    auto refused = s.f.eng->submit(spec("echo"));
    REQUIRE_FALSE(refused);
    CHECK(code_of(refused.error()) == errc::storage_unavailable);
  }
  CHECK_FALSE(s.f.eng->ready());

  s.fault->store(0);

  CHECK(eventually([&] { return s.f.eng->ready(); }));
  auto id = s.f.submit(spec("echo", {{"after", 1}}));
  CHECK(s.f.wait_terminal(id).record.status == job_status::succeeded);
  CHECK(s.f.eng->stats().core_restarts == 0);
}

TEST_CASE("a data directory on a full tmpfs: acknowledged jobs survive, none dies of it",
          "[integration][storage][fault][tmpfs]") {
  temp_dir dir;
  auto mount_point = dir.path() / "small";
  std::filesystem::create_directories(mount_point);
  if (geteuid() != 0 || ::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=24m") != 0) {
    WARN("skipped: mounting a tmpfs needs root (this test fills a real disk)");
    return;
  }
  struct unmount_guard {
    std::string path;
    ~unmount_guard() { ::umount2(path.c_str(), MNT_DETACH); }
  } guard{mount_point.string()};
  // Room to give back later: the disk fills with this file on it.
  auto filler = mount_point / "filler";
  {
    std::ofstream out{filler, std::ios::binary};
    std::string block(1 << 20, 'x');
    for (int i = 0; i < 6; ++i) out << block;
  }
  std::vector<job_id> acked;
  {
    auto cfg = test_config((mount_point / "data").string());
    cfg.initial_map_bytes = std::size_t{64} << 20;
    engine e{cfg};
    for (auto& f : agents::builtin_agents(4)) REQUIRE_FALSE(e.register_agent(f));
    REQUIRE_FALSE(e.start());
    std::string pad(60'000, 'p');
    errc refusal{};
    std::string why;
    // Echo jobs write their params twice (job and output): the disk fills.
    for (int i = 0; i < 2000 && refusal == errc{}; ++i) {
      auto id = e.submit(spec("echo", {{"pad", pad}, {"i", i}}));
      if (id) {
        acked.push_back(*id);
      } else {
        refusal = code_of(id.error());
        why = message_of(id.error());
      }
    }
    INFO(why);
    REQUIRE(refusal == errc::storage_full);
    CHECK_FALSE(e.ready());

    std::filesystem::remove(filler);

    for (const auto& id : acked) {
      auto view = e.wait(id, std::chrono::seconds(30));
      INFO((view ? std::string{} : message_of(view.error())) << "; ready: " << e.not_ready_reason());
      REQUIRE(view);
      CHECK(view->record.status == job_status::succeeded);
      CHECK(view->record.attempts == 1);
    }
    CHECK(eventually([&] { return e.ready(); }));
  }
  INFO(acked.size() << " jobs acknowledged before the disk filled");
  CHECK(acked.size() > 10);
}
