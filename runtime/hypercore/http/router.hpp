// SPDX-License-Identifier: Apache-2.0
#pragma once

// router: which handler answers a method and path. Patterns are literal
// paths in which a `{}` segment matches one non-empty path segment (no
// '/'); what it matched goes to request::matches. Routes are tried in the
// order they were added. Built once before serving, then read-only, so any
// thread may match.

#include <functional>
#include <string>
#include <vector>

#include "hypercore/http/message.hpp"

namespace hypercore::http {

/// A route's handler: completes the request through the responder, now or
/// later, from any thread.
using handler = std::function<void(request&, responder)>;

/// Where a handler may run: `io` handlers never block (they hand waiting to
/// the engine as a message), `blocking` ones call the engine synchronously
/// and run on the server's pool of blocking threads.
enum class runs_on { io, blocking };

struct route {
  std::string method;
  std::vector<std::string> segments;
  handler handle;
  runs_on where = runs_on::blocking;
  /// The pattern as added ("/v1/jobs/{}"): a bounded label for metrics.
  std::string pattern;
  /// Its place in the order routes were added.
  std::size_t index = 0;
};

class router {
public:
  void add(std::string method, const std::string& pattern, handler h,
           runs_on where = runs_on::blocking);
  /// The first route matching req's method and path (req.matches filled),
  /// or nullptr.
  const route* match(request& req) const;
  /// Every route, in the order added.
  const std::vector<route>& routes() const { return routes_; }

private:
  std::vector<route> routes_;
};

} // namespace hypercore::http
