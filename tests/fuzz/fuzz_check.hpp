// SPDX-License-Identifier: Apache-2.0
#pragma once

// What every fuzz target shares: a property check that aborts (so libFuzzer
// saves the input as a crash) and the check that an API error can still be
// rendered, since an error body that throws is a 500 for the client.

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "hypercore/http/api_error.hpp"

namespace hypercore::fuzz {

/// Aborts with `what` when `ok` is false; libFuzzer then keeps the input.
inline void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz property violated: %s\n", what);
  std::abort();
}

/// The input bytes as text, without copying.
inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// A refusal must be a 4xx with a stable code and a body that renders
/// (nlohmann's dump throws on invalid UTF-8 in a message).
inline void require_renderable(const http::api_error& err) {
  require(err.status >= 400 && err.status < 500, "a refused body answers 4xx");
  require(!err.code.empty(), "a refusal carries a stable code");
  std::string body;
  try {
    body = err.body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "api_error::body() threw: %s\ncode: %s\n", e.what(), err.code.c_str());
    std::abort();
  }
  require(!body.empty(), "an error body is not empty");
}

} // namespace hypercore::fuzz
