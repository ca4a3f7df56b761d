// SPDX-License-Identifier: Apache-2.0
// The event-stream routes: one job's transitions and the firehose, both
// pushed by the feed (see event_stream.hpp), resumable with Last-Event-ID.
#include "hypercore/http/gateway_impl.hpp"

#include <charconv>

#include <spdlog/spdlog.h>

#include "hypercore/core/errc.hpp"
#include "hypercore/core/utf8.hpp"
#include "hypercore/http/query_params.hpp"

namespace hypercore::http {

using nlohmann::json;

// Reads Last-Event-ID (or the `after` query parameter, for clients that
// cannot set headers on their first connect) as an unsigned integer; none
// when the client sent neither. False (and a 400) when malformed.
namespace {

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

} // namespace

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

void gateway::impl::stream_routes() {
  server.Get(R"(/v1/jobs/([^/]+)/events)", [this](const httplib::Request& req, httplib::Response& res) {
    stream_job_events(req, res);
  });
  server.Get("/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
    stream_firehose(req, res);
  });
}

} // namespace hypercore::http
