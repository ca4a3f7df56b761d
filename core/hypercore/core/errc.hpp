// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace hypercore {

/// Every error Hypercore reports. Numbers are part of the API and the wire
/// format: never renumber or reuse one.
enum class errc : std::uint8_t {
  /// No agent is registered for the job's kind.
  unknown_kind = 1,
  /// The params are not valid JSON or fail the kind's JSON Schema.
  invalid_params = 2,
  /// The params (or another field) exceed a size, count or depth limit.
  payload_too_large = 3,
  /// A job id is not in canonical form.
  malformed_id = 4,
  /// No job (or session) with that id.
  not_found = 5,
  /// The operation does not apply to the job's current status.
  invalid_transition = 6,
  /// The engine is shutting down and takes no new work.
  shutting_down = 7,
  /// The data directory holds something that is not a Hypercore store.
  foreign_data_dir = 8,
  /// The data directory was written by a newer, incompatible format.
  newer_format = 9,
  /// LMDB reported an error other than a full map; the batch was not written.
  storage_failure = 10,
  /// A follow-up chain went deeper than the configured limit.
  chain_too_deep = 11,
  /// Waiting for a job ran past its timeout.
  timeout = 12,
  /// The same idempotency key was used with a different request.
  conflict = 13,
  /// An agent crashed (threw or exited) while handling the job.
  agent_crashed = 14,
  /// An agent ran past its kind's timeout.
  agent_timeout = 15,
  /// The configuration is invalid; the message names the key.
  invalid_config = 16,
  /// The engine was not started, or was started twice.
  not_running = 17,
  /// The request is malformed in a way not covered above.
  invalid_request = 18,
  /// Too much work is pending: the submit was refused to bound memory and
  /// disk; retry later.
  overloaded = 19,
  /// A string from outside (kind, key, id, header) is not valid UTF-8.
  invalid_utf8 = 20,
  /// The disk (or the store's map) is full: nothing was written; retry once
  /// space is freed. Outcomes already reached are kept and written then.
  storage_full = 21,
  /// The store failed to read, or to write for another reason than a full
  /// disk (an I/O error); nothing was written; retry later.
  storage_unavailable = 22,
  /// Another process holds the data directory; the message names its pid.
  data_dir_locked = 23,
  /// The core actor that had to answer is not available (it died and is
  /// being restarted); retry later.
  unavailable = 24,
  /// start() on an engine that is already running.
  already_running = 25,
  /// A request body or field that is not JSON (HTTP).
  invalid_json = 26,
  /// A JSON object that repeats a key (HTTP: parsers disagree on which wins).
  duplicate_key = 27,
  /// A missing or wrong bearer token (HTTP).
  unauthorized = 28,
  /// A rate limit refused the request; retry after the time it says (HTTP).
  rate_limited = 29,
  /// An unexpected failure inside the server (HTTP: an exception in a handler).
  internal = 30,
  /// A request's header block is too large or has too many fields (HTTP 431).
  headers_too_large = 31,
  /// The server holds as many connections as it may; retry later (HTTP 503).
  too_many_connections = 32,
};

std::string_view to_string(errc x);

/// The category atom under which errc values travel inside caf::error.
using hypercore_error_atom = caf::atom_constant<caf::atom("hypercore")>;

/// Wraps an errc and a human-readable message into a caf::error.
caf::error make_error(errc code, std::string message = {});

/// Like make_error, with machine-readable details (JSON text) that the HTTP
/// API returns as the error's "details".
caf::error make_error(errc code, std::string message, std::string details_json);

/// The details JSON text of an error made with them, or empty.
std::string details_of(const caf::error& err);

/// The errc inside a caf::error, or 0 (as errc) for errors of other categories.
errc code_of(const caf::error& err);

/// The human-readable message of an error made by make_error, or CAF's
/// rendering of any other error.
std::string message_of(const caf::error& err);

} // namespace hypercore
