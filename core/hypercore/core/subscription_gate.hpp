// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the owner of a feed subscription is told, and the gate that stops
// the telling: shared by a subscription handle (engine::subscribe) and the
// actor that delivers it (actors/feed_subscriber).

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "hypercore/core/feed_messages.hpp"

namespace hypercore {

/// What a subscription's owner is told.
struct subscription_hooks {
  /// Matching transitions, in position order.
  std::function<void(const std::vector<transition>&)> on_transitions;
  /// Matching transitions at positions [from, to) may have been missed: the
  /// event log no longer holds them. Re-read the state you follow.
  std::function<void(std::uint64_t from, std::uint64_t to)> on_lost;
  /// The subscription ended (the engine stopped); nothing is called after.
  std::function<void()> on_end;
};

/// Shared by a subscription handle and its actor: closing it guarantees that
/// no callback runs once close() returned (a callback may close it too).
class subscription_gate {
public:
  explicit subscription_gate(subscription_hooks hooks) : hooks_(std::move(hooks)) {}

  void deliver(const std::vector<transition>& batch);
  void lost(std::uint64_t from, std::uint64_t to);
  void end();
  void close();

private:
  std::recursive_mutex mutex_;
  bool open_ = true;
  subscription_hooks hooks_;
};

} // namespace hypercore
