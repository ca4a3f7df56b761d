// SPDX-License-Identifier: Apache-2.0
#include "hypercore/subscription.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

namespace hypercore {

void subscription::reset() {
  if (!gate_) return;
  gate_->close();
  // Only a weak reference is held: after the engine stopped the actor is
  // gone and there is nothing to stop.
  if (auto actor = caf::actor_cast<caf::actor>(actor_))
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  gate_.reset();
  actor_ = caf::actor_addr{};
}

} // namespace hypercore
