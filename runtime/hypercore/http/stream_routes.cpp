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

namespace {

// Reads Last-Event-ID (or the `after` query parameter, for clients that
// cannot set headers on their first connect) as an unsigned integer; none
// when the client sent neither. False (and a 400) when malformed.
bool last_event_id(const request& req, response& res, std::optional<std::uint64_t>& out) {
  std::string text;
  if (req.has_header("Last-Event-ID")) text = req.header("Last-Event-ID");
  else if (req.has_param("after")) text = req.param("after");
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

std::shared_ptr<void> gateway::impl::take_stream_slot(response& res) {
  if (open_streams.fetch_add(1) < opts.max_streams)
    return std::shared_ptr<void>(static_cast<void*>(this), [this](void*) { --open_streams; });
  --open_streams;
  res.set_header("Retry-After", "1");
  reply_error(res, make_api_error(errc::overloaded, "too many open event streams"));
  return nullptr;
}

// Opening a stream subscribes and reads the job (blocking, on the pool);
// from then on the server writes it as the feed fills it, on no thread of
// its own.
void gateway::impl::stream_job_events(const request& req, response& res) {
  auto id = path_id(req, res);
  if (!id) return;
  std::optional<std::uint64_t> last_seen;
  if (!last_event_id(req, res, last_seen)) return;
  auto slot = take_stream_slot(res);
  if (!slot) return;
  auto stream = event_stream::open_job(eng, *id, last_seen.value_or(0), {});
  if (!stream) return reply_error(res, to_api_error(stream.error()));
  (*stream)->hold(std::move(slot));
  res.stream = std::move(*stream);
  // A client reconnects with Last-Event-ID after this.
  res.stream_max_duration = opts.max_wait;
}

void gateway::impl::stream_firehose(const request& req, response& res) {
  std::optional<std::uint64_t> after;
  if (!last_event_id(req, res, after)) return;
  feed_filter filter;
  for (auto [name, field] : {std::pair{"kind", &filter.kind}, std::pair{"partition_key", &filter.partition_key},
                             std::pair{"trace_id", &filter.trace_id}, std::pair{"session_id", &filter.session_id}}) {
    if (!req.has_param(name)) continue;
    *field = req.param(name);
    if (field->empty() || field->size() > 256 || !is_valid_utf8(*field))
      return reply_error(res, make_api_error(errc::invalid_request,
                                             std::string{name} + " must be 1 to 256 bytes of UTF-8"));
  }
  if (req.has_param("status")) {
    auto list = req.param("status");
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
  auto slot = take_stream_slot(res);
  if (!slot) return;
  // Resuming after position N starts at N + 1; without an id, at the next commit.
  auto stream = event_stream::open_firehose(eng, filter, after ? *after + 1 : 0, {});
  if (!stream) return reply_error(res, to_api_error(stream.error()));
  (*stream)->hold(std::move(slot));
  res.stream = std::move(*stream);
}

void gateway::impl::stream_routes() {
  get("/v1/jobs/{}/events", sync([this](const request& req, response& res) { stream_job_events(req, res); }));
  get("/v1/events", sync([this](const request& req, response& res) { stream_firehose(req, res); }));
}

} // namespace hypercore::http
