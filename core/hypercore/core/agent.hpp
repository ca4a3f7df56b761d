// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hypercore/core/job.hpp"
#include "hypercore/core/retry_policy.hpp"

namespace spdlog {
class logger;
}

namespace hypercore {

/// What an agent hands back for one attempt: an output, or an error that is
/// retryable (the retry policy decides) or permanent (dead at once).
struct agent_result {
  std::optional<nlohmann::json> output;
  std::string error;
  bool retryable = true;

  static agent_result ok(nlohmann::json out) { return {std::move(out), {}, true}; }
  static agent_result retry(std::string message) { return {std::nullopt, std::move(message), true}; }
  static agent_result fail(std::string message) { return {std::nullopt, std::move(message), false}; }
  bool succeeded() const { return output.has_value(); }
};

/// The view of the runtime an agent gets while it handles one attempt.
/// Valid only during handle(); not thread-safe (one attempt, one thread).
class agent_context {
public:
  agent_context(const job& j, spdlog::logger& log, nlohmann::json* session,
                std::shared_ptr<const std::atomic<bool>> stop)
    : job_(j), log_(log), session_(session), stop_(std::move(stop)) {}

  const job& current() const { return job_; }
  const std::string& trace_id() const { return job_.trace_id; }
  std::uint32_t attempt() const { return job_.attempts; }
  spdlog::logger& log() { return log_; }

  /// The job's session data, or nullptr when the job has no session.
  /// Changes are written with the attempt's outcome when it succeeds.
  nlohmann::json* session() { return session_; }

  /// Queues a follow-up job, created atomically with this job's success.
  void emit(job_spec spec) { followups_.push_back(std::move(spec)); }
  std::vector<job_spec>& emitted() { return followups_; }

  /// True once the runtime wants the attempt to end (timeout or shutdown);
  /// long-running agents should check it and return early.
  bool stop_requested() const { return stop_ && stop_->load(std::memory_order_relaxed); }

private:
  const job& job_;
  spdlog::logger& log_;
  nlohmann::json* session_;
  std::shared_ptr<const std::atomic<bool>> stop_;
  std::vector<job_spec> followups_;
};

/// Per-kind runtime settings an agent declares.
struct agent_options {
  /// Number of attempts of this kind that may run at once.
  std::uint32_t concurrency = 4;
  /// An attempt running longer fails as retryable and its late result is ignored.
  std::chrono::milliseconds timeout{30'000};
  /// True (the default) runs each worker on its own thread, so handle() may
  /// block on I/O. An agent that only computes briefly may say false: its
  /// workers then share CAF's scheduler threads and skip a thread hand-off
  /// per attempt. A non-blocking agent that blocks stalls other actors.
  bool blocking = true;
  retry_policy retry;
};

/// The interface every agent implements. One instance serves one worker at a
/// time; the factory is called once at registration (to read kind, schema and
/// options), once per worker, and again for each worker replaced after a
/// crash or a timeout.
/// handle() may block unless options().blocking is false (blocking kinds run
/// each worker on a thread of its own), and may throw: a throw
/// is a crash, which the supervisor turns into a failed attempt and a restart.
class agent {
public:
  virtual ~agent() = default;
  virtual std::string kind() const = 0;
  /// JSON Schema (draft 7) that params must satisfy before a job is accepted.
  virtual std::optional<nlohmann::json> params_schema() const { return std::nullopt; }
  virtual agent_options options() const { return {}; }
  virtual agent_result handle(agent_context& ctx, const nlohmann::json& params) = 0;
};

using agent_factory = std::function<std::unique_ptr<agent>()>;

} // namespace hypercore
