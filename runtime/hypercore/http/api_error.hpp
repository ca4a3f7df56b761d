// SPDX-License-Identifier: Apache-2.0
#pragma once

// The one place where errors become HTTP: status codes and the stable API
// codes of docs/API.md. Every error body is
//   {"error": {"code": "...", "message": "...", "details": ...}}.

#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include "hypercore/core/errc.hpp"

namespace hypercore::http {

struct api_error {
  int status = 500;
  std::string code;
  std::string message;
  nlohmann::json details;

  std::string body() const;
};

/// The HTTP status and stable API code of each errc: the one mapping.
struct http_code {
  int status;
  std::string_view code;
};
http_code http_code_of(errc code);

/// Maps an engine error (errc, or a CAF error) to status and API code.
api_error to_api_error(const caf::error& err);

/// An error the HTTP layer raises itself, through the same mapping.
api_error make_api_error(errc code, std::string message, nlohmann::json details = nullptr);

} // namespace hypercore::http
