// SPDX-License-Identifier: Apache-2.0
#include "hypercore/core/subscription_gate.hpp"

namespace hypercore {

void subscription_gate::deliver(const std::vector<transition>& batch) {
  std::lock_guard<std::recursive_mutex> guard{mutex_};
  if (open_ && hooks_.on_transitions && !batch.empty()) hooks_.on_transitions(batch);
}

void subscription_gate::lost(std::uint64_t from, std::uint64_t to) {
  std::lock_guard<std::recursive_mutex> guard{mutex_};
  if (open_ && hooks_.on_lost) hooks_.on_lost(from, to);
}

void subscription_gate::end() {
  std::lock_guard<std::recursive_mutex> guard{mutex_};
  if (!open_) return;
  open_ = false;
  if (hooks_.on_end) hooks_.on_end();
}

void subscription_gate::close() {
  std::lock_guard<std::recursive_mutex> guard{mutex_};
  open_ = false;
}

} // namespace hypercore
