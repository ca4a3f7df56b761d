// SPDX-License-Identifier: Apache-2.0
// The only product file that includes httplib.h: it is heavy to compile.
#include "hypercore/http/gateway.hpp"

#include <atomic>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <limits>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "hypercore/core/errc.hpp"
#include "hypercore/core/utf8.hpp"
#include "hypercore/http/api_error.hpp"
#include "hypercore/http/event_stream.hpp"
#include "hypercore/http/job_request.hpp"
#include "hypercore/http/json_body.hpp"
#include "hypercore/http/query_params.hpp"
#include "hypercore/http/secrets.hpp"
#include "hypercore/job_json.hpp"

namespace hypercore::http {

namespace {

using nlohmann::json;

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(safe_dump(body), "application/json");
}

void reply_error(httplib::Response& res, const api_error& err) {
  res.status = err.status;
  // Every "retry later" answer says when.
  bool transient = err.code == "overloaded" || err.code == "storage_full"
                   || err.code == "storage_unavailable" || err.code == "unavailable"
                   || err.code == "not_ready";
  if (transient && !res.has_header("Retry-After")) res.set_header("Retry-After", "1");
  res.set_content(err.body(), "application/json");
}

std::optional<job_id> path_id(const httplib::Request& req, httplib::Response& res) {
  auto id = job_id::parse(req.matches[1].str());
  if (!id)
    reply_error(res, make_api_error(errc::malformed_id,
                                    "not a job id: '" + quote_for_message(req.matches[1].str()) + "'"));
  return id;
}

// A query parameter as a bounded integer; nullopt (and a 400) when malformed.
std::optional<std::int64_t> int_param(const httplib::Request& req, httplib::Response& res,
                                      const char* name, std::int64_t fallback, std::int64_t lo,
                                      std::int64_t hi) {
  if (!req.has_param(name)) return fallback;
  auto value = parse_bounded_int(req.get_param_value(name), lo, hi);
  if (!value) {
    reply_error(res, make_api_error(errc::invalid_request,
                                    std::string{name} + " must be an integer from "
                                      + std::to_string(lo) + " to " + std::to_string(hi)));
    return std::nullopt;
  }
  return value;
}

json view_json(const job_view& v) { return to_json(v.record, v.output); }

/// A route that gets its body, read by us with a hard byte bound: httplib
/// 0.11 applies its payload limit to Content-Length bodies only, and a
/// chunked body would otherwise be read whole into memory.
using body_handler = std::function<void(const httplib::Request&, httplib::Response&, std::string&)>;

httplib::Server::HandlerWithContentReader with_body(std::size_t max_bytes, body_handler handler) {
  return [max_bytes, handler = std::move(handler)](const httplib::Request& req,
                                                   httplib::Response& res,
                                                   const httplib::ContentReader& reader) {
    std::string body;
    bool too_large = false;
    bool read = reader([&](const char* data, std::size_t n) {
      if (body.size() + n > max_bytes) {
        too_large = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (too_large || res.status == 413) {
      res.set_header("Connection", "close");
      return reply_error(res, make_api_error(errc::payload_too_large,
                                             "the request body is larger than "
                                               + std::to_string(max_bytes) + " bytes"));
    }
    if (!read) {
      res.set_header("Connection", "close");
      return reply_error(res, make_api_error(errc::invalid_request, "the request body could not be read"));
    }
    handler(req, res, body);
  };
}

/// Parses a JSON object body through the common size and depth guard.
std::variant<json, api_error> object_body(const std::string& body, std::size_t max_depth,
                                          bool empty_is_object = false) {
  if (body.empty() && empty_is_object) return json::object();
  auto parsed = parse_json_body(body, max_depth);
  if (auto* err = std::get_if<api_error>(&parsed)) return *err;
  auto& doc = std::get<json>(parsed);
  if (!doc.is_object()) return make_api_error(errc::invalid_json, "the body must be a JSON object");
  return std::move(doc);
}

// ISO 8601 UTC, for people; expires_at_ms is the same instant for programs.
std::string iso_utc(std::int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

json session_json(const session_view& s) {
  return {{"session_id", s.id}, {"data", s.data}, {"expires_at", iso_utc(s.expires_at_ms)},
          {"expires_at_ms", s.expires_at_ms}};
}

// ttl_s from a session body: absent, or an integer number of seconds.
std::variant<std::optional<std::chrono::seconds>, api_error> ttl_of(const json& body) {
  auto it = body.find("ttl_s");
  if (it == body.end()) return std::optional<std::chrono::seconds>{};
  if (!it->is_number_integer() || it->get<std::int64_t>() < 1)
    return make_api_error(errc::invalid_request, "ttl_s must be a positive integer");
  return std::optional<std::chrono::seconds>{std::chrono::seconds(it->get<std::int64_t>())};
}

} // namespace

struct gateway::impl {
  engine& eng;
  gateway_options opts;
  httplib::Server server;
  std::thread thread;
  int bound_port = 0;
  std::atomic<std::size_t> open_streams{0};
  /// Set by stop(): open streams end at once instead of holding shutdown.
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  std::mutex stop_mutex;
  rate_limiter limiter{opts.kind_rate, opts.session_rate};

  /// Applies the rate limits to a batch of specs; false (and a 429) when refused.
  bool admit_rates(const std::vector<job_spec>& specs, httplib::Response& res);

  /// Open event streams, so stop() can end them.
  std::mutex streams_mutex;
  std::vector<std::weak_ptr<event_stream>> streams;

  bool take_stream_slot(httplib::Response& res);
  void serve_stream(httplib::Response& res, std::shared_ptr<event_stream> stream);
  void stream_job_events(const httplib::Request& req, httplib::Response& res);
  void stream_firehose(const httplib::Request& req, httplib::Response& res);

  impl(engine& e, gateway_options o) : eng(e), opts(std::move(o)) {}

  void routes();
};

// Reads Last-Event-ID (or the `after` query parameter, for clients that
// cannot set headers on their first connect) as an unsigned integer; none
// when the client sent neither. False (and a 400) when malformed.
bool last_event_id(const httplib::Request& req, httplib::Response& res,
                   std::optional<std::uint64_t>& out) {
  std::string text;
  if (req.has_header("Last-Event-ID")) text = req.get_header_value("Last-Event-ID");
  else if (req.has_param("after")) text = req.get_param_value("after");
  else return true;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()
      || value == std::numeric_limits<std::uint64_t>::max()) {
    reply_error(res, make_api_error(errc::invalid_request, "Last-Event-ID must be an event id"));
    return false;
  }
  out = value;
  return true;
}

// Writes a stream's events as they come (see event_stream.hpp): the
// connection's thread waits in next() on the stream's condition variable,
// woken by the feed, never polling the store.
void gateway::impl::serve_stream(httplib::Response& res, std::shared_ptr<event_stream> stream) {
  {
    std::lock_guard<std::mutex> guard{streams_mutex};
    std::erase_if(streams, [](const auto& w) { return w.expired(); });
    streams.push_back(stream);
  }
  if (stopping) stream->stop();
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
    "text/event-stream",
    [stream](std::size_t, httplib::DataSink& sink) {
      if (!sink.is_writable()) return false;
      auto chunk = stream->next();
      if (!chunk) {
        sink.done();
        return true;
      }
      return sink.write(chunk->data(), chunk->size());
    },
    [this, stream](bool) {
      stream->stop();
      --open_streams;
    });
}

bool gateway::impl::take_stream_slot(httplib::Response& res) {
  if (open_streams.fetch_add(1) < opts.max_streams) return true;
  --open_streams;
  res.set_header("Retry-After", "1");
  reply_error(res, make_api_error(errc::overloaded, "too many open event streams"));
  return false;
}

void gateway::impl::stream_job_events(const httplib::Request& req, httplib::Response& res) {
  auto id = path_id(req, res);
  if (!id) return;
  std::optional<std::uint64_t> last_seen;
  if (!last_event_id(req, res, last_seen)) return;
  if (!take_stream_slot(res)) return;
  event_stream_options sopts;
  sopts.max_duration = opts.max_wait;
  auto stream = event_stream::open_job(eng, *id, last_seen.value_or(0), sopts);
  if (!stream) {
    --open_streams;
    return reply_error(res, to_api_error(stream.error()));
  }
  serve_stream(res, std::move(*stream));
}

void gateway::impl::stream_firehose(const httplib::Request& req, httplib::Response& res) {
  std::optional<std::uint64_t> after;
  if (!last_event_id(req, res, after)) return;
  feed_filter filter;
  for (auto [name, field] : {std::pair{"kind", &filter.kind}, std::pair{"partition_key", &filter.partition_key},
                             std::pair{"trace_id", &filter.trace_id}, std::pair{"session_id", &filter.session_id}}) {
    if (!req.has_param(name)) continue;
    *field = req.get_param_value(name);
    if (field->empty() || field->size() > 256 || !is_valid_utf8(*field))
      return reply_error(res, make_api_error(errc::invalid_request,
                                             std::string{name} + " must be 1 to 256 bytes of UTF-8"));
  }
  if (req.has_param("status")) {
    auto list = req.get_param_value("status");
    std::size_t start = 0;
    while (start <= list.size()) {
      auto comma = list.find(',', start);
      auto name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      auto status = parse_job_status(name);
      if (!status)
        return reply_error(res, make_api_error(errc::invalid_request,
                                               "unknown status '" + quote_for_message(name) + "'"));
      filter.statuses |= feed_filter::bit(*status);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (!take_stream_slot(res)) return;
  // Resuming after position N starts at N + 1; without an id, at the next commit.
  auto stream = event_stream::open_firehose(eng, filter, after ? *after + 1 : 0, {});
  if (!stream) {
    --open_streams;
    return reply_error(res, to_api_error(stream.error()));
  }
  serve_stream(res, std::move(*stream));
}

bool gateway::impl::admit_rates(const std::vector<job_spec>& specs, httplib::Response& res) {
  if (!limiter.enabled()) return true;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
               .count();
  rate_decision last;
  for (const auto& s : specs) {
    last = limiter.admit(s.kind, s.session_id, now);
    if (!last.allowed) break;
  }
  res.set_header("X-RateLimit-Limit", std::to_string(static_cast<std::int64_t>(last.limit)));
  res.set_header("X-RateLimit-Remaining", std::to_string(static_cast<std::int64_t>(last.remaining)));
  if (last.allowed) return true;
  auto seconds = (last.retry_after.count() + 999) / 1000;
  res.set_header("Retry-After", std::to_string(std::max<std::int64_t>(1, seconds)));
  reply_error(res, make_api_error(errc::rate_limited, "rate limit exceeded; retry later"));
  return false;
}

void gateway::impl::routes() {
  request_limits limits{opts.max_json_depth, opts.max_batch_jobs};
  auto threads = opts.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(opts.max_body_bytes);
  // Without TCP_NODELAY, Nagle's algorithm and delayed ACKs add ~40 ms to a
  // request whose headers and body go out in separate writes (measured: 16
  // requests/s on one connection before, see bench/README.md).
  server.set_tcp_nodelay(true);
  // httplib closes a keep-alive connection after 5 requests by default;
  // reconnect storms then overflow its small listen backlog.
  server.set_keep_alive_max_count(100'000);

  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    using handled = httplib::Server::HandlerResponse;
    // Two lengths, or a length beside chunking, is how requests are smuggled
    // past a proxy that reads them differently: refuse, and close.
    if (req.get_header_value_count("Content-Length") > 1
        || (req.has_header("Content-Length") && req.has_header("Transfer-Encoding"))) {
      res.set_header("Connection", "close");
      reply_error(res, make_api_error(errc::invalid_request,
                                      "conflicting Content-Length / Transfer-Encoding headers"));
      return handled::Handled;
    }
    // The decoded path and the headers we read are stored, logged or quoted:
    // refuse bytes that are not UTF-8 before anything sees them.
    if (!is_valid_utf8(req.path)) {
      reply_error(res, make_api_error(errc::invalid_utf8, "the path is not valid UTF-8"));
      return handled::Handled;
    }
    for (const char* name : {"Idempotency-Key", "X-Session-Id", "Last-Event-ID", "Authorization"})
      if (req.has_header(name) && !is_valid_utf8(req.get_header_value(name))) {
        reply_error(res, make_api_error(errc::invalid_utf8,
                                        std::string{"the "} + name + " header is not valid UTF-8"));
        return handled::Handled;
      }
    if (req.path.rfind("/v1/", 0) != 0) return handled::Unhandled;
    if (!opts.auth_token.empty()
        && !constant_time_equals(req.get_header_value("Authorization"), "Bearer " + opts.auth_token)) {
      reply_error(res, make_api_error(errc::unauthorized, "missing or wrong bearer token"));
      return handled::Handled;
    }
    // A request made within a session needs that session to be live.
    if (req.has_header("X-Session-Id") && !eng.session(req.get_header_value("X-Session-Id"))) {
      reply_error(res, make_api_error(errc::unauthorized, "unknown or expired session"));
      return handled::Handled;
    }
    return handled::Unhandled;
  });
  // httplib answers some errors itself (413, 404 for unknown paths) with an
  // empty body: give them the JSON shape too.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      reply_error(res, make_api_error(errc::payload_too_large, "the request body is too large"));
    else if (res.status == 404)
      reply_error(res, make_api_error(errc::not_found, "no such endpoint"));
    else {
      // A refusal httplib made itself keeps its status (400, 414, ...).
      auto refused = make_api_error(errc::invalid_request, "the request was refused");
      refused.status = res.status;
      reply_error(res, refused);
    }
  });
  server.set_exception_handler(
    [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unexpected error";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      spdlog::error("http: handler failed: {}", what);
      reply_error(res, make_api_error(errc::internal, "internal error"));
    });

  server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    reply(res, 200, {{"status", "up"}});
  });
  server.Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    auto reason = eng.not_ready_reason();
    if (reason.empty()) return reply(res, 200, {{"status", "ready"}});
    res.set_header("Retry-After", "1");
    reply_error(res, make_api_error(errc::not_running, "the engine is not ready: " + reason));
  });

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

  server.Get(R"(/v1/jobs/([^/]+)/events)", [this](const httplib::Request& req, httplib::Response& res) {
    stream_job_events(req, res);
  });
  server.Get("/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
    stream_firehose(req, res);
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

  server.Get("/v1/dead", [this](const httplib::Request& req, httplib::Response& res) {
    auto limit = int_param(req, res, "limit", 100, 1, 1000);
    if (!limit) return;
    dead_filter filter{req.get_param_value("kind"), std::chrono::milliseconds(0),
                       static_cast<std::size_t>(*limit)};
    auto dead = eng.dead_letters(filter);
    if (!dead) return reply_error(res, to_api_error(dead.error()));
    json jobs = json::array();
    for (const auto& j : *dead) jobs.push_back(to_json(j));
    reply(res, 200, {{"jobs", std::move(jobs)}});
  });

  server.Post("/v1/dead/replay", with_body(max_body, [this](const httplib::Request&, httplib::Response& res, std::string& text) {
    auto parsed = object_body(text, opts.max_json_depth, /*empty_is_object=*/true);
    if (auto* err = std::get_if<api_error>(&parsed)) return reply_error(res, *err);
    auto& body = std::get<json>(parsed);
    caf::expected<std::vector<job_id>> replayed{std::vector<job_id>{}};
    if (auto ids = body.find("ids"); ids != body.end()) {
      if (!ids->is_array() || ids->size() > opts.max_batch_jobs)
        return reply_error(res, make_api_error(errc::invalid_request, "ids must be an array of at most "
                                                                         + std::to_string(opts.max_batch_jobs) + " ids"));
      std::vector<job_id> parsed;
      for (const auto& text : *ids) {
        auto id = text.is_string() ? job_id::parse(text.get<std::string>()) : std::nullopt;
        if (!id) return reply_error(res, make_api_error(errc::malformed_id, "ids holds a malformed id"));
        parsed.push_back(*id);
      }
      replayed = eng.replay(parsed);
    } else {
      for (const auto& [key, value] : body.items()) {
        bool ok = key == "kind" ? value.is_string()
                  : (key == "older_than_ms" || key == "limit") ? value.is_number_integer()
                                                               : false;
        if (!ok)
          return reply_error(res, make_api_error(errc::invalid_request,
                                                 "field '" + quote_for_message(key)
                                                   + "' is unknown or has the wrong type"));
      }
      dead_filter filter;
      filter.kind = body.value("kind", std::string{});
      auto older = body.value("older_than_ms", std::int64_t{0});
      auto limit = body.value("limit", std::int64_t{100});
      if (older < 0 || limit < 1 || limit > 1000)
        return reply_error(res, make_api_error(errc::invalid_request,
                                               "older_than_ms must be >= 0 and limit 1..1000"));
      filter.older_than = std::chrono::milliseconds(older);
      filter.limit = static_cast<std::size_t>(limit);
      replayed = eng.replay(filter);
    }
    if (!replayed) return reply_error(res, to_api_error(replayed.error()));
    json ids = json::array();
    for (const auto& id : *replayed) ids.push_back(id.to_string());
    reply(res, 200, {{"replayed", replayed->size()}, {"job_ids", std::move(ids)}});
  }));

  server.Post("/v1/sessions", with_body(max_body, [this](const httplib::Request&, httplib::Response& res, std::string& text) {
    auto parsed = object_body(text, opts.max_json_depth);
    if (auto* err = std::get_if<api_error>(&parsed)) return reply_error(res, *err);
    auto& body = std::get<json>(parsed);
    auto ttl = ttl_of(body);
    if (auto* err = std::get_if<api_error>(&ttl)) return reply_error(res, *err);
    auto seconds = std::get<std::optional<std::chrono::seconds>>(ttl).value_or(std::chrono::hours(1));
    auto id = eng.create_session(body.value("data", json::object()), seconds);
    if (!id) return reply_error(res, to_api_error(id.error()));
    auto created = eng.session(*id);
    if (!created) return reply_error(res, to_api_error(created.error()));
    reply(res, 201, session_json(*created));
  }));
  server.Get(R"(/v1/sessions/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto found = eng.session(req.matches[1].str());
    if (!found) return reply_error(res, to_api_error(found.error()));
    reply(res, 200, session_json(*found));
  });
  server.Patch(R"(/v1/sessions/([^/]+))", with_body(max_body, [this](const httplib::Request& req, httplib::Response& res, std::string& text) {
    auto parsed = object_body(text, opts.max_json_depth);
    if (auto* err = std::get_if<api_error>(&parsed)) return reply_error(res, *err);
    auto& body = std::get<json>(parsed);
    auto ttl = ttl_of(body);
    if (auto* err = std::get_if<api_error>(&ttl)) return reply_error(res, *err);
    std::optional<json> data;
    if (body.contains("data")) data = body["data"];
    auto updated = eng.update_session(req.matches[1].str(), data,
                                      std::get<std::optional<std::chrono::seconds>>(ttl));
    if (!updated) return reply_error(res, to_api_error(updated.error()));
    reply(res, 200, session_json(*updated));
  }));
  server.Delete(R"(/v1/sessions/([^/]+))", with_body(max_body, [this](const httplib::Request& req, httplib::Response& res, std::string&) {
    if (auto err = eng.delete_session(req.matches[1].str())) return reply_error(res, to_api_error(err));
    res.status = 204;
  }));

  server.Get("/v1/agents", [this](const httplib::Request&, httplib::Response& res) {
    json kinds = json::array();
    for (const auto& a : eng.agents()) {
      const auto& o = a.options;
      kinds.push_back({{"kind", a.kind},
                       {"params_schema", a.schema ? *a.schema : json(nullptr)},
                       {"concurrency", o.concurrency},
                       {"timeout_ms", o.timeout.count()},
                       {"blocking", o.blocking},
                       {"retry", {{"base_ms", o.retry.base_ms}, {"factor", o.retry.factor},
                                  {"cap_ms", o.retry.cap_ms}, {"max_attempts", o.retry.max_attempts}}}});
    }
    reply(res, 200, {{"agents", std::move(kinds)}});
  });

  // Last: a body sent to any other path is still read under the bound
  // (httplib would read it whole before answering 404).
  auto no_such_endpoint = with_body(max_body, [](const httplib::Request&, httplib::Response& res, std::string&) {
    reply_error(res, make_api_error(errc::not_found, "no such endpoint"));
  });
  server.Post(".*", no_such_endpoint);
  server.Put(".*", no_such_endpoint);
  server.Patch(".*", no_such_endpoint);
  server.Delete(".*", no_such_endpoint);
}

gateway::gateway(engine& eng, gateway_options opts)
  : impl_(std::make_unique<impl>(eng, std::move(opts))) {
  impl_->routes();
}

gateway::~gateway() { stop(); }

caf::error gateway::start() {
  auto& m = *impl_;
  if (m.opts.port == 0) {
    m.bound_port = m.server.bind_to_any_port(m.opts.host);
  } else if (m.server.bind_to_port(m.opts.host, m.opts.port)) {
    m.bound_port = m.opts.port;
  } else {
    m.bound_port = -1;
  }
  if (m.bound_port <= 0)
    return make_error(errc::invalid_config,
                      "listen: cannot bind " + m.opts.host + ":" + std::to_string(m.opts.port));
  m.thread = std::thread([&m] { m.server.listen_after_bind(); });
  spdlog::info("http: listening on {}:{}", m.opts.host, m.bound_port);
  return {};
}

int gateway::port() const { return impl_->bound_port; }

void gateway::stop() {
  auto& m = *impl_;
  std::lock_guard<std::mutex> guard{m.stop_mutex};
  if (!m.thread.joinable()) return;
  m.stopping = true;
  {
    // Open streams end now instead of holding their threads through stop.
    std::lock_guard<std::mutex> streams{m.streams_mutex};
    for (auto& weak : m.streams)
      if (auto stream = weak.lock()) stream->stop();
  }
  m.server.stop();
  m.thread.join();
  m.stopped = true;
}

bool gateway::stopped() const { return impl_->stopped; }

} // namespace hypercore::http
