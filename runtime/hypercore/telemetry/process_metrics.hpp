// SPDX-License-Identifier: Apache-2.0
#pragma once

// The process metrics Prometheus' client libraries conventionally export
// (process_resident_memory_bytes, process_open_fds, process_start_time_seconds,
// process_cpu_seconds_total, ...), read from /proc at scrape time.
// prometheus-cpp 1.0 has no process collector.

#include <vector>

#include <prometheus/metric_family.h>

namespace hypercore::telemetry {

/// The families for this process now; empty where /proc is unreadable.
std::vector<prometheus::MetricFamily> process_families();

} // namespace hypercore::telemetry
