// SPDX-License-Identifier: Apache-2.0
// Event streams whose client reads slower than the events come, and the
// firehose's gap event when the event log no longer holds a resume point.
#include <condition_variable>
#include <mutex>

#include "hypercore/http/event_stream.hpp"
#include "hypercore/http/gateway.hpp"
#include "http_client.hpp"
#include "sse_events.hpp"
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;
using nlohmann::json;

namespace {

// Reads a stream the way the server does (take() whenever the notifier
// rang) until `done` holds for the events read so far, the stream ends, or
// 20 s pass (a guard against hangs); the events, in order.
std::vector<sse_event> read_events(http::event_stream& stream,
                                   const std::function<bool(const std::vector<sse_event>&)>& done) {
  std::mutex mutex;
  std::condition_variable rang;
  bool ready = false;
  stream.set_notifier([&] {
    std::lock_guard<std::mutex> guard{mutex};
    ready = true;
    rang.notify_all();
  });
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::vector<sse_event> events;
  while (!done(events)) {
    auto chunk = stream.take();
    for (auto& e : parse_events(chunk.text)) events.push_back(std::move(e));
    if (chunk.over) break;
    if (!chunk.text.empty()) continue;
    std::unique_lock<std::mutex> lock{mutex};
    if (!rang.wait_until(lock, until, [&] { return ready; })) break;
    ready = false;
  }
  stream.set_notifier(nullptr);
  return events;
}

} // namespace

TEST_CASE("a firehose client slower than its events still reads every transition once, in order",
          "[integration][sse][firehose][slow]") {
  engine_fixture f;
  http::event_stream_options opts;
  opts.max_queued = 8;
  auto from = f.eng->feed_position();
  auto stream = http::event_stream::open_firehose(*f.eng, feed_filter{}, from, opts);
  REQUIRE(stream);

  // 600 transitions (created, started, succeeded per job) arrive before the
  // client reads one: the stream holds 8, drops the rest and must read them
  // back from the event log.
  auto ids = f.eng->submit_batch(std::vector<job_spec>(200, spec("echo")));
  REQUIRE(ids);
  for (const auto& id : *ids) f.wait_terminal(id);
  auto events = read_events(**stream, [](const auto& e) { return e.size() >= 600; });
  (*stream)->stop();

  REQUIRE(events.size() == 600);
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].id == from + i);
  std::size_t succeeded = 0;
  for (const auto& e : events) succeeded += e.type == "succeeded" ? 1 : 0;
  CHECK(succeeded == 200);
}

TEST_CASE("a job's stream whose client fell behind catches up from the store and ends with the job",
          "[integration][sse][slow]") {
  engine_fixture f;
  http::event_stream_options opts;
  opts.max_queued = 1;
  auto id = f.submit(spec("flaky", {{"fail_times", 3}}));
  auto stream = http::event_stream::open_job(*f.eng, id, 0, opts);
  REQUIRE(stream);

  auto done = f.wait_terminal(id);
  auto events = read_events(**stream, [](const auto&) { return false; });

  // Every event the client gets is newer than the one before; the last is
  // the stored, terminal job (with its whole history), and the stream ends.
  REQUIRE_FALSE(events.empty());
  for (std::size_t i = 1; i < events.size(); ++i) CHECK(events[i].id > events[i - 1].id);
  CHECK(events.back().type == "succeeded");
  CHECK(events.back().id == done.record.revision);
  CHECK(events.back().data["errors"].size() == 3);
  CHECK(events.size() < done.record.revision);
}

TEST_CASE("the firehose says with a gap event what the event log no longer holds",
          "[integration][http][sse][firehose][gap]") {
  engine_fixture f{4, [](engine_config& c) { c.event_log_capacity = 16; }};
  http::gateway_options gopts;
  gopts.port = 0;
  http::gateway api{*f.eng, gopts};
  REQUIRE_FALSE(api.start());
  auto from = f.eng->feed_position();
  for (int i = 0; i < 30; ++i) f.wait_terminal(f.submit(spec("echo")));
  auto next = f.eng->feed_position();

  // Resume from the first of the 90 transitions: the log keeps about the last 16.
  auto body = http_stream_until(api.port(), "/v1/events",
                                [&](const std::string& text) {
                                  auto events = parse_events(text);
                                  return !events.empty() && events.back().id + 1 >= next;
                                },
                                {{"Last-Event-ID", std::to_string(from - 1)}})
                .body;
  auto events = parse_events(body);

  REQUIRE(events.size() >= 2);
  CHECK(events.front().type == "gap");
  CHECK(events.front().data["from"] == from);
  auto first_held = events.front().data["to"].get<std::uint64_t>();
  CHECK(first_held > from);
  CHECK(first_held + 16 >= next);
  CHECK(events[1].id == first_held);
  for (std::size_t i = 2; i < events.size(); ++i) CHECK(events[i].id == events[i - 1].id + 1);
  CHECK(events.back().id == next - 1);
}
