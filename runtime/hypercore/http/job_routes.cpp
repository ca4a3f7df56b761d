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
  const auto max_body = opts.max_body_bytes;
  server.Post("/v1/jobs", with_body(max_body, [this, limits](const httplib::Request& req, httplib::Response& res, std::string& body) {
    auto parsed = parse_job_request(body, limits);
    if (auto* err = std::get_if<api_error>(&parsed)) return reply_error(res, *err);
    auto spec = std::move(std::get<job_spec>(parsed));
    spec.idempotency_key = req.get_header_value("Idempotency-Key");
    if (spec.session_id.empty()) spec.session_id = req.get_header_value("X-Session-Id");
    if (!admit_rates({spec}, res)) return;
    auto done = eng.submit_all({spec});
    if (!done) return reply_error(res, to_api_error(done.error()));
    const auto& s = done->front();
    reply(res, s.duplicate ? 200 : 202,
          {{"job_id", s.id.to_string()}, {"status", s.duplicate ? "duplicate" : "pending"}});
  }));

  server.Post("/v1/jobs/batch", with_body(max_body, [this, limits](const httplib::Request& req, httplib::Response& res, std::string& body) {
    auto parsed = parse_batch_request(body, limits);
    if (auto* err = std::get_if<api_error>(&parsed)) return reply_error(res, *err);
    auto& specs = std::get<std::vector<job_spec>>(parsed);
    if (req.has_header("X-Session-Id"))
      for (auto& s : specs)
        if (s.session_id.empty()) s.session_id = req.get_header_value("X-Session-Id");
    if (!admit_rates(specs, res)) return;
    auto done = eng.submit_all(specs);
    if (!done) return reply_error(res, to_api_error(done.error()));
    json ids = json::array();
    for (const auto& s : *done) ids.push_back(s.id.to_string());
    reply(res, 202, {{"job_ids", std::move(ids)}});
  }));

  server.Get(R"(/v1/jobs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto id = path_id(req, res);
    if (!id) return;
    auto view = eng.get(*id);
    if (!view) return reply_error(res, to_api_error(view.error()));
    reply(res, 200, view_json(*view));
  });

  server.Get(R"(/v1/jobs/([^/]+)/wait)", [this](const httplib::Request& req, httplib::Response& res) {
    auto id = path_id(req, res);
    if (!id) return;
    auto timeout = int_param(req, res, "timeout_ms", 30'000, 0, opts.max_wait.count());
    if (!timeout) return;
    auto view = eng.wait(*id, std::chrono::milliseconds(*timeout));
    if (view) return reply(res, 200, view_json(*view));
    if (code_of(view.error()) != errc::timeout) return reply_error(res, to_api_error(view.error()));
    auto current = eng.get(*id);
    auto err = make_api_error(errc::timeout, "the job is not terminal yet");
    if (current) err.details = view_json(*current);
    reply_error(res, err);
  });

  server.Post(R"(/v1/jobs/([^/]+)/cancel)", with_body(max_body, [this](const httplib::Request& req, httplib::Response& res, std::string&) {
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
