// SPDX-License-Identifier: Apache-2.0
#pragma once

// engine: the facade for embedding Hypercore in a C++ program. It owns the
// actor system, the LMDB environment and every actor (journal, partitions,
// agent pools, janitor). Thread-safe: any thread may submit, get or cancel.
// Errors come back as values (caf::expected / caf::error) with errc codes.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "hypercore/actors/commit_meter.hpp"
#include "hypercore/core/agent.hpp"
#include "hypercore/core/feed_messages.hpp"
#include "hypercore/core/job.hpp"
#include "hypercore/engine_config.hpp"
#include "hypercore/subscription.hpp"

namespace hypercore {

/// A job with its output, as get() and wait() return it.
struct job_view {
  job record;
  /// Output JSON text when the job succeeded.
  std::optional<std::string> output;
};

/// One agent kind's pool, as engine::stats() reports it.
struct kind_stats {
  std::string kind;
  std::uint64_t workers = 0;
  /// Attempts handed to the pool, waiting for a free worker.
  std::uint64_t queued = 0;
  /// Attempts an agent holds right now.
  std::uint64_t executing = 0;
  /// Workers replaced since start (crashes and timeouts).
  std::uint64_t restarts = 0;
  /// Restarts paused after crashing past the restart intensity.
  bool paused = false;
  /// The earliest run_at (ms since the epoch) of a job of the kind ready to
  /// run in a partition's window; 0: none. Jobs still in LMDB past the
  /// windows are newer in their partitions, so a kind that waits long is
  /// there.
  std::int64_t oldest_ready_ms = 0;
};

/// What the engine holds in memory and has written, for tests and metrics.
struct engine_stats {
  std::uint64_t resident = 0;
  std::uint64_t running = 0;
  std::uint64_t commits = 0;
  std::uint64_t records = 0;
  std::uint64_t restarts = 0;
  /// Attempts an agent holds right now (queued attempts excluded).
  std::uint64_t executing = 0;
  /// Core actors replaced by the supervisor since start.
  std::uint64_t core_restarts = 0;
  /// Job records the partitions' pagers decoded since start.
  std::uint64_t records_paged = 0;
  /// Transitions the feed published, and times a subscriber fell behind.
  std::uint64_t feed_published = 0;
  std::uint64_t feed_gaps = 0;
  std::uint64_t feed_subscribers = 0;
  /// Jobs pending, delayed or retrying in the store, as of the last commit.
  std::uint64_t waiting = 0;
  /// Dead letters and sessions in the store (expired sessions are removed
  /// within a minute), read from LMDB's table headers.
  std::uint64_t dead_letters = 0;
  std::uint64_t sessions = 0;
  /// Per registered kind, in name order.
  std::vector<kind_stats> kinds;
  /// The journal's write transactions since start: seconds each took
  /// (apply, commit and flushes) and commands each held.
  commit_meter::histogram commit_seconds;
  commit_meter::histogram commit_records;
};

/// What waits in the store, from one read snapshot (engine::backlog).
struct backlog_counts {
  /// The feed position the snapshot is consistent with: it holds every
  /// transition below, none from here on.
  std::uint64_t position = 1;
  /// Jobs pending or retrying (delayed ones included), not running.
  std::map<std::string, std::uint64_t> waiting_by_kind;
  std::vector<std::uint64_t> waiting_by_partition;
  std::map<std::string, std::uint64_t> dead_by_kind;
};

/// One accepted submit: the job's id, and whether an idempotency key matched
/// an earlier job (then no new job was made and id is the earlier one's).
struct submission {
  job_id id;
  bool duplicate = false;
};

/// A live session.
struct session_view {
  std::string id;
  nlohmann::json data;
  std::int64_t expires_at_ms = 0;
};

/// How a subscription is delivered (engine::subscribe).
struct subscribe_options {
  /// A feed position to start from: the event log is read from there first
  /// (a resumable cursor). 0: from the next commit on.
  std::uint64_t resume_from = 0;
  /// Transitions in flight to the subscriber at most; past it, it falls
  /// behind and catches up from the event log.
  std::uint32_t capacity = 4096;
  /// Runs the callbacks on a thread of their own, so they may block without
  /// holding one of the engine's scheduler threads (a blocked subscription
  /// falls behind and catches up when it returns).
  bool own_thread = false;
};

/// A registered agent kind, as the engine runs it.
struct agent_info {
  std::string kind;
  std::optional<nlohmann::json> schema;
  agent_options options;
};

/// Criteria for listing or replaying dead letters; unset fields match all.
struct dead_filter {
  std::string kind;
  /// Only jobs that died at least this long ago.
  std::chrono::milliseconds older_than{0};
  std::size_t limit = 100;
};

class engine {
public:
  explicit engine(engine_config cfg);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Registers an agent kind; only before start(). The factory is called once
  /// per worker and again for every restart after a crash.
  caf::error register_agent(agent_factory factory);

  /// Opens the store and starts every actor. Pending work resumes at once
  /// (paged in lazily). Errors: foreign_data_dir, newer_format,
  /// invalid_config, storage_failure, data_dir_locked, already_running
  /// (started twice).
  caf::error start();

  /// Validates, journals and acknowledges one job: returns only after the
  /// job is durable. Errors: unknown_kind, invalid_params, payload_too_large,
  /// conflict (idempotency key reused), shutting_down, storage_failure.
  caf::expected<job_id> submit(const job_spec& spec);
  /// As submit, moving the spec's params into the job instead of copying.
  caf::expected<job_id> submit(job_spec&& spec);

  /// All or nothing: every spec valid and journaled in one commit, or none.
  caf::expected<std::vector<job_id>> submit_batch(const std::vector<job_spec>& specs);
  caf::expected<std::vector<job_id>> submit_batch(std::vector<job_spec>&& specs);

  /// submit_batch, telling for each job whether it was a duplicate.
  caf::expected<std::vector<submission>> submit_all(const std::vector<job_spec>& specs);
  caf::expected<std::vector<submission>> submit_all(std::vector<job_spec>&& specs);

  /// What submit_async reports, exactly once.
  using submit_done = std::function<void(caf::expected<std::vector<submission>>)>;

  /// submit_all without waiting, for event-driven callers (the HTTP
  /// server): admission runs here, and `done` is called before this returns
  /// when it refuses; otherwise the journal's commit answers `done` later,
  /// on one of the engine's threads, and this thread never waits for it.
  /// The specs are moved into the jobs (no copy of params).
  void submit_async(std::vector<job_spec> specs, submit_done done);

  /// True between a successful start() and the beginning of shutdown(),
  /// while the store accepts writes and the journal is up.
  bool ready() const;
  /// Why ready() is false (empty when it is true): "not started", "shutting
  /// down", "the journal is restarting", or the store's last write error.
  std::string not_ready_reason() const;

  /// The registered kinds, in name order.
  std::vector<agent_info> agents() const;

  /// Submits and waits until the job is terminal or the timeout passes
  /// (errc::timeout; the job goes on).
  caf::expected<job_view> submit_and_wait(const job_spec& spec,
                                          std::chrono::milliseconds timeout);

  /// Waits for a submitted job to become terminal (told by the feed; the
  /// store is read once at the start and once per terminal transition).
  caf::expected<job_view> wait(const job_id& id, std::chrono::milliseconds timeout);

  /// Calls `on_transition` for every durable transition that matches
  /// `filter`, in position order (so one job's in revision order), from the
  /// next commit on, until the handle is dropped. It runs on one of the
  /// engine's threads, one call at a time: keep it quick. A slow callback
  /// falls behind and catches up from the event log; it never slows the
  /// journal. Errors: not_running, shutting_down, timeout.
  caf::expected<subscription> subscribe(const feed_filter& filter,
                                        std::function<void(const transition&)> on_transition);
  /// The full form: batches, the ranges the event log could no longer
  /// supply (on_lost), and the end (see subscribe_options).
  caf::expected<subscription> subscribe(const feed_filter& filter, subscription_hooks hooks,
                                        subscribe_options opts = {});
  /// The position the next transition gets: every lower one is durable.
  std::uint64_t feed_position();

  /// Counts the waiting jobs per kind and partition and the dead letters
  /// per kind, in one read transaction. Costs a record head per waiting job
  /// and dead letter (metrics seed their gauges with it once, then follow
  /// the feed from `position`).
  caf::expected<backlog_counts> backlog();

  /// The job as stored now. Errors: not_found.
  caf::expected<job_view> get(const job_id& id);
  caf::expected<job_view> get(const std::string& id_text);

  /// Cancels a pending or retrying job at once; a running one ends cancelled
  /// when its agent returns (returns job_status::running then). Cancel wins
  /// over any retry. Errors: not_found, invalid_transition (already terminal).
  caf::expected<job_status> cancel(const job_id& id);

  /// Dead letters matching the filter, in id (creation) order.
  caf::expected<std::vector<job>> dead_letters(const dead_filter& filter);
  /// Replays dead jobs: same id and history, fresh attempt count.
  caf::expected<std::vector<job_id>> replay(const std::vector<job_id>& ids);
  caf::expected<std::vector<job_id>> replay(const dead_filter& filter);

  /// Creates a session whose data agents read and write through their
  /// context; returns its id. Errors: invalid_request (ttl outside 1 s to
  /// 30 days), payload_too_large.
  caf::expected<std::string> create_session(const nlohmann::json& data,
                                            std::chrono::seconds ttl);
  /// A live session; errc::not_found when unknown or expired.
  caf::expected<session_view> session(const std::string& id);
  /// Replaces a live session's data and/or restarts its TTL from now.
  caf::expected<session_view> update_session(const std::string& id,
                                             const std::optional<nlohmann::json>& data,
                                             std::optional<std::chrono::seconds> ttl);
  /// Removes a session. Errors: not_found.
  caf::error delete_session(const std::string& id);
  /// Removes expired sessions now (the store also does so every minute).
  caf::expected<std::uint64_t> sweep_sessions();
  /// A live session's data; nullopt when unknown or expired.
  std::optional<nlohmann::json> session_data(const std::string& id);

  /// Removes terminal jobs finished before now - retention; returns how many.
  caf::expected<std::uint64_t> purge_expired();

  engine_stats stats();
  /// Submits handed to the journal and not answered yet. Asks no actor, so
  /// it answers while the journal is busy (stats() waits for the journal).
  std::size_t submits_in_flight() const;
  const engine_config& config() const;

  /// Stops intake, lets running attempts finish until the deadline, and
  /// leaves everything else pending in the store for the next start. No
  /// attempt starts once it began; an attempt still running at the deadline
  /// is abandoned: it counts, and the next start records it as interrupted.
  /// Safe to call from any thread, concurrently with other calls (they then
  /// fail with shutting_down or not_running) and more than once.
  void shutdown(std::chrono::milliseconds deadline = std::chrono::seconds(10));

  /// Test seam for supervision: kills one core actor ("journal",
  /// "partition-N", "sessions", "janitor") as if it had crashed; the engine
  /// replaces it. Errors: not_found for another name, not_running.
  caf::error kill_core_actor(const std::string& name);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace hypercore
