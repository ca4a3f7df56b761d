// SPDX-License-Identifier: Apache-2.0
#include "hypercore/persistence/event_codec.hpp"

#include "hypercore/persistence/record_io.hpp"

namespace hypercore::persistence {

std::string encode_transition(const transition& t) {
  std::string out;
  encode_transition(t, out);
  return out;
}

void encode_transition(const transition& t, std::string& out) {
  out.clear();
  out.reserve(96 + t.kind.size() + t.trace_id.size() + t.session_id.size()
              + t.partition_key.size() + t.error.size());
  out.push_back(static_cast<char>(event_record_version));
  put_le(out, static_cast<std::uint8_t>(t.cause));
  put_id(out, t.id);
  put_str(out, t.kind);
  put_le(out, t.partition);
  put_le(out, t.seq);
  put_le(out, static_cast<std::uint8_t>(t.from));
  put_le(out, static_cast<std::uint8_t>(t.to));
  put_le(out, t.attempt);
  put_le(out, t.revision);
  put_le(out, t.run_at_ms);
  put_le(out, t.created_at_ms);
  put_le(out, t.at_ms);
  put_str(out, t.trace_id);
  put_id(out, t.parent_id);
  put_str(out, t.session_id);
  put_str(out, t.partition_key);
  put_str(out, t.error);
  put_le<std::uint8_t>(out, t.retryable ? 1 : 0);
  put_le(out, t.expires_at_ms);
}

std::optional<transition> decode_transition(std::string_view bytes, std::uint64_t position) {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes[0]) != event_record_version)
    return std::nullopt;
  record_reader in{bytes.substr(1)};
  transition t;
  t.position = position;
  std::uint8_t cause = 0, from = 0, to = 0, retryable = 0;
  bool ok = in.read(cause) && in.read(t.id) && in.read(t.kind) && in.read(t.partition)
            && in.read(t.seq) && in.read(from) && in.read(to) && in.read(t.attempt)
            && in.read(t.revision) && in.read(t.run_at_ms) && in.read(t.created_at_ms)
            && in.read(t.at_ms) && in.read(t.trace_id) && in.read(t.parent_id)
            && in.read(t.session_id) && in.read(t.partition_key) && in.read(t.error)
            && in.read(retryable) && in.read(t.expires_at_ms);
  constexpr auto last_status = static_cast<std::uint8_t>(job_status::cancelled);
  if (!ok || in.remaining() != 0 || cause > static_cast<std::uint8_t>(transition_cause::session_deleted)
      || from > last_status || to > last_status || retryable > 1)
    return std::nullopt;
  t.cause = static_cast<transition_cause>(cause);
  t.from = static_cast<job_status>(from);
  t.to = static_cast<job_status>(to);
  t.retryable = retryable != 0;
  return t;
}

} // namespace hypercore::persistence
