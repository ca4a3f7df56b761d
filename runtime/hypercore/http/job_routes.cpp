// SPDX-License-Identifier: Apache-2.0
// The job routes: submit one or a batch, read, wait for the end, cancel.
#include "hypercore/http/gateway_impl.hpp"

#include "hypercore/core/errc.hpp"
#include "hypercore/core/utf8.hpp"
#include "hypercore/http/job_request.hpp"
#include "hypercore/job_json.hpp"

namespace hypercore::http {

using nlohmann::json;

void gateway::impl::job_routes() {
  request_limits limits{opts.max_json_depth, opts.max_batch_jobs};
  // Submits run on an I/O thread: parse, admit, hand the jobs to the
  // journal, and answer when its commit replies; no thread waits for the
  // fsync, so every submit in flight joins the same group commit.
  post("/v1/jobs", [this, limits](request& req, responder done) {
    auto parsed = parse_job_request(req.body, limits);
    response res;
    if (auto* err = std::get_if<api_error>(&parsed)) {
      reply_error(res, *err);
      return done(std::move(res));
    }
    auto spec = std::move(std::get<job_spec>(parsed));
    spec.idempotency_key = req.header("Idempotency-Key");
    if (spec.session_id.empty()) spec.session_id = req.header("X-Session-Id");
    std::vector<job_spec> specs;
    specs.push_back(std::move(spec));
    if (!admit_rates(specs, res)) return done(std::move(res));
    // `res` keeps the rate-limit headers admit_rates set.
    eng.submit_async(std::move(specs), [res = std::move(res), done = std::move(done)](auto result) mutable {
      if (!result) {
        reply_error(res, to_api_error(result.error()));
      } else {
        const auto& s = result->front();
        reply(res, s.duplicate ? 200 : 202,
              {{"job_id", s.id.to_string()}, {"status", s.duplicate ? "duplicate" : "pending"}});
      }
      done(std::move(res));
    });
  }, runs_on::io);

  post("/v1/jobs/batch", [this, limits](request& req, responder done) {
    auto parsed = parse_batch_request(req.body, limits);
    response res;
    if (auto* err = std::get_if<api_error>(&parsed)) {
      reply_error(res, *err);
      return done(std::move(res));
    }
    auto specs = std::move(std::get<std::vector<job_spec>>(parsed));
    if (req.has_header("X-Session-Id"))
      for (auto& s : specs)
        if (s.session_id.empty()) s.session_id = req.header("X-Session-Id");
    if (!admit_rates(specs, res)) return done(std::move(res));
    eng.submit_async(std::move(specs), [res = std::move(res), done = std::move(done)](auto result) mutable {
      if (!result) {
        reply_error(res, to_api_error(result.error()));
      } else {
        json ids = json::array();
        for (const auto& s : *result) ids.push_back(s.id.to_string());
        reply(res, 202, {{"job_ids", std::move(ids)}});
      }
      done(std::move(res));
    });
  }, runs_on::io);

  get("/v1/jobs/{}", sync([this](const request& req, response& res) {
    auto id = path_id(req, res);
    if (!id) return;
    auto view = eng.get(*id);
    if (!view) return reply_error(res, to_api_error(view.error()));
    reply(res, 200, view_json(*view));
  }));

  get("/v1/jobs/{}/wait", [this](request& req, responder done) { wait_for_job(req, std::move(done)); });
  post("/v1/jobs/{}/cancel", sync([this](const request& req, response& res) {
    auto id = path_id(req, res);
    if (!id) return;
    auto status = eng.cancel(*id);
    if (!status) return reply_error(res, to_api_error(status.error()));
    // "running": the job ends cancelled when its agent returns.
    reply(res, 200, {{"job_id", id->to_string()}, {"status", std::string{to_string(*status)}},
                     {"cancelled", *status == job_status::cancelled}});
  }));
}

} // namespace hypercore::http
