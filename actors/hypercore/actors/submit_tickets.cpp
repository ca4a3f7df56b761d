// SPDX-License-Identifier: Apache-2.0
#include "hypercore/actors/submit_tickets.hpp"

#include <exception>

#include <spdlog/spdlog.h>

#include "hypercore/core/errc.hpp"

namespace hypercore {

namespace {

// A completion that throws must not take the others (or the answerer)
// with it.
void run(submit_tickets::completion& done, caf::expected<append_receipt> result) {
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    spdlog::error("submit: answering a submit failed: {}", e.what());
  } catch (...) {
    spdlog::error("submit: answering a submit failed with a non-standard exception");
  }
}

} // namespace

std::uint64_t submit_tickets::open(completion done, clock_type::time_point deadline,
                                   std::uint64_t journal) {
  auto ticket = next_.fetch_add(1, std::memory_order_relaxed);
  auto& s = shard_of(ticket);
  {
    std::lock_guard<std::mutex> guard{s.mutex};
    s.open.emplace(ticket, entry{std::move(done), deadline, journal});
  }
  // Checked after the entry is in: fail_journal() and close() publish their
  // flag before they scan, so a ticket is either in the scan or sees the
  // flag here (the shard's mutex orders the two); whichever takes the entry
  // out runs its completion.
  caf::error refused;
  if (closed_.load())
    refused = make_error(errc::shutting_down, "the engine shut down before this submit was sent; "
                                              "retry");
  else if (journal <= newest_dead_journal_.load())
    refused = make_error(errc::unavailable, "the journal stopped before this submit was sent; "
                                            "retry shortly");
  if (!refused) return ticket;
  completion taken;
  {
    std::lock_guard<std::mutex> guard{s.mutex};
    auto it = s.open.find(ticket);
    if (it == s.open.end()) return 0; // a scan took it and runs its completion
    taken = std::move(it->second.done);
    s.open.erase(it);
  }
  run(taken, std::move(refused));
  return 0;
}

bool submit_tickets::withdraw(std::uint64_t ticket) {
  auto& s = shard_of(ticket);
  std::lock_guard<std::mutex> guard{s.mutex};
  return s.open.erase(ticket) > 0;
}

void submit_tickets::answer(std::vector<ticket_answer>& answers) {
  std::vector<std::pair<completion, ticket_answer*>> ready;
  ready.reserve(answers.size());
  // One lock per shard per commit, not one per submit.
  for (std::size_t i = 0; i < shard_count; ++i) {
    auto& s = shards_[i];
    std::lock_guard<std::mutex> guard{s.mutex};
    for (auto& a : answers) {
      if (a.ticket % shard_count != i) continue;
      auto it = s.open.find(a.ticket);
      if (it == s.open.end()) continue;
      ready.emplace_back(std::move(it->second.done), &a);
      s.open.erase(it);
    }
  }
  for (auto& [done, a] : ready) {
    if (a->err) run(done, std::move(a->err));
    else run(done, std::move(a->receipt));
  }
}

template <class Pick>
std::size_t submit_tickets::fail_where(Pick pick, const caf::error& why) {
  std::vector<completion> failed;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s.mutex};
    for (auto it = s.open.begin(); it != s.open.end();) {
      if (pick(it->second)) {
        failed.push_back(std::move(it->second.done));
        it = s.open.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& done : failed) run(done, why);
  return failed.size();
}

std::size_t submit_tickets::expire(clock_type::time_point now) {
  return fail_where([now](const entry& e) { return e.deadline <= now; },
                    make_error(errc::timeout, "timed out waiting for the journal's answer"));
}

std::size_t submit_tickets::fail_journal(std::uint64_t journal, const caf::error& why) {
  auto newest = newest_dead_journal_.load();
  while (newest < journal && !newest_dead_journal_.compare_exchange_weak(newest, journal)) {}
  return fail_where([journal](const entry& e) { return e.journal == journal; }, why);
}

std::size_t submit_tickets::close(const caf::error& why) {
  closed_.store(true);
  return fail_where([](const entry&) { return true; }, why);
}

void submit_tickets::reopen() {
  newest_dead_journal_.store(0);
  closed_.store(false);
}

std::size_t submit_tickets::open_count() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> guard{s.mutex};
    n += s.open.size();
  }
  return n;
}

} // namespace hypercore
