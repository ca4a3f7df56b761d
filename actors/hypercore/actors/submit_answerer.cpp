// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/submit_answerer.hpp"

#include <caf/actor_system.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "hypercore/core/errc.hpp"

namespace hypercore {

submit_answerer_actor spawn_submit_answerer(caf::actor_system& sys,
                                            std::shared_ptr<submit_tickets> tickets,
                                            std::chrono::milliseconds sweep_every) {
  return sys.spawn([=](submit_answerer_actor::pointer self) -> submit_answerer_actor::behavior_type {
    self->set_down_handler([=](const caf::down_msg& down) {
      tickets->fail_journal(down.source.id(),
                            make_error(errc::unavailable,
                                       "the journal stopped before answering this submit; retry "
                                       "(with an Idempotency-Key a retry cannot make a second job)"));
    });
    self->delayed_send(self, sweep_every, sweep_atom::value);
    return {
      [=](ticket_answers& batch) { tickets->answer(batch.answers); },
      [=](journal_atom, journal_actor& journal) { self->monitor(journal); },
      [=](sweep_atom) {
        tickets->expire(submit_tickets::clock_type::now());
        self->delayed_send(self, sweep_every, sweep_atom::value);
      },
    };
  });
}

} // namespace hypercore
