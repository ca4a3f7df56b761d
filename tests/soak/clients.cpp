// SPDX-License-Identifier: Apache-2.0
#include "clients.hpp"

#include <random>

#include "http_client.hpp"

namespace hypercore::soak {

namespace {

constexpr int max_sends_per_submit = 20000; // with 1 ms pauses: well past any restart
constexpr int resubmit_percent = 5;

void pause_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

} // namespace

client_pool::client_pool(client_settings s) : s_(s) {}

client_pool::~client_pool() {
  stop();
  join();
}

void client_pool::start() {
  running_threads_ = s_.threads;
  for (int t = 0; t < s_.threads; ++t) threads_.emplace_back([this, t] { run(t); });
}

void client_pool::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

bool client_pool::out_of_time() const {
  return stop_ || std::chrono::steady_clock::now() >= s_.deadline;
}

int client_pool::send(const planned_job& p, std::string& body_out, int& sends,
                      bool& maybe_written) {
  std::map<std::string, std::string> headers;
  if (!p.idempotency_key.empty()) headers["Idempotency-Key"] = p.idempotency_key;
  auto body = p.body.dump();
  for (int i = 0; i < max_sends_per_submit && !out_of_time(); ++i) {
    int port = port_;
    if (port == 0) {
      pause_ms(1);
      continue;
    }
    ++sends;
    auto r = test::http_call(port, "POST", "/v1/jobs", body, headers);
    if (r.status == 0) {
      std::lock_guard<std::mutex> guard{mtx_};
      ++log_.broken_sends;
      maybe_written = true;
      // Without a key a re-send could make a second job: give it up.
      if (p.idempotency_key.empty()) return 0;
      pause_ms(1);
      continue;
    }
    if (r.status == 503) {
      // not_ready, overloaded, shutting_down: nothing was written.
      std::lock_guard<std::mutex> guard{mtx_};
      ++log_.busy_answers;
      pause_ms(2);
      continue;
    }
    body_out = r.body;
    return r.status;
  }
  return 0;
}

void client_pool::run(int thread) {
  workload wl{s_.seed, thread, s_.spare_attempts};
  std::mt19937_64 rng{s_.seed ^ (0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(thread + 1))};
  // This thread's acknowledged submits that carry an Idempotency-Key.
  std::vector<acked_job> idempotent_history;
  while (!out_of_time() && acked_count_ < s_.target_acked) {
    if (!idempotent_history.empty()
        && std::uniform_int_distribution<int>{0, 99}(rng) < resubmit_percent) {
      auto& old = idempotent_history[std::uniform_int_distribution<std::size_t>{
        0, idempotent_history.size() - 1}(rng)];
      std::string body;
      int sends = 0;
      bool maybe_written = false;
      int status = send(old.plan, body, sends, maybe_written);
      if (status != 0) {
        auto j = nlohmann::json::parse(body, nullptr, false);
        std::string got = j.is_object() ? j.value("job_id", "") : "";
        std::lock_guard<std::mutex> guard{mtx_};
        log_.resubmits.push_back({old.plan.idempotency_key, old.id, status, got});
      }
      continue;
    }
    auto p = wl.next();
    std::string body;
    int sends = 0;
    bool maybe_written = false;
    int status = send(p, body, sends, maybe_written);
    std::lock_guard<std::mutex> guard{mtx_};
    if (status == 202 || status == 200) {
      auto j = nlohmann::json::parse(body, nullptr, false);
      acked_job a;
      a.plan = p;
      a.id = j.is_object() ? j.value("job_id", "") : "";
      a.answered_duplicate = status == 200;
      a.sends = sends;
      a.ack_order = acked_count_++;
      if (status == 200 && !maybe_written) log_.fresh_key_duplicates.push_back(a);
      if (!p.idempotency_key.empty()) idempotent_history.push_back(a);
      log_.acked.push_back(std::move(a));
    } else if (status == 0) {
      log_.unanswered.push_back(std::move(p));
    } else {
      log_.refused.push_back({std::move(p), status, std::move(body)});
    }
  }
  --running_threads_;
}

} // namespace hypercore::soak
