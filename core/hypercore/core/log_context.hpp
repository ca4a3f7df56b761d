// SPDX-License-Identifier: Apache-2.0
#pragma once

// log_context: structured fields for the log lines a thread writes about a
// job (job_id, kind, attempt, trace_id, span_id, partition, session_id).
// A log_scope sets them for its lifetime. The JSON log format writes them
// as fields of their own; the text format leaves them out, because those
// messages name what they are about. Set only around the log call of an
// error path, never per job on the hot path.
//
// Payloads (params, outputs, session data) are never logged unless
// payload logging is on (`hypercore serve --log-payloads`). Even then,
// redacted() replaces the values under keys that look secret.

#include <atomic>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hypercore {

using log_field = std::pair<std::string_view, std::string>;

class log_scope {
public:
  explicit log_scope(std::vector<log_field> fields);
  ~log_scope();
  log_scope(const log_scope&) = delete;
  log_scope& operator=(const log_scope&) = delete;

  /// The fields of every scope open on this thread, outermost first.
  static const std::vector<log_field>& current();

private:
  std::size_t added_ = 0;
};

/// Whether params, outputs and session data may be logged (off by default).
bool log_payloads();
void set_log_payloads(bool on);

/// `json_text` with the value of every key that looks secret (api_key,
/// token, password, secret, authorization, in any case, anywhere in the
/// key, at any depth) replaced by "[redacted]"; text that is not JSON
/// becomes "[not JSON: N bytes]".
std::string redacted(std::string_view json_text);

} // namespace hypercore
