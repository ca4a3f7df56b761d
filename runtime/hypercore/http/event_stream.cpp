// SPDX-License-Identifier: Apache-2.0
#include "hypercore/http/event_stream.hpp"

#include "hypercore/job_json.hpp"

namespace hypercore::http {

namespace {

std::string sse(std::uint64_t id, std::string_view event, const nlohmann::json& data) {
  std::string out;
  out.reserve(256);
  out.append("id: ").append(std::to_string(id));
  out.append("\nevent: ").append(event);
  out.append("\ndata: ").append(safe_dump(data)).append("\n\n");
  return out;
}

nlohmann::json view_json(const job_view& v) { return to_json(v.record, v.output); }

} // namespace

subscription_hooks event_stream::hooks() {
  std::weak_ptr<event_stream> weak = weak_from_this();
  subscription_hooks h;
  h.on_transitions = [weak](const std::vector<transition>& batch) {
    auto self = weak.lock();
    if (!self) return;
    {
      std::lock_guard<std::mutex> guard{self->mutex_};
      for (const auto& t : batch) {
        if (self->queue_.size() >= self->opts_.max_queued) {
          // A client that reads slower than its events come: resync from
          // the store (per job) or the event log (firehose) once drained.
          if (self->firehose_) {
            if (self->dropped_from_ == 0) self->dropped_from_ = t.position;
          } else {
            self->resync_ = true;
          }
          break;
        }
        if (self->firehose_ && self->dropped_from_ != 0) break;
        self->queue_.push_back(t);
      }
    }
    self->wake();
  };
  h.on_lost = [weak](std::uint64_t from, std::uint64_t to) {
    auto self = weak.lock();
    if (!self) return;
    {
      std::lock_guard<std::mutex> guard{self->mutex_};
      if (self->firehose_) {
        nlohmann::json data{{"from", from}, {"to", to},
                            {"reason", "the event log no longer holds these positions"}};
        self->pending_text_ += "event: gap\ndata: " + safe_dump(data) + "\n\n";
      } else {
        self->resync_ = true;
      }
    }
    self->wake();
  };
  h.on_end = [weak] {
    auto self = weak.lock();
    if (!self) return;
    {
      std::lock_guard<std::mutex> guard{self->mutex_};
      self->ended_ = true;
    }
    self->wake();
  };
  return h;
}

caf::error event_stream::subscribe(std::uint64_t resume_from) {
  sub_.reset();
  subscribe_options how;
  how.resume_from = resume_from;
  how.capacity = static_cast<std::uint32_t>(std::max<std::size_t>(16, opts_.max_queued));
  auto sub = eng_.subscribe(filter_, hooks(), how);
  if (!sub) return sub.error();
  sub_ = std::move(*sub);
  return {};
}

caf::expected<std::shared_ptr<event_stream>>
event_stream::open_job(engine& eng, const job_id& id, std::uint64_t last_seen,
                       event_stream_options opts) {
  auto s = std::make_shared<event_stream>(eng, opts);
  s->job_ = id;
  s->filter_.job = id;
  s->last_sent_ = last_seen;
  // Subscribed before the store is read: nothing falls in between.
  if (auto err = s->subscribe(0)) return err;
  auto first = eng.get(id);
  if (!first) return first.error();
  if (first->record.revision > last_seen) {
    s->pending_text_ = sse(first->record.revision, to_string(first->record.status), view_json(*first));
    s->last_sent_ = first->record.revision;
  }
  if (is_terminal(first->record.status)) s->finished_ = true;
  return s;
}

caf::expected<std::shared_ptr<event_stream>>
event_stream::open_firehose(engine& eng, const feed_filter& filter, std::uint64_t resume_from,
                            event_stream_options opts) {
  auto s = std::make_shared<event_stream>(eng, opts);
  s->firehose_ = true;
  s->filter_ = filter;
  s->last_sent_ = resume_from > 0 ? resume_from - 1 : 0;
  if (auto err = s->subscribe(resume_from)) return err;
  return s;
}

std::string event_stream::job_event(const transition& t) {
  auto data = to_json(t);
  if (is_terminal(t.to)) {
    // The last event carries the whole job, output included: a client
    // needs no second request for the result.
    if (auto view = eng_.get(job_); view) data["job"] = view_json(*view);
  }
  return sse(t.revision, to_string(t.to), data);
}

std::optional<std::string> event_stream::snapshot_if_newer() {
  auto view = eng_.get(job_);
  if (!view) {
    finished_ = true;
    return std::nullopt;
  }
  if (is_terminal(view->record.status)) finished_ = true;
  if (view->record.revision <= last_sent_) return std::nullopt;
  last_sent_ = view->record.revision;
  return sse(view->record.revision, to_string(view->record.status), view_json(*view));
}

void event_stream::wake() {
  std::function<void()> notify;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    notify = notify_;
  }
  if (notify) notify();
}

void event_stream::set_notifier(std::function<void()> notify) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    notify_ = std::move(notify);
  }
  // What arrived before the server listened is taken now.
  wake();
}

event_stream::chunk event_stream::take() {
  std::string out;
  for (;;) {
    std::deque<transition> batch;
    bool resync = false;
    std::uint64_t resubscribe_from = 0;
    {
      std::lock_guard<std::mutex> lock{mutex_};
      out += std::exchange(pending_text_, {});
      if (finished_ || ended_) return {std::move(out), true};
      batch.swap(queue_);
      resync = std::exchange(resync_, false);
      if (batch.empty() && dropped_from_ != 0) resubscribe_from = std::exchange(dropped_from_, 0);
      if (batch.empty() && !resync && resubscribe_from == 0) return {std::move(out), false};
    }
    if (resubscribe_from != 0) {
      // Read what the client was too slow for from the event log.
      if (auto err = subscribe(resubscribe_from)) return {std::move(out), true};
      continue;
    }
    if (firehose_) {
      for (const auto& t : batch) {
        if (t.position <= last_sent_) continue;
        last_sent_ = t.position;
        out += sse(t.position, event_type(t), to_json(t));
      }
    } else if (resync) {
      if (auto snap = snapshot_if_newer()) out += *snap;
    } else {
      for (const auto& t : batch) {
        if (t.revision <= last_sent_) continue;
        last_sent_ = t.revision;
        out += job_event(t);
        if (is_terminal(t.to)) {
          finished_ = true;
          break;
        }
      }
    }
    if (finished_) return {std::move(out), true};
  }
}

std::string event_stream::closing_text(std::string_view reason) {
  nlohmann::json data{{"reason", reason}, {"last_event_id", last_sent_}};
  return "event: shutdown\ndata: " + safe_dump(data) + "\n\n";
}

void event_stream::stop() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    ended_ = true;
    notify_ = nullptr;
  }
  sub_.reset();
}

} // namespace hypercore::http
