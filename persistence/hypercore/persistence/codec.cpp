// SPDX-License-Identifier: Apache-2.0
#include "hypercore/persistence/codec.hpp"

#include "hypercore/persistence/record_io.hpp"

namespace hypercore::persistence {

void put_be16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}

void put_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

std::uint16_t get_be16(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>((b[0] << 8) | b[1]);
}

std::uint64_t get_be64(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[i];
  return v;
}

std::string id_key(const job_id& id) {
  std::string out;
  out.reserve(16);
  put_be64(out, id.hi);
  put_be64(out, id.lo);
  return out;
}

job_id id_from_key(std::string_view bytes) {
  if (bytes.size() < 16) return {};
  return {get_be64(bytes.data()), get_be64(bytes.data() + 8)};
}

std::string pending_key(std::uint16_t partition, std::uint64_t seq) {
  std::string out;
  out.reserve(10);
  put_be16(out, partition);
  put_be64(out, seq);
  return out;
}

std::string scheduled_key(std::uint16_t partition, std::int64_t run_at_ms,
                          std::uint64_t seq) {
  std::string out;
  out.reserve(18);
  put_be16(out, partition);
  put_be64(out, static_cast<std::uint64_t>(run_at_ms));
  put_be64(out, seq);
  return out;
}

std::string key_index_key(std::uint16_t partition, std::uint64_t key_hash,
                          std::uint64_t seq) {
  std::string out;
  out.reserve(18);
  put_be16(out, partition);
  put_be64(out, key_hash);
  put_be64(out, seq);
  return out;
}

std::string expiry_key(std::int64_t finished_at_ms, const job_id& id) {
  std::string out;
  out.reserve(24);
  put_be64(out, static_cast<std::uint64_t>(finished_at_ms));
  out += id_key(id);
  return out;
}

std::string encode_job(const job& j) {
  std::string out;
  out.reserve(160 + j.kind.size() + j.params.size() + j.partition_key.size()
              + j.trace_id.size());
  out.push_back(static_cast<char>(job_record_version));
  put_le(out, j.id.hi);
  put_le(out, j.id.lo);
  put_str(out, j.kind);
  put_str(out, j.params);
  put_str(out, j.partition_key);
  put_str(out, j.session_id);
  put_str(out, j.idempotency_key);
  put_str(out, j.trace_id);
  put_le(out, j.parent_id.hi);
  put_le(out, j.parent_id.lo);
  put_le(out, static_cast<std::uint8_t>(j.status));
  put_le(out, j.priority);
  put_le(out, j.attempts);
  put_le(out, j.max_attempts);
  put_le(out, j.depth);
  put_le(out, j.partition);
  put_le(out, j.seq);
  put_le(out, j.created_at_ms);
  put_le(out, j.run_at_ms);
  put_le(out, j.updated_at_ms);
  put_le(out, j.finished_at_ms);
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(j.errors.size()));
  for (const auto& e : j.errors) {
    put_le(out, e.attempt);
    put_le(out, e.at_ms);
    put_str(out, e.message);
    put_le<std::uint8_t>(out, e.retryable ? 1 : 0);
  }
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(j.followups.size()));
  for (const auto& f : j.followups) {
    put_le(out, f.hi);
    put_le(out, f.lo);
  }
  put_le(out, j.revision);
  return out;
}

std::optional<job> decode_job(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  auto version = static_cast<std::uint8_t>(bytes[0]);
  if (version != 1 && version != job_record_version) return std::nullopt;
  record_reader in{bytes.substr(1)};
  job j;
  std::uint8_t status = 0;
  std::uint32_t n_errors = 0;
  std::uint32_t n_followups = 0;
  bool ok = in.read(j.id) && in.read(j.kind) && in.read(j.params)
            && in.read(j.partition_key) && in.read(j.session_id)
            && in.read(j.idempotency_key) && in.read(j.trace_id)
            && in.read(j.parent_id) && in.read(status) && in.read(j.priority)
            && in.read(j.attempts) && in.read(j.max_attempts) && in.read(j.depth)
            && in.read(j.partition) && in.read(j.seq) && in.read(j.created_at_ms)
            && in.read(j.run_at_ms) && in.read(j.updated_at_ms)
            && in.read(j.finished_at_ms) && in.read(n_errors);
  if (!ok || status > static_cast<std::uint8_t>(job_status::cancelled))
    return std::nullopt;
  j.status = static_cast<job_status>(status);
  // Bound the allocation by what the rest of the record could hold: an
  // error entry takes at least 17 bytes, a follow-up id 16.
  if (n_errors > in.remaining() / 17) return std::nullopt;
  j.errors.resize(n_errors);
  for (auto& e : j.errors) {
    std::uint8_t retryable = 0;
    if (!(in.read(e.attempt) && in.read(e.at_ms) && in.read(e.message)
          && in.read(retryable)))
      return std::nullopt;
    e.retryable = retryable != 0;
  }
  if (!in.read(n_followups) || n_followups > in.remaining() / 16) return std::nullopt;
  j.followups.resize(n_followups);
  for (auto& f : j.followups)
    if (!in.read(f)) return std::nullopt;
  if (version >= 2 && !in.read(j.revision)) return std::nullopt;
  return j;
}

std::optional<job_head> decode_job_head(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  auto version = static_cast<std::uint8_t>(bytes[0]);
  if (version != 1 && version != job_record_version) return std::nullopt;
  record_reader in{bytes.substr(1)};
  job_head h;
  std::string_view skipped;
  job_id parent;
  std::uint8_t status = 0;
  std::uint32_t attempts = 0, max_attempts = 0, depth = 0;
  std::uint16_t partition = 0;
  std::int64_t created_at_ms = 0;
  // The layout of decode_job, with params, session, idempotency key, trace
  // id and parent skipped rather than copied.
  bool ok = in.read(h.id) && in.read(h.kind) && in.read(skipped) && in.read(h.partition_key)
            && in.read(skipped) && in.read(skipped) && in.read(skipped) && in.read(parent)
            && in.read(status) && in.read(h.priority) && in.read(attempts) && in.read(max_attempts)
            && in.read(depth) && in.read(partition) && in.read(h.seq) && in.read(created_at_ms)
            && in.read(h.run_at_ms);
  if (!ok || status > static_cast<std::uint8_t>(job_status::cancelled)) return std::nullopt;
  h.status = static_cast<job_status>(status);
  return h;
}

} // namespace hypercore::persistence
