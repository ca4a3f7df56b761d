// SPDX-License-Identifier: Apache-2.0
#include "hypercore/telemetry/process_metrics.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

namespace hypercore::telemetry {

namespace {

prometheus::MetricFamily single(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

// The system's boot time (seconds since the epoch), for the start time.
double boot_time_seconds() {
  std::ifstream stat{"/proc/stat"};
  std::string key;
  double value = 0;
  while (stat >> key) {
    if (key == "btime" && stat >> value) return value;
    stat.ignore(1 << 20, '\n');
  }
  return 0;
}

} // namespace

std::vector<prometheus::MetricFamily> process_families() {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));

  // /proc/self/stat: the command may hold spaces and parentheses, so the
  // fields are counted from the last ')'.
  std::ifstream stat_file{"/proc/self/stat"};
  std::string stat{std::istreambuf_iterator<char>{stat_file}, {}};
  if (auto close = stat.rfind(')'); close != std::string::npos) {
    std::istringstream fields{stat.substr(close + 2)};
    std::string field;
    double utime = 0, stime = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
    // Field 3 (state) is the first after ')'; utime is 14, stime 15,
    // starttime 22, vsize 23, rss 24.
    for (int n = 3; fields >> field; ++n) {
      if (n == 14) utime = std::stod(field);
      else if (n == 15) stime = std::stod(field);
      else if (n == 22) start_ticks = std::stod(field);
      else if (n == 23) vsize = std::stod(field);
      else if (n == 24) {
        rss_pages = std::stod(field);
        break;
      }
    }
    out.push_back(single("process_cpu_seconds_total", "User and system CPU time spent, in seconds",
                         MetricType::Counter, (utime + stime) / ticks));
    out.push_back(single("process_start_time_seconds",
                         "Start time of the process since the epoch, in seconds", MetricType::Gauge,
                         boot_time_seconds() + start_ticks / ticks));
    out.push_back(single("process_virtual_memory_bytes", "Virtual memory size, in bytes",
                         MetricType::Gauge, vsize));
    out.push_back(single("process_resident_memory_bytes", "Resident memory size, in bytes",
                         MetricType::Gauge, rss_pages * page));
  }
  std::error_code ec;
  std::size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator{"/proc/self/fd", ec};
       !ec && it != std::filesystem::directory_iterator{}; it.increment(ec))
    ++fds;
  if (!ec)
    // The directory iterator's own descriptor is among them.
    out.push_back(single("process_open_fds", "Open file descriptors", MetricType::Gauge,
                         static_cast<double>(fds > 0 ? fds - 1 : 0)));
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0)
    out.push_back(single("process_max_fds", "Limit on open file descriptors", MetricType::Gauge,
                         static_cast<double>(limit.rlim_cur)));
  return out;
}

} // namespace hypercore::telemetry
