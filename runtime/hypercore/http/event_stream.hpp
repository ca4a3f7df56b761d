// SPDX-License-Identifier: Apache-2.0
#pragma once

// One open Server-Sent Events stream, pushed from the commit feed: a feed
// subscription queues transitions and wakes the connection (the notifier),
// which takes them as formatted SSE text from take() on its own I/O thread.
// Nothing blocks and nothing polls the store; heartbeats and the stream's
// deadline are the server's (server.hpp). Independent of the HTTP library.
//
// Per job (GET /v1/jobs/{id}/events): id = the job's revision. The first
// event is the stored job when it is newer than Last-Event-ID (a snapshot:
// everything missed is in its attempts and error history), then one event
// per durable transition, never merged; the terminal event carries the
// whole job (output included) and ends the stream.
//
// Firehose (GET /v1/events): id = the feed position, filters on kind,
// status, partition key, trace id and session id; Last-Event-ID resumes
// from the event log, and a range the log no longer holds is said in a
// `gap` event.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "hypercore/engine.hpp"
#include "hypercore/http/message.hpp"

namespace hypercore::http {

struct event_stream_options {
  /// Transitions queued for a slow client before the stream resyncs (per
  /// job: from the store; firehose: from the event log).
  std::size_t max_queued = 4096;
};

class event_stream : public stream_source, public std::enable_shared_from_this<event_stream> {
public:
  /// A job's stream, after `last_seen` (its revision; 0: from the start).
  static caf::expected<std::shared_ptr<event_stream>>
  open_job(engine& eng, const job_id& id, std::uint64_t last_seen, event_stream_options opts);

  /// The firehose, from position `resume_from` (0: from the next commit).
  static caf::expected<std::shared_ptr<event_stream>>
  open_firehose(engine& eng, const feed_filter& filter, std::uint64_t resume_from,
                event_stream_options opts);

  /// The events ready now (see stream_source); over once the job's terminal
  /// event was taken, or the feed ended the subscription.
  chunk take() override;
  void set_notifier(std::function<void()> notify) override;
  /// A final `shutdown` event (reason: shutting_down or max_duration), so a
  /// client knows to reconnect with Last-Event-ID rather than that it broke.
  std::string closing_text(std::string_view reason) override;
  /// Ends the stream and its subscription. Thread-safe.
  void stop() override;
  /// Keeps `token` as long as the stream lives (a slot of a stream limit).
  void hold(std::shared_ptr<void> token) { token_ = std::move(token); }

  event_stream(engine& eng, event_stream_options opts) : eng_(eng), opts_(opts) {}

private:
  caf::error subscribe(std::uint64_t resume_from);
  subscription_hooks hooks();
  std::string job_event(const transition& t);
  std::optional<std::string> snapshot_if_newer();

  engine& eng_;
  event_stream_options opts_;
  bool firehose_ = false;
  job_id job_;
  feed_filter filter_;
  subscription sub_;

  void wake();

  std::mutex mutex_;
  std::function<void()> notify_;
  std::deque<transition> queue_;
  /// Per job: transitions were dropped or lost; read the store again.
  bool resync_ = false;
  /// Firehose: the first position dropped for a slow client (0: none).
  std::uint64_t dropped_from_ = 0;
  /// Text to write before anything else (the snapshot, gap events).
  std::string pending_text_;
  bool ended_ = false;
  bool finished_ = false;
  /// Last revision (per job) or position (firehose) written.
  std::uint64_t last_sent_ = 0;
  std::shared_ptr<void> token_;
};

} // namespace hypercore::http
