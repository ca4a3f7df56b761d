// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <stdexcept>
#include <thread>

#include "hypercore/actors/submit_tickets.hpp"
#include "hypercore/core/errc.hpp"

using namespace hypercore;

namespace {

using clock_type = submit_tickets::clock_type;

// Records what a completion was run with, and how often.
struct seen {
  int runs = 0;
  caf::expected<append_receipt> last{caf::error{}};
  submit_tickets::completion record() {
    return [this](caf::expected<append_receipt> r) {
      ++runs;
      last = std::move(r);
    };
  }
};

append_receipt receipt_for(std::uint16_t partition) {
  append_receipt r;
  r.refs.push_back(job_ref{job_id::generate(), partition, 7, false, 0});
  return r;
}

const auto later = clock_type::now() + std::chrono::hours(1);

} // namespace

TEST_CASE("an answered ticket runs its completion once with its own receipt",
          "[unit][actors][submit]") {
  submit_tickets tickets;
  seen a, b;
  auto ta = tickets.open(a.record(), later, 1);
  auto tb = tickets.open(b.record(), later, 1);
  std::vector<ticket_answer> answers{{tb, {}, receipt_for(2)},
                                     {ta, make_error(errc::storage_full, "full"), {}}};

  tickets.answer(answers);
  tickets.answer(answers); // a second answer finds nothing open

  CHECK(a.runs == 1);
  REQUIRE_FALSE(a.last);
  CHECK(code_of(a.last.error()) == errc::storage_full);
  CHECK(b.runs == 1);
  REQUIRE(b.last);
  CHECK(b.last->refs.at(0).partition == 2);
  CHECK(tickets.open_count() == 0);
}

TEST_CASE("a withdrawn ticket is not run by a late answer", "[unit][actors][submit]") {
  submit_tickets tickets;
  seen a;
  auto t = tickets.open(a.record(), later, 1);

  CHECK(tickets.withdraw(t));
  std::vector<ticket_answer> answers{{t, {}, receipt_for(0)}};
  tickets.answer(answers);

  CHECK(a.runs == 0);
  CHECK_FALSE(tickets.withdraw(t));
}

TEST_CASE("a ticket answered first cannot be withdrawn", "[unit][actors][submit]") {
  submit_tickets tickets;
  seen a;
  auto t = tickets.open(a.record(), later, 1);
  std::vector<ticket_answer> answers{{t, {}, receipt_for(0)}};
  tickets.answer(answers);

  CHECK_FALSE(tickets.withdraw(t));
  CHECK(a.runs == 1);
}

TEST_CASE("only tickets past their deadline expire, with timeout", "[unit][actors][submit]") {
  submit_tickets tickets;
  seen due, not_due;
  auto now = clock_type::now();
  tickets.open(due.record(), now - std::chrono::milliseconds(1), 1);
  tickets.open(not_due.record(), now + std::chrono::seconds(5), 1);

  CHECK(tickets.expire(now) == 1);

  CHECK(due.runs == 1);
  REQUIRE_FALSE(due.last);
  CHECK(code_of(due.last.error()) == errc::timeout);
  CHECK(not_due.runs == 0);
  CHECK(tickets.open_count() == 1);
}

TEST_CASE("a journal going down fails only the tickets it was handed", "[unit][actors][submit]") {
  submit_tickets tickets;
  seen old_journal, new_journal;
  tickets.open(old_journal.record(), later, 10);
  tickets.open(new_journal.record(), later, 11);

  CHECK(tickets.fail_journal(10, make_error(errc::unavailable, "gone")) == 1);

  CHECK(old_journal.runs == 1);
  REQUIRE_FALSE(old_journal.last);
  CHECK(code_of(old_journal.last.error()) == errc::unavailable);
  CHECK(new_journal.runs == 0);

  CHECK(tickets.fail_all(make_error(errc::shutting_down, "stop")) == 1);
  CHECK(new_journal.runs == 1);
  CHECK(code_of(new_journal.last.error()) == errc::shutting_down);
}

TEST_CASE("a completion that throws does not stop the others", "[unit][actors][submit]") {
  submit_tickets tickets;
  seen after;
  auto bad = tickets.open([](caf::expected<append_receipt>) { throw std::runtime_error("boom"); },
                          later, 1);
  auto good = tickets.open(after.record(), later, 1);
  std::vector<ticket_answer> answers{{bad, {}, receipt_for(0)}, {good, {}, receipt_for(1)}};

  REQUIRE_NOTHROW(tickets.answer(answers));
  CHECK(after.runs == 1);
}

TEST_CASE("tickets opened from many threads are each answered once", "[unit][actors][submit]") {
  submit_tickets tickets;
  std::atomic<int> runs{0};
  std::vector<std::vector<std::uint64_t>> opened(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < opened.size(); ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i)
        opened[t].push_back(tickets.open([&](caf::expected<append_receipt>) { ++runs; }, later, 1));
    });
  for (auto& th : threads) th.join();
  std::vector<ticket_answer> answers;
  for (auto& list : opened)
    for (auto t : list) answers.push_back({t, {}, {}});

  tickets.answer(answers);

  CHECK(runs == 4000);
  CHECK(tickets.open_count() == 0);
}
