// SPDX-License-Identifier: Apache-2.0
#include "hypercore/http/http_metrics.hpp"

#include <string>

namespace hypercore::http {

namespace {

// From 100 µs (a GET of a resident job) to a minute (a long poll).
const prometheus::Histogram::BucketBoundaries request_buckets{
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
  0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10,    30, 60};

} // namespace

http_metrics::http_metrics(const std::vector<std::string>& patterns)
  : requests_(prometheus::BuildCounter()
                .Name("hypercore_http_requests_total")
                .Help("HTTP requests answered, by route template and status code")
                .Register(*registry_)),
    seconds_(prometheus::BuildHistogram()
               .Name("hypercore_http_request_seconds")
               .Help("From a request's routing to its response (an event stream: to its headers)")
               .Register(*registry_)) {
  auto add = [&](const std::string& pattern) {
    auto r = std::make_unique<per_route>();
    r->pattern = pattern;
    r->latency = &seconds_.Add({{"route", pattern}}, request_buckets);
    routes_.push_back(std::move(r));
  };
  for (const auto& p : patterns) add(p);
  add("unmatched");
}

void http_metrics::observe(std::size_t route, int status, double seconds) {
  if (route >= routes_.size()) route = unmatched();
  auto& r = *routes_[route];
  r.latency->Observe(seconds);
  // Anything outside 100-599 is not HTTP; count it as a 500.
  if (status < lowest_code || status > highest_code) status = 500;
  auto& slot = r.by_code[static_cast<std::size_t>(status - lowest_code)];
  auto* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    std::lock_guard<std::mutex> guard{r.create};
    counter = slot.load(std::memory_order_acquire);
    if (counter == nullptr) {
      counter = &requests_.Add({{"route", r.pattern}, {"code", std::to_string(status)}});
      slot.store(counter, std::memory_order_release);
    }
  }
  counter->Increment();
}

std::vector<prometheus::MetricFamily> http_metrics::collect() const { return registry_->Collect(); }

} // namespace hypercore::http
