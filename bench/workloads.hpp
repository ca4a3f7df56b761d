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

/// Workload 7: the HTTP edge (wrk, an open loop at 1,000 req/s, a client
/// beside 1,000 idle connections, 10,000 open event streams whose clients
/// run in a child process: `self_exe --sse-clients PORT --sse-ids FILE`).
std::vector<figure> run_http_edge(const bench_options& opts, const std::string& self_exe);

/// The child of sse-10k: opens one stream per id in `ids_file`, prints
/// "open N" once all have their response head and "done K" once all ended
/// (K: those that saw their job succeed).
int run_sse_clients(int port, const std::string& ids_file);

/// The denominators: LMDB group commit alone and CAF messaging alone.
std::vector<figure> run_limits(const bench_options& opts);

} // namespace hypercore::bench
