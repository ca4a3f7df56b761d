// SPDX-License-Identifier: Apache-2.0
#include "collector.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "child_process.hpp"
#include "http_client.hpp"

namespace hypercore::soak {

namespace {

using clock_type = std::chrono::steady_clock;

bool is_terminal(const nlohmann::json& j) {
  if (!j.is_object()) return false;
  auto s = j.value("status", "");
  return s == "succeeded" || s == "dead" || s == "cancelled";
}

enum class fetch_result { terminal, not_terminal, missing, unreadable };

constexpr std::int64_t stall_ms = 15000;

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now().time_since_epoch())
    .count();
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// Stuck, not slow: the job was due long ago and no job at all has become
// terminal for a while, so waiting on until the deadline would show nothing.
bool stalled(const nlohmann::json& j, const std::atomic<std::int64_t>& last_progress) {
  if (!j.is_object() || steady_ms() - last_progress.load() < stall_ms) return false;
  auto run_at = j.value("run_at_ms", std::int64_t{0});
  return run_at != 0 && wall_ms() - run_at > stall_ms;
}

fetch_result fetch_terminal(int port, const std::string& id, clock_type::time_point deadline,
                            std::atomic<std::int64_t>& last_progress, nlohmann::json& out,
                            std::string& problem) {
  int broken = 0;
  // Each round is one long poll of at most 5 s; the deadline bounds the loop.
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) {
      auto r = test::http_call(port, "GET", "/v1/jobs/" + id);
      if (r.status == 200) out = r.json();
      return fetch_result::not_terminal;
    }
    auto wait = std::min<long long>(left.count(), 5000);
    auto r = test::http_call(port, "GET", "/v1/jobs/" + id + "/wait?timeout_ms=" + std::to_string(wait));
    if (r.status == 200 && r.json().is_object()) {
      out = r.json();
      if (!is_terminal(out)) return fetch_result::not_terminal;
      last_progress = steady_ms();
      return fetch_result::terminal;
    }
    if (r.status == 408) {
      auto j = r.json();
      if (j.is_object() && j.contains("error") && j["error"].contains("details"))
        out = j["error"]["details"];
      if (stalled(out, last_progress)) return fetch_result::not_terminal;
      continue;
    }
    if (r.status == 404) return fetch_result::missing;
    if (++broken >= 5) {
      problem = id + ": GET /wait answered " + std::to_string(r.status) + " " + r.body.substr(0, 300);
      return fetch_result::unreadable;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

} // namespace

api_view collect_terminal(int port, const std::vector<std::string>& roots, int threads,
                          clock_type::time_point deadline) {
  api_view view;
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<std::string> todo(roots.begin(), roots.end());
  std::set<std::string> seen(roots.begin(), roots.end());
  int busy = 0;
  std::atomic<std::int64_t> last_progress{steady_ms()};
  auto worker = [&] {
    std::unique_lock<std::mutex> lock{mtx};
    while (true) {
      cv.wait(lock, [&] { return !todo.empty() || busy == 0; });
      if (todo.empty()) return; // nothing queued and nobody can queue more
      auto id = todo.front();
      todo.pop_front();
      ++busy;
      lock.unlock();
      nlohmann::json job;
      std::string problem;
      auto result = fetch_terminal(port, id, deadline, last_progress, job, problem);
      lock.lock();
      --busy;
      if (job.is_object()) view.jobs[id] = job;
      switch (result) {
        case fetch_result::terminal: break;
        case fetch_result::not_terminal: view.not_terminal.push_back(id); break;
        case fetch_result::missing: view.missing.push_back(id); break;
        case fetch_result::unreadable:
          view.unreadable.push_back(id);
          view.problems.push_back(problem);
          break;
      }
      if (job.is_object() && job.contains("followups") && job["followups"].is_array())
        for (const auto& f : job["followups"])
          if (f.is_string() && seen.insert(f.get<std::string>()).second)
            todo.push_back(f.get<std::string>());
      cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < std::max(1, threads); ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  return view;
}

export_view read_export(const std::string& bin, const std::string& data_dir,
                        const std::string& out_path, const std::string& err_path,
                        std::chrono::milliseconds limit) {
  export_view view;
  auto status = run_to_file({bin, "export", "--data-dir", data_dir}, out_path, err_path, limit);
  if (!status.exited || status.code != 0) {
    view.error = "hypercore export ended with " + status.describe() + " (stderr in " + err_path + ")";
    return view;
  }
  std::ifstream in{out_path};
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) {
      ++view.bad_lines;
      continue;
    }
    view.jobs.push_back(std::move(j));
  }
  view.ok = true;
  return view;
}

} // namespace hypercore::soak
