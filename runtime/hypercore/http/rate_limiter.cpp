// SPDX-License-Identifier: Apache-2.0
#include "hypercore/http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace hypercore::http {

rate_decision token_bucket::take(const bucket_config& cfg, std::int64_t now_ms) {
  if (!primed) {
    tokens = cfg.burst;
    last_ms = now_ms;
    primed = true;
  }
  auto elapsed_s = static_cast<double>(std::max<std::int64_t>(0, now_ms - last_ms)) / 1000.0;
  tokens = std::min(cfg.burst, tokens + elapsed_s * cfg.rate_per_s);
  last_ms = now_ms;
  rate_decision d;
  d.limit = cfg.burst;
  if (tokens >= 1.0) {
    tokens -= 1.0;
    d.remaining = std::floor(tokens);
    return d;
  }
  d.allowed = false;
  d.remaining = 0;
  d.retry_after = std::chrono::milliseconds(
    static_cast<std::int64_t>(std::ceil((1.0 - tokens) / cfg.rate_per_s * 1000.0)));
  return d;
}

rate_decision rate_limiter::take(const std::string& key, const bucket_config& cfg,
                                 std::int64_t now_ms) {
  auto& s = shards_[std::hash<std::string>{}(key) % shards_.size()];
  std::lock_guard<std::mutex> guard{s.mtx};
  // Bound memory: a flood of distinct sessions must not grow the map forever.
  if (s.buckets.size() > 100'000) s.buckets.clear();
  return s.buckets[key].take(cfg, now_ms);
}

rate_decision rate_limiter::admit(const std::string& kind, const std::string& session,
                                  std::int64_t now_ms) {
  rate_decision out;
  if (per_kind_.rate_per_s > 0) {
    out = take("k:" + kind, per_kind_, now_ms);
    if (!out.allowed) return out;
  }
  if (per_session_.rate_per_s > 0 && !session.empty()) {
    auto s = take("s:" + session, per_session_, now_ms);
    if (!s.allowed) return s;
    if (out.limit == 0 || s.remaining < out.remaining) out = s;
  }
  return out;
}

} // namespace hypercore::http
