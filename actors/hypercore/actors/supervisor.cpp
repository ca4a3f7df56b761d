// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/supervisor.hpp"

#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/core/errc.hpp"
#include "hypercore/core/messages.hpp"

namespace hypercore {

namespace {

struct supervisor_state {
  static inline const char* name = "hypercore.supervisor";
  supervisor_hooks hooks;
  std::unordered_map<caf::actor_addr, std::string> watched;
};

using supervisor_self = supervisor_actor::stateful_base<supervisor_state>;

void watch(supervisor_self* self, const caf::actor& target, std::string name) {
  if (!target) return;
  self->monitor(target);
  self->state.watched[target.address()] = std::move(name);
}

supervisor_actor::behavior_type supervisor_behavior(supervisor_self* self, supervisor_hooks hooks) {
  self->state.hooks = std::move(hooks);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& st = self->state;
    auto it = st.watched.find(down.source);
    if (it == st.watched.end()) return;
    auto name = std::move(it->second);
    st.watched.erase(it);
    spdlog::error("supervisor: {} stopped ({}); replacing it", name, message_of(down.reason));
    auto pause = st.hooks.on_down(name, down.reason);
    if (pause.count() > 0) self->delayed_send(self, pause, respawn_atom::value, name);
    else watch(self, st.hooks.replace(name), name);
  });
  return {
    [=](watch_atom, caf::actor& target, std::string& name) { watch(self, target, std::move(name)); },
    [=](respawn_atom, std::string& name) { watch(self, self->state.hooks.replace(name), name); },
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys, supervisor_hooks hooks) {
  return sys.spawn(supervisor_behavior, std::move(hooks));
}

} // namespace hypercore
