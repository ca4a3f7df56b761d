// SPDX-License-Identifier: Apache-2.0
#pragma once

// Token buckets per kind and per session for the HTTP API. Off unless a rate
// is configured; then each submit takes one token from its kind's bucket
// and, when it carries a session, from the session's bucket. Buckets live in
// 16 shards, each with its own small lock, so submits of different kinds do
// not queue on one mutex. Time is passed in, so the arithmetic is testable.

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hypercore::http {

struct bucket_config {
  /// Tokens added per second; 0 turns the limit off.
  double rate_per_s = 0;
  /// Most tokens a bucket holds (the burst allowed).
  double burst = 0;
};

struct rate_decision {
  bool allowed = true;
  double limit = 0;
  double remaining = 0;
  /// When refused: how long until a token is there.
  std::chrono::milliseconds retry_after{0};
};

/// A token bucket; not thread-safe by itself.
struct token_bucket {
  double tokens = 0;
  std::int64_t last_ms = 0;
  bool primed = false;

  rate_decision take(const bucket_config& cfg, std::int64_t now_ms);
};

class rate_limiter {
public:
  rate_limiter(bucket_config per_kind, bucket_config per_session)
    : per_kind_(per_kind), per_session_(per_session) {}

  bool enabled() const { return per_kind_.rate_per_s > 0 || per_session_.rate_per_s > 0; }

  /// Takes a token for the kind and, if set, the session. A refusal by
  /// either refuses the submit (a token taken from the kind is not refunded).
  rate_decision admit(const std::string& kind, const std::string& session, std::int64_t now_ms);

private:
  struct shard {
    std::mutex mtx;
    std::unordered_map<std::string, token_bucket> buckets;
  };

  rate_decision take(const std::string& key, const bucket_config& cfg, std::int64_t now_ms);

  bucket_config per_kind_;
  bucket_config per_session_;
  std::array<shard, 16> shards_;
};

} // namespace hypercore::http
