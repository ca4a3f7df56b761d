// SPDX-License-Identifier: Apache-2.0
#include "http_client.hpp"

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

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
  else if (method == "PUT") res = client.Put(path, h, body, "application/json");
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

http_reply http_stream_until(int port, const std::string& path,
                             const std::function<bool(const std::string&)>& enough,
                             const std::map<std::string, std::string>& headers, int timeout_s) {
  httplib::Client client{"127.0.0.1", port};
  client.set_read_timeout(timeout_s, 0);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  http_reply out;
  auto res = client.Get(path, h, [&](const char* data, std::size_t len) {
    out.body.append(data, len);
    return !enough(out.body);
  });
  // Stopping the read on purpose reports a canceled request: what was read counts.
  out.status = res ? res->status : (out.body.empty() ? 0 : 200);
  if (res && out.body.empty()) out.body = res->body;
  return out;
}

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

http_reply http_raw(int port, const std::string& request, std::size_t tail_bytes,
                    int timeout_ms) {
  http_reply out;
  int fd = connect_loopback(port);
  if (fd < 0) return out;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto send_all = [&](const char* data, std::size_t n) {
    while (n > 0) {
      auto sent = ::send(fd, data, n, MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data += sent;
      n -= static_cast<std::size_t>(sent);
    }
    return true;
  };
  std::string raw;
  auto read_some = [&](int wait_ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, wait_ms) <= 0) return false;
    char buf[8192];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    raw.append(buf, static_cast<std::size_t>(n));
    return true;
  };
  if (send_all(request.data(), request.size())) {
    std::string chunk(64 * 1024, 'a');
    // Stream the tail until the server answers or stops reading.
    while (tail_bytes > 0 && std::chrono::steady_clock::now() < until && raw.empty()) {
      auto n = std::min(tail_bytes, chunk.size());
      if (!send_all(chunk.data(), n)) break;
      tail_bytes -= n;
      read_some(0);
    }
  }
  while (std::chrono::steady_clock::now() < until) {
    if (!read_some(100) && raw.find("\r\n\r\n") != std::string::npos) break;
  }
  ::close(fd);
  // Status line and body; headers are not needed by the tests that use this.
  if (raw.rfind("HTTP/1.1 ", 0) == 0 && raw.size() >= 12) out.status = std::stoi(raw.substr(9, 3));
  if (auto body = raw.find("\r\n\r\n"); body != std::string::npos) out.body = raw.substr(body + 4);
  return out;
}

} // namespace hypercore::test
