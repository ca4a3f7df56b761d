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

/// pending|retrying|running -> running, attempts = attempt.
caf::error apply_start(job& j, const record_start& cmd);

/// running|pending|retrying -> cmd.next (retrying, succeeded, dead, cancelled).
caf::error apply_outcome(job& j, const record_outcome& cmd);

/// dead -> pending with attempts = 0, history kept.
caf::error apply_replay(job& j, std::int64_t at_ms);

} // namespace hypercore
