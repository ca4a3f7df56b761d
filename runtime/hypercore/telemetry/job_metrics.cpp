// SPDX-License-Identifier: Apache-2.0
#include "hypercore/telemetry/job_metrics.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <limits>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include <prometheus/counter.h>
#include <spdlog/spdlog.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "hypercore/core/clock.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/engine.hpp"
#include "hypercore/telemetry/process_metrics.hpp"

namespace hypercore::telemetry {

namespace {

using prometheus::Counter;
using prometheus::Histogram;

// From a millisecond to an hour: agent work spans model calls of seconds
// and jobs delayed for minutes.
const Histogram::BucketBoundaries seconds_buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,   0.25,   0.5,   1,    2.5,   5,
                                                  10,    30,     60,    300,  900,   3600};

const std::string unregistered_kind = "unregistered";

// The metrics of one kind, looked up once: Family::Add takes a lock and
// hashes the labels.
struct kind_metrics {
  Counter* submitted = nullptr;
  Counter* succeeded = nullptr;
  Counter* failed_retryable = nullptr;
  Counter* failed_permanent = nullptr;
  Counter* retried = nullptr;
  Counter* dead = nullptr;
  Counter* cancelled = nullptr;
  Counter* replayed = nullptr;
  Histogram* wait = nullptr;
  Histogram* run = nullptr;
};

prometheus::MetricFamily gauge_family(std::string name, std::string help,
                                      prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add_value(prometheus::MetricFamily& f, double value,
               std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == prometheus::MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

template <std::size_t N>
prometheus::MetricFamily histogram_family(std::string name, std::string help,
                                          const commit_meter::histogram& h,
                                          const std::array<double, N>& bounds) {
  auto f = gauge_family(std::move(name), std::move(help), prometheus::MetricType::Histogram);
  prometheus::ClientMetric m;
  m.histogram.sample_count = h.count;
  m.histogram.sample_sum = h.sum;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    m.histogram.bucket.push_back(
      {cumulative, i < N ? bounds[i] : std::numeric_limits<double>::infinity()});
  }
  f.metric.push_back(std::move(m));
  return f;
}

std::uint64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

double seconds_between(std::int64_t from_ms, std::int64_t to_ms) {
  return static_cast<double>(std::max<std::int64_t>(0, to_ms - from_ms)) / 1000.0;
}

} // namespace

struct job_metrics::impl {
  engine& eng;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<Counter>& submitted =
    prometheus::BuildCounter().Name("hypercore_jobs_submitted_total")
      .Help("Jobs created: submitted, or made as a follow-up by a parent's success").Register(*registry);
  prometheus::Family<Counter>& succeeded =
    prometheus::BuildCounter().Name("hypercore_jobs_succeeded_total")
      .Help("Jobs that succeeded").Register(*registry);
  prometheus::Family<Counter>& failed =
    prometheus::BuildCounter().Name("hypercore_jobs_failed_attempts_total")
      .Help("Attempts that failed, by whether the error was retryable").Register(*registry);
  prometheus::Family<Counter>& retried =
    prometheus::BuildCounter().Name("hypercore_jobs_retried_total")
      .Help("Failed attempts followed by a retry").Register(*registry);
  prometheus::Family<Counter>& dead =
    prometheus::BuildCounter().Name("hypercore_jobs_dead_total")
      .Help("Jobs that became dead letters").Register(*registry);
  prometheus::Family<Counter>& cancelled =
    prometheus::BuildCounter().Name("hypercore_jobs_cancelled_total")
      .Help("Jobs cancelled").Register(*registry);
  prometheus::Family<Counter>& replayed =
    prometheus::BuildCounter().Name("hypercore_jobs_replayed_total")
      .Help("Dead letters replayed").Register(*registry);
  prometheus::Family<Histogram>& wait =
    prometheus::BuildHistogram().Name("hypercore_job_wait_seconds")
      .Help("From when an attempt could run (created, delayed or retry time) to its start")
      .Register(*registry);
  prometheus::Family<Histogram>& run =
    prometheus::BuildHistogram().Name("hypercore_job_run_seconds")
      .Help("From an attempt's start to its outcome").Register(*registry);
  prometheus::Family<Counter>& lost =
    prometheus::BuildCounter().Name("hypercore_metrics_lost_transitions_total")
      .Help("Transitions these metrics missed: the event log no longer held them when the "
            "metrics subscription caught up").Register(*registry);
  Counter& lost_count = lost.Add({});
  std::atomic<std::uint64_t> cpu_ns{0};

  // Touched only by the subscription's callbacks, which run one at a time.
  std::unordered_map<std::string, kind_metrics> kinds;
  std::unordered_map<job_id, std::int64_t, job_id_hash> started_at_ms;

  // The queue depths: seeded from engine::backlog(), then followed.
  std::mutex depth_mutex;
  bool depth_valid = false;
  std::unordered_map<std::string, std::int64_t> waiting_by_kind;
  std::unordered_map<std::string, std::int64_t> dead_by_kind;
  std::vector<std::int64_t> waiting_by_partition;

  void seed(const backlog_counts& b) {
    std::lock_guard<std::mutex> guard{depth_mutex};
    waiting_by_kind.clear();
    dead_by_kind.clear();
    for (const auto& [kind, _] : kinds) {
      waiting_by_kind[kind] = 0;
      dead_by_kind[kind] = 0;
    }
    auto label = [&](const std::string& kind) -> const std::string& {
      return kinds.count(kind) != 0 ? kind : unregistered_kind;
    };
    for (const auto& [kind, n] : b.waiting_by_kind) waiting_by_kind[label(kind)] += static_cast<std::int64_t>(n);
    for (const auto& [kind, n] : b.dead_by_kind) dead_by_kind[label(kind)] += static_cast<std::int64_t>(n);
    waiting_by_partition.assign(b.waiting_by_partition.begin(), b.waiting_by_partition.end());
    depth_valid = true;
  }

  void add_depth_families(std::vector<prometheus::MetricFamily>& out) {
    std::lock_guard<std::mutex> guard{depth_mutex};
    if (!depth_valid) return;
    auto by_kind = gauge_family("hypercore_jobs_pending",
                                "Jobs waiting to run (pending, delayed or retrying), by kind or "
                                "by partition");
    for (const auto& [kind, n] : waiting_by_kind)
      add_value(by_kind, static_cast<double>(n), {{"kind", kind}});
    for (std::size_t p = 0; p < waiting_by_partition.size(); ++p)
      add_value(by_kind, static_cast<double>(waiting_by_partition[p]),
                {{"partition", std::to_string(p)}});
    out.push_back(std::move(by_kind));
    auto dead_letters = gauge_family("hypercore_dead_letters",
                                     "Dead letters in the store, by kind (for an alert threshold)");
    for (const auto& [kind, n] : dead_by_kind)
      add_value(dead_letters, static_cast<double>(n), {{"kind", kind}});
    out.push_back(std::move(dead_letters));
  }

  subscription sub;
  /// Positions below this are in the seeded depths (engine::backlog).
  std::uint64_t floor = 0;
  /// The subscription ended (the feed was replaced, or the engine stops):
  /// the next scrape subscribes again from where the counting stopped.
  std::atomic<bool> ended{false};
  std::mutex subscribe_mutex;
  mutable std::mutex seen_mutex;
  mutable std::condition_variable seen_changed;
  std::uint64_t seen = 0;

  caf::error subscribe_from(std::uint64_t position);
  void resubscribe_if_ended();

  explicit impl(engine& e) : eng(e) {
    for (const auto& a : eng.agents()) add_kind(a.kind);
    add_kind(unregistered_kind);
  }

  void add_kind(const std::string& kind) {
    prometheus::Labels by_kind{{"kind", kind}};
    kind_metrics k;
    k.submitted = &submitted.Add(by_kind);
    k.succeeded = &succeeded.Add(by_kind);
    k.failed_retryable = &failed.Add({{"kind", kind}, {"retryable", "true"}});
    k.failed_permanent = &failed.Add({{"kind", kind}, {"retryable", "false"}});
    k.retried = &retried.Add(by_kind);
    k.dead = &dead.Add(by_kind);
    k.cancelled = &cancelled.Add(by_kind);
    k.replayed = &replayed.Add(by_kind);
    k.wait = &wait.Add(by_kind, seconds_buckets);
    k.run = &run.Add(by_kind, seconds_buckets);
    kinds.emplace(kind, k);
  }

  // Kinds are registered before start, so the map is complete and read-only
  // from then on.
  kind_metrics& metrics_of(const std::string& kind) {
    auto it = kinds.find(kind);
    return it != kinds.end() ? it->second : kinds.at(unregistered_kind);
  }

  static bool waiting(job_status s) { return s == job_status::pending || s == job_status::retrying; }

  // The queue-depth gauges; the caller holds depth_mutex.
  void follow_depth(const transition& t) {
    if (!depth_valid) return;
    const auto& kind = kinds.count(t.kind) != 0 ? t.kind : unregistered_kind;
    auto move = [&](std::int64_t by) {
      waiting_by_kind[kind] += by;
      if (t.partition < waiting_by_partition.size()) waiting_by_partition[t.partition] += by;
    };
    bool created = t.cause == transition_cause::submitted || t.cause == transition_cause::followup;
    if (t.cause == transition_cause::purged) {
      if (t.from == job_status::dead) --dead_by_kind[kind];
      return;
    }
    if (created) {
      if (waiting(t.to)) move(+1);
      return;
    }
    if (waiting(t.from) && !waiting(t.to)) move(-1);
    else if (!waiting(t.from) && waiting(t.to)) move(+1);
    if (t.to == job_status::dead && t.from != job_status::dead) ++dead_by_kind[kind];
    else if (t.from == job_status::dead && t.to != job_status::dead) --dead_by_kind[kind];
  }

  void count(const transition& t) {
    if (t.cause == transition_cause::session_written || t.cause == transition_cause::session_deleted)
      return;
    follow_depth(t);
    if (t.cause == transition_cause::purged) return;
    auto& k = metrics_of(t.kind);
    switch (t.cause) {
      case transition_cause::submitted:
      case transition_cause::followup:
        k.submitted->Increment();
        break;
      case transition_cause::replayed:
        k.replayed->Increment();
        break;
      case transition_cause::started:
        // running -> running: the attempt before was cut by a restart (the
        // store says "interrupted"); it failed, and may be retried.
        if (t.from == job_status::running) k.failed_retryable->Increment();
        else k.wait->Observe(seconds_between(std::max(t.created_at_ms, t.run_at_ms), t.at_ms));
        started_at_ms[t.id] = t.at_ms;
        break;
      default:
        break;
    }
    if (t.cause == transition_cause::outcome && t.from == job_status::running) {
      if (auto it = started_at_ms.find(t.id); it != started_at_ms.end()) {
        k.run->Observe(seconds_between(it->second, t.at_ms));
        started_at_ms.erase(it);
      }
      bool failed_attempt = !t.error.empty()
                            && (t.to == job_status::retrying || t.to == job_status::dead);
      if (failed_attempt) (t.retryable ? k.failed_retryable : k.failed_permanent)->Increment();
    }
    if (t.from == t.to && t.cause != transition_cause::outcome) return; // a new job
    switch (t.to) {
      case job_status::succeeded: k.succeeded->Increment(); break;
      case job_status::retrying: k.retried->Increment(); break;
      case job_status::dead: k.dead->Increment(); break;
      case job_status::cancelled: k.cancelled->Increment(); break;
      default: break;
    }
  }

  void delivered(const std::vector<transition>& batch) {
    // What counting costs, measured on the counting thread itself: the
    // share of the process' CPU that metrics take, free of run-to-run noise.
    auto cpu_began = thread_cpu_ns();
    {
      std::lock_guard<std::mutex> guard{depth_mutex};
      // The snapshot may hold a commit the feed had not published yet when
      // the subscription began: it then arrives live, and is counted already.
      for (const auto& t : batch)
        if (t.position >= floor) count(t);
    }
    cpu_ns.fetch_add(thread_cpu_ns() - cpu_began, std::memory_order_relaxed);
    if (batch.empty()) return;
    {
      std::lock_guard<std::mutex> guard{seen_mutex};
      seen = std::max(seen, batch.back().position);
    }
    seen_changed.notify_all();
  }

  void lost_range(std::uint64_t from, std::uint64_t to) {
    lost_count.Increment(static_cast<double>(to - from));
    {
      // The depths can no longer be followed: they are left out from now on
      // rather than shown wrong.
      std::lock_guard<std::mutex> guard{depth_mutex};
      depth_valid = false;
    }
    // Attempts whose outcome was in the range would stay here forever.
    started_at_ms.clear();
    {
      std::lock_guard<std::mutex> guard{seen_mutex};
      seen = std::max(seen, to - 1);
    }
    seen_changed.notify_all();
  }

  // What engine::stats() and the engine's configuration say now.
  void add_engine_families(std::vector<prometheus::MetricFamily>& out) {
    auto s = eng.stats();
    auto busy = gauge_family("hypercore_agents_busy", "Attempts an agent of the kind holds now");
    auto workers = gauge_family("hypercore_agent_workers", "Workers of the kind's pool");
    auto queued = gauge_family("hypercore_agent_queued",
                               "Attempts handed to the kind's pool, waiting for a free worker");
    auto restarts = gauge_family("hypercore_agent_restarts_total",
                                 "Workers of the kind replaced after a crash or a timeout",
                                 prometheus::MetricType::Counter);
    auto paused = gauge_family("hypercore_kind_paused",
                               "1 while the kind's restarts are paused: it crashed more than its "
                               "restart intensity allows");
    auto oldest = gauge_family("hypercore_oldest_pending_age_seconds",
                               "How long the kind's oldest job ready to run has waited (0: none "
                               "waits)");
    const auto now_ms = eng.config().clock ? eng.config().clock() : hypercore::now_ms();
    for (const auto& k : s.kinds) {
      std::vector<prometheus::ClientMetric::Label> by_kind{{"kind", k.kind}};
      add_value(busy, static_cast<double>(k.executing), by_kind);
      add_value(workers, static_cast<double>(k.workers), by_kind);
      add_value(queued, static_cast<double>(k.queued), by_kind);
      add_value(restarts, static_cast<double>(k.restarts), by_kind);
      add_value(paused, k.paused ? 1 : 0, by_kind);
      add_value(oldest, k.oldest_ready_ms == 0 ? 0 : seconds_between(k.oldest_ready_ms, now_ms),
                by_kind);
    }
    out.push_back(std::move(busy));
    out.push_back(std::move(workers));
    out.push_back(std::move(queued));
    out.push_back(std::move(restarts));
    out.push_back(std::move(paused));
    out.push_back(std::move(oldest));
    auto single = [&](std::string name, std::string help, double value,
                      prometheus::MetricType type = prometheus::MetricType::Gauge) {
      auto f = gauge_family(std::move(name), std::move(help), type);
      add_value(f, value);
      out.push_back(std::move(f));
    };
    using prometheus::MetricType;
    single("hypercore_jobs_running", "Jobs with an attempt in progress", static_cast<double>(s.running));
    single("hypercore_jobs_waiting", "Jobs pending, delayed or waiting for a retry, in the store",
           static_cast<double>(s.waiting));
    single("hypercore_dead_letters_stored", "Dead letters in the store, all kinds",
           static_cast<double>(s.dead_letters));
    single("hypercore_sessions_live",
           "Sessions in the store (an expired one is removed within a minute)",
           static_cast<double>(s.sessions));
    single("hypercore_jobs_resident", "Jobs held in the partitions' windows",
           static_cast<double>(s.resident));
    single("hypercore_submits_in_flight", "Submits handed to the journal and not answered yet",
           static_cast<double>(eng.submits_in_flight()));
    single("hypercore_journal_commits_total", "Write transactions the journal committed",
           static_cast<double>(s.commits), MetricType::Counter);
    single("hypercore_journal_records_total", "Commands the journal wrote",
           static_cast<double>(s.records), MetricType::Counter);
    single("hypercore_core_restarts_total", "Core actors the supervisor replaced",
           static_cast<double>(s.core_restarts), MetricType::Counter);
    single("hypercore_feed_published_total", "Transitions the commit feed published",
           static_cast<double>(s.feed_published), MetricType::Counter);
    single("hypercore_feed_gaps_total",
           "Times a feed subscriber fell behind and caught up from the event log (all "
           "subscribers: streams are subscribers, so a per-subscriber label would be unbounded)",
           static_cast<double>(s.feed_gaps), MetricType::Counter);
    single("hypercore_feed_subscribers", "Live feed subscriptions",
           static_cast<double>(s.feed_subscribers));
    single("hypercore_metrics_cpu_seconds_total",
           "CPU time these metrics spent counting transitions (compare with "
           "process_cpu_seconds_total)",
           static_cast<double>(cpu_ns.load(std::memory_order_relaxed)) / 1e9, MetricType::Counter);
    out.push_back(histogram_family("hypercore_journal_commit_seconds",
                                   "A write transaction: applying its commands, committing and "
                                   "flushing",
                                   s.commit_seconds, commit_meter::seconds_bounds));
    out.push_back(histogram_family("hypercore_journal_batch_records",
                                   "Commands in one write transaction (the group commit's size)",
                                   s.commit_records, commit_meter::records_bounds));
  }
};

job_metrics::job_metrics(engine& eng) : impl_(std::make_unique<impl>(eng)) {}

job_metrics::~job_metrics() { stop(); }

caf::error job_metrics::impl::subscribe_from(std::uint64_t position) {
  subscription_hooks hooks;
  hooks.on_transitions = [this](const std::vector<transition>& batch) { delivered(batch); };
  hooks.on_lost = [this](std::uint64_t from, std::uint64_t to) { lost_range(from, to); };
  hooks.on_end = [this] { ended = true; };
  subscribe_options how;
  how.capacity = 65536;
  how.resume_from = position;
  auto subscribed = eng.subscribe(feed_filter{}, std::move(hooks), how);
  if (!subscribed) return subscribed.error();
  sub = std::move(*subscribed);
  ended = false;
  return {};
}

void job_metrics::impl::resubscribe_if_ended() {
  if (!ended) return;
  std::lock_guard<std::mutex> guard{subscribe_mutex};
  if (!ended) return;
  std::uint64_t next = 0;
  {
    std::lock_guard<std::mutex> seen_guard{seen_mutex};
    next = seen + 1;
  }
  // The event log supplies what the replaced feed did not deliver; what it
  // no longer holds comes back as a lost range.
  if (auto err = subscribe_from(next))
    spdlog::warn("metrics: cannot follow the feed again yet: {}", message_of(err));
}

caf::error job_metrics::start() {
  auto& m = *impl_;
  std::lock_guard<std::mutex> guard{m.subscribe_mutex};
  // The depths start from one snapshot and follow the transitions after it,
  // read from the event log up to the live feed.
  auto backlog = m.eng.backlog();
  if (!backlog) return backlog.error();
  m.seed(*backlog);
  m.floor = backlog->position;
  {
    // Everything below the snapshot is in the depths already.
    std::lock_guard<std::mutex> seen_guard{m.seen_mutex};
    m.seen = backlog->position - 1;
  }
  return m.subscribe_from(backlog->position);
}

void job_metrics::stop() {
  std::lock_guard<std::mutex> guard{impl_->subscribe_mutex};
  impl_->sub.reset();
  impl_->ended = false; // stopped on purpose: no resubscription
}

std::vector<prometheus::MetricFamily> job_metrics::collect() {
  impl_->resubscribe_if_ended();
  auto out = impl_->registry->Collect();
  impl_->add_engine_families(out);
  impl_->add_depth_families(out);
  for (auto& f : process_families()) out.push_back(std::move(f));
  return out;
}

double job_metrics::cpu_seconds() const {
  return static_cast<double>(impl_->cpu_ns.load(std::memory_order_relaxed)) / 1e9;
}

std::uint64_t job_metrics::seen_position() const {
  std::lock_guard<std::mutex> guard{impl_->seen_mutex};
  return impl_->seen;
}

bool job_metrics::wait_seen(std::uint64_t position, std::chrono::milliseconds timeout) const {
  auto& m = *impl_;
  std::unique_lock<std::mutex> lock{m.seen_mutex};
  return m.seen_changed.wait_for(lock, timeout, [&] { return m.seen + 1 >= position; });
}

std::string to_text(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, families);
  return out.str();
}

} // namespace hypercore::telemetry
