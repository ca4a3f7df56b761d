// SPDX-License-Identifier: Apache-2.0
// Fuzzes the stored-record decoders (the job record, and the event log's
// transition record) on bytes as LMDB might hand them back after a torn
// write or a flipped bit: each reports nullopt or a record, never crashes; a
// record re-encodes to bytes that decode to the same record, and no strict
// prefix of an encoding decodes (a torn record is always seen).

#include <cstddef>
#include <cstdint>

#include "fuzz_check.hpp"
#include "hypercore/persistence/codec.hpp"
#include "hypercore/persistence/event_codec.hpp"

using namespace hypercore;

namespace {

bool same(const job& a, const job& b) {
  auto errors_equal = a.errors.size() == b.errors.size();
  for (std::size_t i = 0; errors_equal && i < a.errors.size(); ++i) {
    const auto& x = a.errors[i];
    const auto& y = b.errors[i];
    errors_equal = x.attempt == y.attempt && x.at_ms == y.at_ms && x.message == y.message
                   && x.retryable == y.retryable;
  }
  return errors_equal && a.id == b.id && a.kind == b.kind && a.params == b.params
         && a.partition_key == b.partition_key && a.session_id == b.session_id
         && a.idempotency_key == b.idempotency_key && a.trace_id == b.trace_id
         && a.parent_id == b.parent_id && a.status == b.status && a.priority == b.priority
         && a.attempts == b.attempts && a.max_attempts == b.max_attempts && a.depth == b.depth
         && a.partition == b.partition && a.seq == b.seq && a.created_at_ms == b.created_at_ms
         && a.run_at_ms == b.run_at_ms && a.updated_at_ms == b.updated_at_ms
         && a.finished_at_ms == b.finished_at_ms && a.followups == b.followups
         && a.revision == b.revision;
}

} // namespace

void check_transition_record(std::string_view bytes, std::size_t size) {
  auto decoded = persistence::decode_transition(bytes, 7);
  if (!decoded) return;
  auto encoded = persistence::encode_transition(*decoded);
  fuzz::require(encoded == bytes, "a transition record decodes only from its own encoding");
  for (std::size_t cut : {encoded.size() - 1, encoded.size() / 2, size % encoded.size()})
    fuzz::require(!persistence::decode_transition(std::string_view{encoded}.substr(0, cut), 7),
                  "a torn transition record does not decode");
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_transition_record(fuzz::as_text(data, size), size);
  auto decoded = persistence::decode_job(fuzz::as_text(data, size));
  if (!decoded) return 0;
  // The partition's window reads only the head: it must agree with the
  // whole record on every field it reads.
  auto head = persistence::decode_job_head(fuzz::as_text(data, size));
  fuzz::require(head.has_value(), "a record that decodes has a head");
  fuzz::require(head->id == decoded->id && head->kind == decoded->kind
                  && head->partition_key == decoded->partition_key && head->status == decoded->status
                  && head->priority == decoded->priority && head->seq == decoded->seq
                  && head->run_at_ms == decoded->run_at_ms,
                "the head agrees with the whole record");

  auto encoded = persistence::encode_job(*decoded);
  auto again = persistence::decode_job(encoded);

  fuzz::require(again.has_value(), "a re-encoded record decodes");
  fuzz::require(same(*decoded, *again), "a re-encoded record decodes to the same job");
  fuzz::require(persistence::encode_job(*again) == encoded, "encoding is deterministic");
  // Cut where a torn write could: one byte short, half, and one point the
  // input picks (so the fuzzer explores every field boundary).
  for (std::size_t cut : {encoded.size() - 1, encoded.size() / 2, size % encoded.size()})
    fuzz::require(!persistence::decode_job(std::string_view{encoded}.substr(0, cut)),
                  "a torn record does not decode");
  return 0;
}
