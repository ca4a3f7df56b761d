// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hypercore/core/job.hpp"

namespace hypercore::persistence {

/// Version of the job record layout written by encode_job (docs/STORAGE.md).
/// Version 2 appended `revision`; version 1 records still decode (revision 0).
inline constexpr std::uint8_t job_record_version = 2;

/// Encodes a job as a versioned binary record.
std::string encode_job(const job& j);

/// Decodes a record written by encode_job; nullopt for a truncated record or
/// a version this build does not know.
std::optional<job> decode_job(std::string_view bytes);

/// The fields a partition orders by, read from the same record without
/// copying a string (the views point into `bytes`); nullopt where
/// decode_job would refuse the record's head.
std::optional<job_head> decode_job_head(std::string_view bytes);

/// Big-endian key pieces, so LMDB's byte order is numeric order.
void put_be16(std::string& out, std::uint16_t v);
void put_be64(std::string& out, std::uint64_t v);
std::uint16_t get_be16(const char* p);
std::uint64_t get_be64(const char* p);

/// 16 bytes: the id's time-ordered big-endian form.
std::string id_key(const job_id& id);
job_id id_from_key(std::string_view bytes);

/// pending: (partition, seq) -> id
std::string pending_key(std::uint16_t partition, std::uint64_t seq);
/// scheduled: (partition, run_at, seq) -> id
std::string scheduled_key(std::uint16_t partition, std::int64_t run_at_ms, std::uint64_t seq);
/// keys: (partition, key hash, seq) -> id
std::string key_index_key(std::uint16_t partition, std::uint64_t key_hash,
                          std::uint64_t seq);
/// expiry: (finished_at, id) -> empty
std::string expiry_key(std::int64_t finished_at_ms, const job_id& id);

} // namespace hypercore::persistence
