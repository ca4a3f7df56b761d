// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <caf/error.hpp>

#include "hypercore/core/job.hpp"
#include "hypercore/core/messages.hpp"

namespace hypercore {

/// The job state machine, as pure functions over a stored record. The journal
/// applies them inside its write transaction, so a transition that does not
/// fit the stored status (a late result, a start after a cancel) is refused
/// with errc::invalid_transition and writes nothing.

/// pending|retrying|running -> running, attempts = attempt. A job still
/// stored as running whose next attempt starts gets interrupted_entry() for
/// the attempt that never ended.
caf::error apply_start(job& j, const record_start& cmd);

/// The history entry of an attempt cut short by a stop of the process:
/// "attempt N interrupted: the process stopped during it" (retryable).
error_entry interrupted_entry(std::uint32_t attempt, std::int64_t at_ms);

/// running|pending|retrying -> cmd.next (retrying, succeeded, dead, cancelled).
caf::error apply_outcome(job& j, const record_outcome& cmd);

/// dead -> pending with attempts = 0, history kept.
caf::error apply_replay(job& j, std::int64_t at_ms);

} // namespace hypercore
