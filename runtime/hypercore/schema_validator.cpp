// SPDX-License-Identifier: Apache-2.0
// The only file that includes valijson: it is heavy to compile.
#include "hypercore/schema_validator.hpp"

#include <memory>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "hypercore/core/errc.hpp"

namespace hypercore {

caf::expected<params_validator> compile_schema(const nlohmann::json& schema_json) {
  auto schema = std::make_shared<valijson::Schema>();
  try {
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter adapter(schema_json);
    parser.populateSchema(adapter, *schema);
  } catch (const std::exception& e) {
    return make_error(errc::invalid_config, std::string{"invalid params schema: "} + e.what());
  }
  return params_validator{[schema](const nlohmann::json& params) -> caf::error {
    valijson::Validator validator;
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(params);
    bool ok = false;
    try {
      ok = validator.validate(*schema, target, &results);
    } catch (const std::exception& e) {
      return make_error(errc::invalid_params, std::string{"params validation failed: "} + e.what());
    }
    if (ok) return {};
    std::string message = "params do not match the kind's schema:";
    auto violations = nlohmann::json::array();
    valijson::ValidationResults::Error err;
    while (results.popError(err) && violations.size() < 32) {
      std::string path;
      for (const auto& part : err.context) path += part;
      message += "\n  " + path + ": " + err.description;
      violations.push_back({{"path", path}, {"reason", err.description}});
    }
    return make_error(errc::invalid_params, message,
                      nlohmann::json{{"violations", violations}}.dump());
  }};
}

} // namespace hypercore
