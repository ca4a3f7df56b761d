// SPDX-License-Identifier: Apache-2.0
// GET /v1/jobs/{id}/wait: a long poll that holds no thread. It subscribes
// to the job's terminal transition, reads the job once, and then waits as
// a subscription and a timer; whichever comes first answers (the terminal
// job, or 408 with the job as it stands).
#include "hypercore/http/gateway_impl.hpp"

#include "hypercore/core/errc.hpp"

namespace hypercore::http {

using nlohmann::json;

struct pending_wait : std::enable_shared_from_this<pending_wait> {
  engine& eng;
  job_id id;
  responder done;
  std::atomic<bool> answered{false};
  subscription sub;

  pending_wait(engine& e, job_id i, responder d) : eng(e), id(i), done(std::move(d)) {}

  void answer(response res) {
    if (answered.exchange(true)) return;
    done(std::move(res));
    done = nullptr;
    sub.reset();
  }

  // The job as stored: terminal answers 200; otherwise, when `final`, 408
  // with the job as it stands (a timeout), else nothing yet.
  void check(bool final) {
    if (answered) return;
    response res;
    auto view = eng.get(id);
    if (!view) {
      reply_error(res, to_api_error(view.error()));
      return answer(std::move(res));
    }
    if (is_terminal(view->record.status)) {
      reply(res, 200, view_json(*view));
      return answer(std::move(res));
    }
    if (!final) return;
    auto err = make_api_error(errc::timeout, "the job is not terminal yet");
    err.details = view_json(*view);
    reply_error(res, err);
    answer(std::move(res));
  }

  void refuse(errc code, std::string message) {
    response res;
    reply_error(res, make_api_error(code, std::move(message)));
    answer(std::move(res));
  }
};

void gateway::impl::wait_for_job(request& req, responder done) {
  response res;
  auto id = path_id(req, res);
  if (!id) return done(std::move(res));
  auto timeout = int_param(req, res, "timeout_ms", 30'000, 0, opts.max_wait.count());
  if (!timeout) return done(std::move(res));
  auto w = std::make_shared<pending_wait>(eng, *id, std::move(done));
  std::weak_ptr<pending_wait> weak = w;
  // Reads of the store run on the pool, not on the feed's thread.
  auto on_pool = [this, weak](bool final) {
    srv->post_blocking([weak, final] {
      if (auto w = weak.lock()) w->check(final);
    });
  };
  subscription_hooks hooks;
  hooks.on_transitions = [on_pool](const std::vector<transition>&) { on_pool(false); };
  hooks.on_lost = [on_pool](std::uint64_t, std::uint64_t) { on_pool(false); };
  hooks.on_end = [this, weak] {
    // The feed restarted or the engine is stopping: the client asks again.
    if (auto w = weak.lock())
      w->refuse(stopping ? errc::shutting_down : errc::unavailable,
                "the wait ended before the job did; ask again");
  };
  feed_filter terminal;
  terminal.job = *id;
  terminal.statuses = feed_filter::terminal_statuses();
  subscribe_options how;
  how.capacity = 16;
  // Subscribed first, then read: a transition committed in between is in
  // the store or reaches the subscription.
  auto sub = eng.subscribe(terminal, std::move(hooks), how);
  if (!sub) {
    reply_error(res, to_api_error(sub.error()));
    return w->answer(std::move(res));
  }
  w->sub = std::move(*sub);
  w->check(*timeout == 0);
  if (w->answered) return;
  {
    std::lock_guard<std::mutex> guard{waits_mutex};
    std::erase_if(waits, [](const auto& p) { return p.expired(); });
    waits.push_back(w);
  }
  // stop() answered the waits it saw; one registered after that is answered here.
  if (stopping) return w->refuse(errc::shutting_down, "the server is shutting down; ask again");
  // The timer holds the wait until it fires; the subscription only a weak
  // reference, so an answered wait is freed with its timer.
  srv->run_after(std::chrono::milliseconds(*timeout), [this, w] {
    srv->post_blocking([w] { w->check(true); });
  });
}

void gateway::impl::answer_waits_at_stop() {
  std::vector<std::shared_ptr<pending_wait>> open;
  {
    std::lock_guard<std::mutex> guard{waits_mutex};
    for (auto& weak : waits)
      if (auto w = weak.lock()) open.push_back(std::move(w));
    waits.clear();
  }
  for (auto& w : open) w->refuse(errc::shutting_down, "the server is shutting down; ask again");
}

} // namespace hypercore::http
