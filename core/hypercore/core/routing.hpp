// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string_view>

#include "hypercore/core/job_id.hpp"

namespace hypercore {

/// FNV-1a 64: a hash that is the same on every machine and every build, so a
/// partition key maps to the same partition after a restart (std::hash makes
/// no such promise).
constexpr std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// The partition that owns a job: hash(key) mod n for keyed jobs; unkeyed
/// jobs spread evenly by their id's random bits.
inline std::uint16_t partition_for(std::string_view key, const job_id& id,
                                   std::uint16_t partitions) {
  if (partitions == 0) return 0;
  auto h = key.empty() ? (id.lo ^ (id.lo >> 29)) : stable_hash(key);
  return static_cast<std::uint16_t>(h % partitions);
}

} // namespace hypercore
