// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <caf/actor_addr.hpp>

#include "hypercore/core/subscription_gate.hpp"

namespace hypercore {

/// A live subscription to the commit feed (engine::subscribe). Dropping or
/// resetting it unsubscribes: once that returned, no callback of it runs.
/// Safe to drop on any thread, inside its own callback, and after the
/// engine stopped.
class subscription {
public:
  subscription() = default;
  subscription(std::shared_ptr<subscription_gate> gate, caf::actor_addr actor)
    : gate_(std::move(gate)), actor_(std::move(actor)) {}
  ~subscription() { reset(); }
  subscription(subscription&& other) noexcept = default;
  subscription& operator=(subscription&& other) noexcept {
    if (this != &other) {
      reset();
      gate_ = std::move(other.gate_);
      actor_ = std::move(other.actor_);
    }
    return *this;
  }
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;

  void reset();
  explicit operator bool() const { return gate_ != nullptr; }

private:
  std::shared_ptr<subscription_gate> gate_;
  caf::actor_addr actor_;
};

} // namespace hypercore
