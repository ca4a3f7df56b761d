// SPDX-License-Identifier: Apache-2.0
// Fuzzes the `hypercore serve --config` parser (JSON object or key = value
// lines): it names an error or returns known keys, and what it returns
// reads back the same when written out as key = "value" lines.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "hypercore/cli/serve_config.hpp"
#include "hypercore/core/errc.hpp"

using namespace hypercore;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = cli::parse_serve_config(fuzz::as_text(data, size), "fuzz.conf");

  if (!parsed) {
    fuzz::require(code_of(parsed.error()) == errc::invalid_config, "errors are invalid_config");
    fuzz::require(message_of(parsed.error()).rfind("config fuzz.conf: ", 0) == 0,
                  "errors name the file");
    return 0;
  }
  std::string lines;
  bool writable = true;
  for (const auto& [key, value] : *parsed) {
    fuzz::require(!key.empty() && key.find('_') == std::string::npos, "keys are normalised");
    // A value with a line break cannot be written as one line.
    writable = writable && value.find('\n') == std::string::npos;
    lines += key + " = \"" + value + "\"\n";
  }
  if (!writable) return 0;
  auto again = cli::parse_serve_config(lines, "fuzz.conf");
  fuzz::require(again && *again == *parsed, "a config written as lines reads back the same");
  return 0;
}
