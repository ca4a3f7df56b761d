// SPDX-License-Identifier: Apache-2.0
#pragma once

// decide_outcome: what a finished attempt leads to, as the record_outcome
// the journal is to write. Pure: no actors, no store, no clock of its own
// (now and the random draw for jitter are parameters), so every rule is
// tested without a running engine (tests/unit/actors/outcome_test.cpp).

#include <cstdint>

#include "hypercore/core/admission.hpp"
#include "hypercore/core/kind_catalog.hpp"
#include "hypercore/core/messages.hpp"

namespace hypercore {

/// The partition's view of the attempt beyond the job itself.
struct outcome_context {
  const kind_catalog& catalog;
  const admission_limits& limits;
  /// A cancel arrived while the attempt ran: cancel wins.
  bool cancel_requested = false;
  /// A uniform draw from [0, 1) for the retry jitter.
  double unit_random = 0.5;
  std::int64_t now_ms = 0;
};

/// Rules, in order: a requested cancel ends the job cancelled whatever the
/// agent returned; a success keeps its output, its session change and its
/// follow-ups, admitted like submits (one that no longer passes kills the
/// job with that reason: only a catalog change can cause it); a failure is
/// retried by the kind's policy (run_at = now + delay) or ends dead, its
/// error kept in the history either way.
record_outcome decide_outcome(const job& j, job_finished finished, const outcome_context& ctx);

} // namespace hypercore
