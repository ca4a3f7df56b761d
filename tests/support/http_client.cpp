// SPDX-License-Identifier: Apache-2.0
#include "http_client.hpp"

#include <httplib.h>

namespace hypercore::test {

http_reply http_call(int port, const std::string& method, const std::string& path,
                     const std::string& body, const std::map<std::string, std::string>& headers) {
  httplib::Client client{"127.0.0.1", port};
  client.set_read_timeout(60, 0);
  client.set_tcp_nodelay(true);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  httplib::Result res{nullptr, httplib::Error::Unknown};
  if (method == "GET") res = client.Get(path, h);
  else if (method == "POST") res = client.Post(path, h, body, "application/json");
  else if (method == "DELETE") res = client.Delete(path, h);
  else if (method == "PATCH") res = client.Patch(path, h, body, "application/json");
  if (!res) return {};
  http_reply out{res->status, res->body, {}};
  for (const auto& [k, v] : res->headers) out.headers[k] = v;
  return out;
}

http_reply http_stream(int port, const std::string& path,
                       const std::map<std::string, std::string>& headers) {
  httplib::Client client{"127.0.0.1", port};
  client.set_read_timeout(60, 0);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  http_reply out;
  auto res = client.Get(path, h, [&](const char* data, std::size_t len) {
    out.body.append(data, len);
    return true;
  });
  if (!res) return {};
  out.status = res->status;
  if (out.body.empty()) out.body = res->body;
  return out;
}

} // namespace hypercore::test
