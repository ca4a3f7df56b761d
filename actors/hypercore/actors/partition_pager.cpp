// SPDX-License-Identifier: Apache-2.0
// The partition's pager: which jobs come from the store into memory, in
// which order, and when a timer wakes the partition for a scheduled one.
#include <algorithm>
#include <limits>

#include <spdlog/spdlog.h>

#include "hypercore/actors/partition_state.hpp"
#include "hypercore/core/routing.hpp"
#include "hypercore/persistence/store_call.hpp"
#include "hypercore/core/errc.hpp"

namespace hypercore::partition_detail {

using persistence::job_tables;

// Index entries one page-in may visit: a few windows' worth.
namespace {

std::size_t page_budget(std::size_t window) { return std::max<std::size_t>(4096, window * 4); }

} // namespace

// Loads the job that became a key's head after `after_seq` left.
void load_next_of_key(partition_self self, const partition_queue::departed& left) {
  auto& st = self->state;
  if (left.partition_key.empty()) return;
  auto read = persistence::read_tables(*st.links.env, [&](job_tables& t) {
    auto next = t.next_of_key(st.opts.index, stable_hash(left.partition_key), left.seq);
    if (!next || st.queue.contains(*next)) return;
    auto j = t.get_job_head(*next);
    if (j && !is_terminal(j->status)) st.queue.add(*j, st.now());
  });
  if (read) spdlog::error("partition {}: reading key chain failed: {}", st.opts.index, message_of(read));
}

// Pages in unkeyed jobs whose run_at has come (delayed submits and retries
// wait in the scheduled index, outside the window) and arms the timer for
// the next one.
// The scan starts at the beginning of the partition's range each time (no
// cursor): entries are written with run_at values that can tie or trail a
// cursor, and the due entries already held here are bounded by the window.
void page_in_scheduled(partition_self self, job_tables& t, std::int64_t now,
                       bool& stopped_full) {
  auto& st = self->state;
  if (st.scheduled_due_at > now) {
    // Not due yet; but its timer may never have been armed (arm_timer keeps
    // only the earliest pending timer), so arm it now that that one fired.
    if (st.scheduled_due_at != std::numeric_limits<std::int64_t>::max())
      arm_timer(self, st.scheduled_due_at);
    return;
  }
  t.scan_scheduled(st.opts.index, 0, 0, now,
                   [&](std::int64_t, std::uint64_t, const job_id& id) {
                     if (st.queue.contains(id) || st.cancelling.count(id) != 0) return true;
                     if (!st.queue.has_room()) {
                       stopped_full = true;
                       return false;
                     }
                     auto j = t.get_job_head(id);
                     if (j && !is_terminal(j->status)) st.queue.add(*j, now);
                     return true;
                   });
  if (stopped_full) return; // look again as soon as room frees up
  auto next = t.next_scheduled(st.opts.index, now + 1, 0);
  st.scheduled_due_at = next.value_or(std::numeric_limits<std::int64_t>::max());
  if (next) arm_timer(self, *next);
}

void note_scheduled(partition_self self, std::int64_t run_at) {
  auto& st = self->state;
  st.scheduled_due_at = std::min(st.scheduled_due_at, run_at);
  arm_timer(self, run_at);
}

// Pages pending jobs in, in seq order, while there is room. A page-in
// visits at most page_budget index entries: a backlog of a million jobs on
// busy keys is passed over in slices between other messages, not in one
// long handler, and their records are not read (the entry names the key).
void page_in(partition_self self) {
  auto& st = self->state;
  std::size_t visited = 0;
  bool budget_spent = false;
  auto read = persistence::read_tables(*st.links.env, [&](job_tables& t) {
    auto now = st.now();
    bool stopped_full = false;
    page_in_scheduled(self, t, now, stopped_full);
    if (!stopped_full)
    t.scan_pending(st.opts.index, st.cursor, [&](const persistence::pending_entry& e) {
      if (!st.queue.has_room()) {
        stopped_full = true;
        return false;
      }
      if (++visited > page_budget(st.opts.window)) {
        budget_spent = true;
        return false;
      }
      st.cursor = e.seq;
      if (st.queue.contains(e.id) || st.cancelling.count(e.id) != 0) return true;
      // Not the head of its key: the key's chain brings it in later.
      if (e.key_hash && st.queue.key_hash_busy(*e.key_hash)) return true;
      // Only the head: params and history are read when the job starts.
      auto j = t.get_job_head(e.id);
      ++st.records_paged;
      if (!j || is_terminal(j->status)) return true;
      if (!j->partition_key.empty() && st.queue.key_busy(j->partition_key)) return true;
      st.queue.add(*j, now);
      return true;
    });
    st.backlog = stopped_full || budget_spent;
  });
  if (read) spdlog::error("partition {}: paging in failed: {}", st.opts.index, message_of(read));
  // Go on with the next slice after whatever else is in the mailbox.
  if (budget_spent) self->send(self, work_atom::value, std::uint64_t{0}, std::int64_t{0});
}

void arm_timer(partition_self self, std::int64_t run_at) {
  auto& st = self->state;
  if (st.timer_at && *st.timer_at <= run_at) return;
  st.timer_at = run_at;
  auto delay = std::max<std::int64_t>(0, run_at - self->state.now());
  self->delayed_send(self, std::chrono::milliseconds(delay), tick_atom::value);
}

// Jobs up to `seq` were journaled here (scheduled_at > 0: one waits in the
// scheduled index until then): page them in if there is room.
void on_new_work(partition_self self, std::uint64_t seq, std::int64_t scheduled_at) {
  auto& s = self->state;
  if (scheduled_at > 0) note_scheduled(self, scheduled_at);
  if (s.queue.has_room()) page_in(self);
  else if (seq > s.cursor) s.backlog = true;
  dispatch(self);
}

// Whatever may have been missed is in the store: look at both indexes again.
void look_again(partition_self self) {
  auto& s = self->state;
  s.scheduled_due_at = 0;
  s.backlog = true;
  on_new_work(self, std::numeric_limits<std::uint64_t>::max(), 0);
}

} // namespace hypercore::partition_detail
