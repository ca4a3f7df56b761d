// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <vector>

#include "bench_support.hpp"

namespace hypercore::bench {

/// Hypercore's own workloads (1-5 of bench/README.md), each run opts.runs
/// times on a fresh data directory, durable unless `sync` is false.
std::vector<figure> run_throughput(const bench_options& opts, bool sync);
std::vector<figure> run_latency(const bench_options& opts, bool sync);
std::vector<figure> run_chains(const bench_options& opts, bool sync);
std::vector<figure> run_recovery(const bench_options& opts);
std::vector<figure> run_memory(const bench_options& opts);

/// Workload 6: submits through the HTTP API, one job and 100 jobs per request.
std::vector<figure> run_http(const bench_options& opts, bool sync);

/// The denominators: LMDB group commit alone and CAF messaging alone.
std::vector<figure> run_limits(const bench_options& opts);

} // namespace hypercore::bench
