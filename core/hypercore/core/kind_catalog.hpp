// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "hypercore/core/agent.hpp"

namespace hypercore {

/// Everything the runtime knows about one agent kind. Built before the
/// engine starts and read-only afterwards, so actors share it without locks.
struct kind_entry {
  std::string kind;
  agent_factory factory;
  agent_options options;
  std::optional<nlohmann::json> schema;
  /// Checks params against the schema; an error value lists the violations.
  std::function<caf::error(const nlohmann::json&)> validate;
};

struct kind_catalog {
  std::map<std::string, kind_entry> kinds;

  const kind_entry* find(const std::string& kind) const {
    auto it = kinds.find(kind);
    return it == kinds.end() ? nullptr : &it->second;
  }
};

using catalog_ptr = std::shared_ptr<const kind_catalog>;

} // namespace hypercore
