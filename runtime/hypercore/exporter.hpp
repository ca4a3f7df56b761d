// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <ostream>
#include <string>

#include <caf/expected.hpp>

namespace hypercore {

/// Writes every job of the store in `data_dir` as one JSON line each (with
/// its output when it succeeded; dead letters have status "dead"). Opens the
/// store itself: run it while no engine has the directory open in this
/// process. Returns the number of jobs written.
caf::expected<std::uint64_t> export_jobs(const std::string& data_dir, std::ostream& out);

} // namespace hypercore
