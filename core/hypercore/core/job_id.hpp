// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hypercore {

/// A 128-bit job identifier laid out like a UUIDv7: 48 bits of Unix time in
/// milliseconds first, so ids sort by creation time, then a per-process
/// counter and random bits so ids made in the same millisecond stay unique.
struct job_id {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;

  /// Makes a new id; thread-safe, monotonic within one process.
  static job_id generate();

  /// Parses the canonical text form (8-4-4-4-12 lowercase or uppercase hex).
  static std::optional<job_id> parse(std::string_view text);

  /// Canonical text form, 36 characters.
  std::string to_string() const;

  bool empty() const { return hi == 0 && lo == 0; }
  /// Milliseconds since the Unix epoch at which the id was made.
  std::int64_t created_ms() const { return static_cast<std::int64_t>(hi >> 16); }

  friend bool operator==(const job_id&, const job_id&) = default;
  friend auto operator<=>(const job_id&, const job_id&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_id& x) {
  return f(x.hi, x.lo);
}

struct job_id_hash {
  std::size_t operator()(const job_id& x) const noexcept {
    return static_cast<std::size_t>(x.hi * 0x9E3779B97F4A7C15ULL ^ x.lo);
  }
};

} // namespace hypercore
