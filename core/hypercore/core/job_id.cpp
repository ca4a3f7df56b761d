// SPDX-License-Identifier: Apache-2.0
#include "hypercore/core/job_id.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>

namespace hypercore {

namespace {

std::uint64_t random_u64() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

} // namespace

job_id job_id::generate() {
  // A small lock keeps (time, counter) strictly increasing across threads; it
  // is taken once per job creation, never on the delivery path.
  static std::mutex mtx;
  static std::uint64_t last_ms = 0;
  static std::uint64_t counter = 0;
  auto now = static_cast<std::uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
  std::uint64_t ms;
  std::uint64_t seq;
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (now > last_ms) {
      last_ms = now;
      counter = 0;
    } else if (++counter > 0xFFF) {
      // 4,096 ids in one millisecond: borrow the next millisecond.
      ++last_ms;
      counter = 0;
    }
    ms = last_ms;
    seq = counter;
  }
  job_id id;
  id.hi = (ms << 16) | (0x7ULL << 12) | seq;
  id.lo = (random_u64() & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  return id;
}

std::optional<job_id> job_id::parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::uint64_t parts[2] = {0, 0};
  int nibbles = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      continue;
    }
    auto v = hex_value(text[i]);
    if (v < 0) return std::nullopt;
    auto& part = parts[nibbles / 16];
    part = (part << 4) | static_cast<std::uint64_t>(v);
    ++nibbles;
  }
  job_id id{parts[0], parts[1]};
  if (id.empty()) return std::nullopt;
  return id;
}

std::string job_id::to_string() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    auto word = i < 16 ? hi : lo;
    auto shift = (15 - (i % 16)) * 4;
    out.push_back(digits[(word >> shift) & 0xF]);
  }
  return out;
}

} // namespace hypercore
