// SPDX-License-Identifier: Apache-2.0
#include "hypercore/http/job_request.hpp"

#include <iterator>

#include <simdjson.h>

#include "hypercore/core/utf8.hpp"

namespace hypercore::http {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

api_error bad(errc code, std::string message) {
  return make_api_error(code, std::move(message));
}

// simdjson's DOM parser is reusable but not thread-safe: one per server
// thread, sized lazily by the first document.
simdjson::dom::parser& thread_parser(std::size_t max_depth) {
  thread_local simdjson::dom::parser parser;
  thread_local std::size_t depth = 0;
  if (depth != max_depth) {
    parser = simdjson::dom::parser{};
    // On failure the parser allocates on first use instead; nothing is lost.
    if (parser.allocate(1 << 16, max_depth) == simdjson::SUCCESS) depth = max_depth;
  }
  return parser;
}

std::variant<job_spec, api_error> read_spec(element doc, const std::string& where) {
  if (doc.type() != element_type::OBJECT)
    return bad(errc::invalid_request, where + "must be a JSON object");
  job_spec spec;
  // A named object: iterating a temporary leaves simdjson's iterator dangling.
  simdjson::dom::object fields = doc.get_object().value_unsafe();
  // Parsers disagree on which of two equal keys wins: refuse the ambiguity.
  static constexpr std::string_view known[] = {"kind", "params", "partition_key", "session_id",
                                               "priority", "delay_ms", "max_attempts"};
  unsigned seen = 0;
  for (auto field : fields) {
    auto key = field.key;
    auto v = field.value;
    for (unsigned bit = 0; bit < std::size(known); ++bit)
      if (key == known[bit]) {
        if ((seen & (1U << bit)) != 0)
          return bad(errc::duplicate_key, where + "names the field '" + std::string{key} + "' twice");
        seen |= 1U << bit;
      }
    auto text = [&](std::string& out) -> bool {
      if (v.type() != element_type::STRING) return false;
      out = std::string{v.get_string().value_unsafe()};
      return true;
    };
    bool ok = true;
    if (key == "kind") {
      ok = text(spec.kind);
    } else if (key == "params") {
      ok = v.type() == element_type::OBJECT || v.type() == element_type::ARRAY;
      if (ok) spec.params = simdjson::minify(v);
    } else if (key == "partition_key") {
      ok = text(spec.partition_key);
    } else if (key == "session_id") {
      ok = text(spec.session_id);
    } else if (key == "priority") {
      auto n = v.get_int64();
      ok = !n.error() && n.value_unsafe() >= -1'000'000 && n.value_unsafe() <= 1'000'000;
      if (ok) spec.priority = static_cast<std::int32_t>(n.value_unsafe());
    } else if (key == "delay_ms") {
      auto n = v.get_uint64();
      // At most 366 days: run_at must stay far from overflow.
      ok = !n.error() && n.value_unsafe() <= 366ULL * 24 * 3600 * 1000;
      if (ok) spec.delay_ms = n.value_unsafe();
    } else if (key == "max_attempts") {
      auto n = v.get_uint64();
      ok = !n.error() && n.value_unsafe() >= 1 && n.value_unsafe() <= 1000;
      if (ok) spec.max_attempts = static_cast<std::uint32_t>(n.value_unsafe());
    } else {
      return bad(errc::invalid_request, where + "has an unknown field '"
                                      + quote_for_message(key) + "'");
    }
    if (!ok)
      return bad(errc::invalid_request, where + "field '" + quote_for_message(key) + "' has the wrong type or range");
  }
  if (spec.kind.empty()) return bad(errc::invalid_request, where + "needs a non-empty 'kind'");
  return spec;
}

std::variant<element, api_error> parse_document(std::string_view body,
                                                const request_limits& limits) {
  auto& parser = thread_parser(limits.max_depth);
  auto doc = parser.parse(body.data(), body.size(), true);
  if (doc.error() == simdjson::DEPTH_ERROR)
    return make_api_error(errc::payload_too_large,
                          "the body nests deeper than " + std::to_string(limits.max_depth));
  if (doc.error()) return bad(errc::invalid_json, std::string{"the body is not valid JSON: "}
                                                + simdjson::error_message(doc.error()));
  return doc.value_unsafe();
}

} // namespace

std::variant<job_spec, api_error> parse_job_request(std::string_view body,
                                                    const request_limits& limits) {
  auto doc = parse_document(body, limits);
  if (auto* err = std::get_if<api_error>(&doc)) return *err;
  return read_spec(std::get<element>(doc), "the job ");
}

std::variant<std::vector<job_spec>, api_error> parse_batch_request(std::string_view body,
                                                                   const request_limits& limits) {
  auto doc = parse_document(body, limits);
  if (auto* err = std::get_if<api_error>(&doc)) return *err;
  auto root = std::get<element>(doc);
  if (root.type() != element_type::OBJECT) return bad(errc::invalid_request, "the body must be an object");
  simdjson::dom::object top = root.get_object().value_unsafe();
  std::size_t jobs_fields = 0;
  for (auto field : top)
    if (field.key == "jobs") ++jobs_fields;
  if (jobs_fields > 1) return bad(errc::duplicate_key, "the body names 'jobs' twice");
  auto jobs = root["jobs"];
  if (jobs.error() || jobs.value_unsafe().type() != element_type::ARRAY)
    return bad(errc::invalid_request, "the body needs a 'jobs' array");
  std::vector<job_spec> specs;
  nlohmann::json problems = nlohmann::json::array();
  std::size_t i = 0;
  simdjson::dom::array entries = jobs.value_unsafe().get_array().value_unsafe();
  for (auto entry : entries) {
    if (i >= limits.max_batch)
      return make_api_error(errc::payload_too_large,
                            "a batch holds at most " + std::to_string(limits.max_batch) + " jobs");
    auto spec = read_spec(entry, "jobs[" + std::to_string(i) + "] ");
    if (auto* err = std::get_if<api_error>(&spec))
      problems.push_back({{"index", i}, {"code", err->code}, {"message", err->message}});
    else
      specs.push_back(std::move(std::get<job_spec>(spec)));
    ++i;
  }
  if (!problems.empty())
    return make_api_error(errc::invalid_request, "some jobs are invalid; none was written",
                          problems);
  if (specs.empty()) return bad(errc::invalid_request, "'jobs' is empty");
  return specs;
}

} // namespace hypercore::http
