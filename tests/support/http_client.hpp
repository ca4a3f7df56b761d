// SPDX-License-Identifier: Apache-2.0
#pragma once

// A minimal HTTP client for the tests, so only one test file includes
// httplib.h.

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace hypercore::test {

struct http_reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;

  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string error_code() const {
    auto j = json();
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }
};

/// Reads a whole streamed response (Server-Sent Events) until the server
/// ends it; status 0 when it could not connect.
http_reply http_stream(int port, const std::string& path,
                       const std::map<std::string, std::string>& headers = {});

/// Sends one request to 127.0.0.1:port; status 0 when it could not connect.
http_reply http_call(int port, const std::string& method, const std::string& path,
                     const std::string& body = {},
                     const std::map<std::string, std::string>& headers = {});

} // namespace hypercore::test
