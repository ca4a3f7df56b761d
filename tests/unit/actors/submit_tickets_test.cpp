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

  CHECK(tickets.close(make_error(errc::shutting_down, "stop")) == 1);
  CHECK(new_journal.runs == 1);
  CHECK(code_of(new_journal.last.error()) == errc::shutting_down);
}

TEST_CASE("a ticket opened against a journal already seen down is refused at once",
          "[unit][actors][submit]") {
  submit_tickets tickets;
  tickets.fail_journal(10, make_error(errc::unavailable, "gone"));
  seen same, older, newer;

  // The engine read the journal's handle before the supervisor replaced it.
  CHECK(tickets.open(same.record(), later, 10) == 0);
  CHECK(tickets.open(older.record(), later, 9) == 0);
  auto live = tickets.open(newer.record(), later, 11);

  CHECK(same.runs == 1);
  REQUIRE_FALSE(same.last);
  CHECK(code_of(same.last.error()) == errc::unavailable);
  CHECK(older.runs == 1);
  CHECK(code_of(older.last.error()) == errc::unavailable);
  CHECK(live != 0);
  CHECK(newer.runs == 0);
  CHECK(tickets.open_count() == 1);
}

TEST_CASE("a ticket opened after close is refused at once, until reopen",
          "[unit][actors][submit]") {
  submit_tickets tickets;
  tickets.close(make_error(errc::shutting_down, "stop"));
  seen late;

  CHECK(tickets.open(late.record(), later, 1) == 0);
  CHECK(late.runs == 1);
  REQUIRE_FALSE(late.last);
  CHECK(code_of(late.last.error()) == errc::shutting_down);
  CHECK(tickets.open_count() == 0);

  // A new start: a new actor system, whose journal ids start over.
  tickets.fail_journal(5, make_error(errc::unavailable, "gone"));
  tickets.reopen();
  seen fresh;
  CHECK(tickets.open(fresh.record(), later, 1) != 0);
  CHECK(fresh.runs == 0);
  CHECK(tickets.open_count() == 1);
}

TEST_CASE("tickets opened while the journal goes down are each failed once",
          "[unit][actors][submit]") {
  // open() racing fail_journal(): every ticket ends exactly once, whether
  // the scan took it or open() saw the flag.
  for (int round = 0; round < 50; ++round) {
    submit_tickets tickets;
    std::atomic<int> runs{0};
    std::atomic<int> opened{0};
    std::thread opener([&] {
      for (int i = 0; i < 200; ++i) {
        tickets.open([&](caf::expected<append_receipt>) { ++runs; }, later, 3);
        ++opened;
      }
    });
    // Mid-way, so the scan takes some tickets and open() refuses the rest.
    while (opened.load() < 20 + round * 3) std::this_thread::yield();
    tickets.fail_journal(3, make_error(errc::unavailable, "gone"));
    opener.join();
    CHECK(runs.load() == 200);
    CHECK(tickets.open_count() == 0);
  }
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
