// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/partition_queue.hpp"

#include "hypercore/core/routing.hpp"

namespace hypercore {

void partition_queue::add(job j, std::int64_t now_ms) {
  auto id = j.id;
  if (jobs_.count(id) != 0) return;
  if (!j.partition_key.empty() && heads_.emplace(j.partition_key, id).second)
    ++head_hashes_[stable_hash(j.partition_key)];
  auto& s = jobs_[id];
  s.j = std::move(j);
  if (s.j.status == job_status::running) s.j.status = job_status::pending;
  if (s.j.run_at_ms > now_ms) {
    s.state = slot_state::delayed;
    delayed_.emplace(s.j.run_at_ms, id);
  } else {
    make_ready(s);
  }
}

void partition_queue::make_ready(slot& s) {
  s.state = slot_state::ready;
  ready_[s.j.kind].emplace(rank{-static_cast<std::int64_t>(s.j.priority), s.j.seq}, s.j.id);
  ++ready_total_;
}

std::optional<std::int64_t> partition_queue::promote_due(std::int64_t now_ms) {
  while (!delayed_.empty() && delayed_.begin()->first <= now_ms) {
    auto id = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    auto it = jobs_.find(id);
    if (it != jobs_.end() && it->second.state == slot_state::delayed)
      make_ready(it->second);
  }
  if (delayed_.empty()) return std::nullopt;
  return delayed_.begin()->first;
}

job* partition_queue::take_next(const std::function<bool(const std::string&)>& has_credit) {
  const rank* best = nullptr;
  std::map<rank, job_id>* best_kind = nullptr;
  for (auto& [kind, ranked] : ready_) {
    if (ranked.empty() || !has_credit(kind)) continue;
    const auto& candidate = ranked.begin()->first;
    if (best == nullptr || candidate < *best) {
      best = &candidate;
      best_kind = &ranked;
    }
  }
  if (best_kind == nullptr) return nullptr;
  auto id = best_kind->begin()->second;
  best_kind->erase(best_kind->begin());
  --ready_total_;
  auto& s = jobs_.at(id);
  s.state = slot_state::running;
  ++running_;
  return &s.j;
}

job* partition_queue::find(const job_id& id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second.j;
}

std::optional<partition_queue::slot_state> partition_queue::state_of(const job_id& id) const {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second.state;
}

void partition_queue::unlink(slot& s) {
  switch (s.state) {
    case slot_state::ready: {
      auto& ranked = ready_[s.j.kind];
      if (ranked.erase(rank{-static_cast<std::int64_t>(s.j.priority), s.j.seq}) > 0)
        --ready_total_;
      break;
    }
    case slot_state::delayed: {
      auto range = delayed_.equal_range(s.j.run_at_ms);
      for (auto it = range.first; it != range.second; ++it)
        if (it->second == s.j.id) {
          delayed_.erase(it);
          break;
        }
      break;
    }
    case slot_state::running:
    case slot_state::completing:
      --running_;
      break;
  }
}

void partition_queue::mark_completing(const job_id& id) {
  auto it = jobs_.find(id);
  if (it != jobs_.end() && it->second.state == slot_state::running)
    it->second.state = slot_state::completing;
}

void partition_queue::schedule(const job_id& id, std::int64_t run_at_ms, std::int64_t now_ms) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  auto& s = it->second;
  unlink(s);
  s.j.run_at_ms = run_at_ms;
  s.j.status = job_status::retrying;
  if (run_at_ms > now_ms) {
    s.state = slot_state::delayed;
    delayed_.emplace(run_at_ms, id);
  } else {
    make_ready(s);
  }
}

void partition_queue::requeue(const job_id& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  unlink(it->second);
  make_ready(it->second);
}

std::optional<job> partition_queue::remove(const job_id& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  unlink(it->second);
  auto j = std::move(it->second.j);
  jobs_.erase(it);
  if (!j.partition_key.empty()) {
    auto head = heads_.find(j.partition_key);
    if (head != heads_.end() && head->second == id) {
      heads_.erase(head);
      auto hash = head_hashes_.find(stable_hash(j.partition_key));
      if (hash != head_hashes_.end() && --hash->second == 0) head_hashes_.erase(hash);
    }
  }
  return j;
}

} // namespace hypercore
