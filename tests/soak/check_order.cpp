// SPDX-License-Identifier: Apache-2.0
// Per-key order: jobs of one key that one client thread submitted one after
// the other must run one at a time in that order. What the job record makes
// observable, and is sound to compare:
//  - finished_at_ms is stamped when an attempt's outcome is decided, and the
//    key's next job can only start after that outcome is committed, so
//    finished(N+1) >= finished(N) (equal milliseconds are a tie, not a fault);
//  - a sleep job of S ms ran its last attempt for at least S ms after it
//    started, so finished(N+1) >= finished(N) + S, or N+1 overlapped N;
//  - every error entry of N+1 is stamped at the end of one of its attempts,
//    after it started, so at_ms >= finished(N).
// The sequence number in params (key_seq) is the submit order; timestamps
// only ever bound one job against its predecessor.
#include <algorithm>

#include "check_context.hpp"

namespace hypercore::soak {

namespace {

bool finished(const nlohmann::json* j) { return j != nullptr && j->contains("finished_at_ms"); }

void check_pair(check_context& c, const acked_job& a, const nlohmann::json& ja,
                const acked_job& b, const nlohmann::json& jb) {
  ++c.out.n.ordered_pairs;
  auto fa = int_of(ja, "finished_at_ms");
  auto fb = int_of(jb, "finished_at_ms");
  auto key = a.plan.partition_key;
  auto seqs = std::to_string(a.plan.key_seq) + " and " + std::to_string(b.plan.key_seq);
  auto gap = b.plan.cls == job_class::sleep ? b.plan.sleep_ms : 0;
  if (fb - fa < gap) {
    c.report("order", "key " + key + ", seq " + seqs + ": " + std::to_string(b.plan.key_seq)
                        + " finished " + std::to_string(fb - fa) + " ms after its predecessor"
                        + (gap > 0 ? " but slept " + std::to_string(gap) + " ms" : ""),
             {ja, jb});
    return;
  }
  for (const auto& e : jb["errors"])
    if (int_of(e, "at_ms") < fa) {
      c.report("order", "key " + key + ", seq " + seqs + ": an attempt of "
                          + std::to_string(b.plan.key_seq) + " ended "
                          + std::to_string(fa - int_of(e, "at_ms"))
                          + " ms before its predecessor finished",
               {ja, jb});
      return;
    }
}

} // namespace

void check_order(check_context& c) {
  std::map<std::string, std::vector<const acked_job*>> sequences;
  for (const auto& a : c.log.acked)
    if (!a.plan.partition_key.empty() && !a.id.empty())
      sequences[a.plan.partition_key].push_back(&a);
  for (auto& [key, seq] : sequences) {
    std::sort(seq.begin(), seq.end(),
              [](const acked_job* x, const acked_job* y) { return x->plan.key_seq < y->plan.key_seq; });
    for (std::size_t i = 1; i < seq.size(); ++i) {
      const auto* ja = c.job(seq[i - 1]->id);
      const auto* jb = c.job(seq[i]->id);
      // A job that is not terminal is reported elsewhere; compare around it.
      if (finished(ja) && finished(jb)) check_pair(c, *seq[i - 1], *ja, *seq[i], *jb);
    }
  }
}

} // namespace hypercore::soak
