// SPDX-License-Identifier: Apache-2.0
#pragma once

// A minimal HTTP client for the tests, so only one test file includes
// httplib.h.

#include <functional>
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

/// GETs a stream and reads it until `enough` says so for the body read so
/// far (or the server ends it, or timeout_s passes).
http_reply http_stream_until(int port, const std::string& path,
                             const std::function<bool(const std::string& body)>& enough,
                             const std::map<std::string, std::string>& headers = {},
                             int timeout_s = 30);

/// Sends one request to 127.0.0.1:port; status 0 when it could not connect.
http_reply http_call(int port, const std::string& method, const std::string& path,
                     const std::string& body = {},
                     const std::map<std::string, std::string>& headers = {});

/// A plain TCP connection to 127.0.0.1:port; -1 when it could not connect.
int connect_loopback(int port);

/// Writes `request` as raw bytes to 127.0.0.1:port (what no well-behaved
/// client would send: duplicate headers, bad bytes, endless chunks) and
/// returns what the server answered before closing or `timeout_ms` passed.
/// `tail_bytes` more bytes of 'a' are streamed after the request while the
/// server reads them (a body larger than the limit).
http_reply http_raw(int port, const std::string& request, std::size_t tail_bytes = 0,
                    int timeout_ms = 5000);

} // namespace hypercore::test
