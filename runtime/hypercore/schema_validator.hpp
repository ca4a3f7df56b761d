// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

namespace hypercore {

using params_validator = std::function<caf::error(const nlohmann::json&)>;

/// Compiles a JSON Schema (draft 7, via valijson) into a validator whose
/// error (invalid_params) lists every violation as "path: reason".
/// The validator is thread-safe. Errors: invalid_config for a bad schema.
caf::expected<params_validator> compile_schema(const nlohmann::json& schema);

} // namespace hypercore
