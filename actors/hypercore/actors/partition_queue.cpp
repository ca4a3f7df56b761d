// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/partition_queue.hpp"

#include "hypercore/core/routing.hpp"

namespace hypercore {

void partition_queue::add(const job_head& j, std::int64_t now_ms) {
  auto [it, added] = jobs_.try_emplace(j.id);
  if (!added) return;
  const auto& id = it->first;
  auto& s = it->second;
  s.seq = j.seq;
  s.run_at_ms = j.run_at_ms;
  s.priority = j.priority;
  auto kind = ready_.find(j.kind);
  if (kind == ready_.end()) kind = ready_.try_emplace(std::string{j.kind}).first;
  s.kind = &kind->first;
  if (!j.partition_key.empty()) {
    s.key = std::make_unique<std::string>(j.partition_key);
    if (heads_.emplace(*s.key, id).second) ++head_hashes_[stable_hash(*s.key)];
  }
  if (s.run_at_ms > now_ms) {
    s.state = slot_state::delayed;
    delayed_.emplace(s.run_at_ms, id);
  } else {
    make_ready(id, s);
  }
}

void partition_queue::make_ready(const job_id& id, slot& s) {
  s.state = slot_state::ready;
  ready_[*s.kind].emplace(rank{-static_cast<std::int64_t>(s.priority), s.seq}, &id);
  ++ready_total_;
}

std::optional<std::int64_t> partition_queue::promote_due(std::int64_t now_ms) {
  while (!delayed_.empty() && delayed_.begin()->first <= now_ms) {
    auto id = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    auto it = jobs_.find(id);
    if (it != jobs_.end() && it->second.state == slot_state::delayed)
      make_ready(it->first, it->second);
  }
  if (delayed_.empty()) return std::nullopt;
  return delayed_.begin()->first;
}

std::optional<job_id> partition_queue::take_next(const std::function<bool(const std::string&)>& has_credit) {
  const rank* best = nullptr;
  std::map<rank, const job_id*>* best_kind = nullptr;
  for (auto& [kind, ranked] : ready_) {
    if (ranked.empty() || !has_credit(kind)) continue;
    const auto& candidate = ranked.begin()->first;
    if (best == nullptr || candidate < *best) {
      best = &candidate;
      best_kind = &ranked;
    }
  }
  if (best_kind == nullptr) return std::nullopt;
  auto id = *best_kind->begin()->second;
  best_kind->erase(best_kind->begin());
  --ready_total_;
  jobs_.at(id).state = slot_state::running;
  ++running_;
  return id;
}

void partition_queue::hold(const job_id& id, job whole) {
  auto it = jobs_.find(id);
  if (it != jobs_.end()) it->second.whole = std::make_unique<job>(std::move(whole));
}

job* partition_queue::running_job(const job_id& id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second.whole.get();
}

std::optional<partition_queue::slot_state> partition_queue::state_of(const job_id& id) const {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second.state;
}

void partition_queue::unlink(const job_id& id, slot& s) {
  switch (s.state) {
    case slot_state::ready: {
      auto& ranked = ready_[*s.kind];
      if (ranked.erase(rank{-static_cast<std::int64_t>(s.priority), s.seq}) > 0) --ready_total_;
      break;
    }
    case slot_state::delayed: {
      auto range = delayed_.equal_range(s.run_at_ms);
      for (auto it = range.first; it != range.second; ++it)
        if (it->second == id) {
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
  unlink(it->first, s);
  s.whole.reset();
  s.run_at_ms = run_at_ms;
  if (run_at_ms > now_ms) {
    s.state = slot_state::delayed;
    delayed_.emplace(run_at_ms, id);
  } else {
    make_ready(it->first, s);
  }
}

void partition_queue::requeue(const job_id& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  unlink(it->first, it->second);
  it->second.whole.reset();
  make_ready(it->first, it->second);
}

std::optional<partition_queue::departed> partition_queue::remove(const job_id& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  unlink(it->first, it->second);
  departed out;
  out.seq = it->second.seq;
  if (it->second.key) out.partition_key = std::move(*it->second.key);
  jobs_.erase(it);
  if (!out.partition_key.empty()) {
    auto head = heads_.find(out.partition_key);
    if (head != heads_.end() && head->second == id) {
      heads_.erase(head);
      auto hash = head_hashes_.find(stable_hash(out.partition_key));
      if (hash != head_hashes_.end() && --hash->second == 0) head_hashes_.erase(hash);
    }
  }
  return out;
}

std::map<std::string, std::int64_t> partition_queue::oldest_ready_by_kind() const {
  std::map<std::string, std::int64_t> out;
  for (const auto& [id, s] : jobs_) {
    if (s.state != slot_state::ready || s.kind == nullptr) continue;
    auto [it, fresh] = out.emplace(*s.kind, s.run_at_ms);
    if (!fresh) it->second = std::min(it->second, s.run_at_ms);
  }
  return out;
}

} // namespace hypercore
