// SPDX-License-Identifier: Apache-2.0
// hypercore-bench: Hypercore's workloads, the limits of LMDB and CAF measured
// in the same run, and (when given) a peer's results, printed as a table and
// written as bench/results/latest.json (shape documented in bench/README.md).
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "workloads.hpp"

using namespace hypercore::bench;
using nlohmann::json;

namespace {

std::string read_first_line(const std::string& path, const std::string& prefix) {
  std::ifstream in{path};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return line.substr(line.find(':') + 1);
  return {};
}

json machine_info() {
  auto model = read_first_line("/proc/cpuinfo", "model name");
  auto mem = read_first_line("/proc/meminfo", "MemTotal");
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    return s;
  };
  return {{"cores", std::thread::hardware_concurrency()},
          {"cpu", trim(model)},
          {"memory", trim(mem)},
          {"disk", "the scratch directory's filesystem (see --scratch)"}};
}

std::string today() {
  auto t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

const json* find(const json& results, const std::string& system, const std::string& workload,
                 const std::string& metric, bool durable) {
  for (const auto& r : results)
    if (r["system"] == system && r["workload"] == workload && r["metric"] == metric
        && r["durable"] == durable)
      return &r;
  return nullptr;
}

void print_table(const json& results) {
  std::cout << std::left << std::setw(20) << "workload" << std::setw(22) << "metric"
            << std::setw(9) << "durable" << std::right << std::setw(14) << "hypercore"
            << std::setw(14) << "limit-lmdb" << std::setw(10) << "fraction" << std::setw(16)
            << "bullmq-always" << std::setw(10) << "ratio" << std::setw(18)
            << "bullmq-everysec" << std::setw(10) << "ratio" << '\n';
  for (const auto& r : results) {
    if (r["system"] != "hypercore") continue;
    auto w = r["workload"].get<std::string>();
    auto m = r["metric"].get<std::string>();
    bool d = r["durable"].get<bool>();
    double value = r["median"].get<double>();
    std::cout << std::left << std::setw(20) << w << std::setw(22) << m << std::setw(9)
              << (d ? "yes" : "no") << std::right << std::fixed << std::setprecision(2)
              << std::setw(14) << value;
    auto ratio_cell = [&](const json* other, int width) {
      std::cout << std::setw(width) << (other ? other->at("median").get<double>() : 0.0);
      if (other == nullptr || other->at("median").get<double>() == 0) {
        std::cout << std::setw(10) << "-";
        return;
      }
      double o = other->at("median").get<double>();
      // Higher is better for rates, lower for times: ratio > 1 means ours is better.
      bool rate = m.find("_per_s") != std::string::npos;
      std::cout << std::setw(10) << (rate ? value / o : o / value);
    };
    if (m == "jobs_per_s") ratio_cell(find(results, "limit-lmdb", "throughput-batch", "jobs_per_s", true), 14);
    else std::cout << std::setw(14) << "-" << std::setw(10) << "-";
    ratio_cell(find(results, "bullmq-always", w, m, true), 16);
    ratio_cell(find(results, "bullmq-everysec", w, m, false), 18);
    std::cout << '\n';
  }
}

// One row per rate workload: hypercore, bullmq-always, bullmq-everysec
// (durable figures; 0 where a system was not measured).
void write_plot_data(const json& results, const std::string& path) {
  std::ofstream out{path};
  out << "workload hypercore bullmq-always bullmq-everysec\n";
  // Single submits over HTTP are drawn beside BullMQ's single `add`, the
  // comparison issue 10 names.
  struct row {
    const char* workload;
    const char* metric;
    const char* peer_workload;
  };
  for (const auto& [workload, metric, peer_workload] :
       {row{"throughput-batch", "jobs_per_s", "throughput-batch"},
        row{"throughput-single", "jobs_per_s", "throughput-single"},
        row{"throughput-keyed", "jobs_per_s", "throughput-keyed"}, row{"chain3", "chains_per_s", "chain3"},
        row{"http-single", "jobs_per_s", "throughput-single"},
        row{"http-single-wrk", "jobs_per_s", "throughput-single"}}) {
    auto value = [&](const char* system, const char* w, bool durable) {
      const auto* r = find(results, system, w, metric, durable);
      return r != nullptr ? r->at("median").get<double>() : 0.0;
    };
    out << workload << ' ' << value("hypercore", workload, true) << ' '
        << value("bullmq-always", peer_workload, true) << ' '
        << value("bullmq-everysec", peer_workload, false) << '\n';
  }
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"hypercore-bench: Hypercore against its limits and its peers"};
  bench_options opts;
  std::string out = "bench/results/latest.json";
  std::vector<std::string> peers;
  std::vector<std::string> only;
  std::string plot_data;
  app.add_option("--out", out, "Where to write the results JSON")->capture_default_str();
  app.add_option("--runs", opts.runs, "Runs per figure (median, min, max)")->capture_default_str();
  app.add_option("--jobs", opts.jobs, "Jobs per throughput run")->capture_default_str();
  app.add_option("--recovery-jobs", opts.recovery_jobs, "Backlog for the recovery run")
    ->capture_default_str();
  app.add_option("--scratch", opts.scratch_dir, "Directory for scratch stores")->capture_default_str();
  app.add_option("--peer", peers, "Peer results JSON files to merge (BullMQ)");
  app.add_option("--only", only, "Run only these groups: throughput latency chains recovery memory http edge limits");
  app.add_option("--plot-data", plot_data, "Also write the rate figures as a gnuplot table");
  app.add_option("--event-log-capacity", opts.event_log_capacity,
                 "Transitions kept in the event log (0: off), to measure what it costs")
    ->capture_default_str();
  app.add_option("--preallocate-mb", opts.preallocate_mb,
                 "MiB of data.mdb kept written ahead of LMDB's pages (0: off), to measure what it buys")
    ->capture_default_str();
  int sse_port = 0;
  std::string sse_ids;
  app.add_option("--sse-clients", sse_port, "Internal: be sse-10k's client process for this port");
  app.add_option("--sse-ids", sse_ids, "Internal: the job ids for --sse-clients, one per line");
  app.add_flag("--smoke", opts.smoke, "A few hundred jobs, one run: checks that the bench works");
  CLI11_PARSE(app, argc, argv);
  if (sse_port != 0) return run_sse_clients(sse_port, sse_ids);
  if (opts.smoke) {
    opts.jobs = 500;
    opts.runs = 1;
    opts.recovery_jobs = 2000;
    opts.chains = 100;
    opts.latency_window = std::chrono::seconds(1);
  }
  spdlog::set_level(spdlog::level::warn);
  auto wanted = [&](const std::string& group) {
    return only.empty() || std::find(only.begin(), only.end(), group) != only.end();
  };

  json results = json::array();
  auto add = [&](const std::vector<figure>& figures) {
    for (const auto& f : figures) results.push_back(f.to_json());
  };
  try {
    if (wanted("limits")) add(run_limits(opts));
    if (wanted("throughput")) {
      add(run_throughput(opts, true));
      add(run_throughput(opts, false));
    }
    if (wanted("latency")) {
      add(run_latency(opts, true));
      add(run_latency(opts, false));
    }
    if (wanted("chains")) {
      add(run_chains(opts, true));
      add(run_chains(opts, false));
    }
    if (wanted("recovery")) add(run_recovery(opts));
    if (wanted("memory")) add(run_memory(opts));
    if (wanted("http")) {
      add(run_http(opts, true));
      add(run_http(opts, false));
    }
    if (wanted("edge")) add(run_http_edge(opts, std::filesystem::read_symlink("/proc/self/exe").string()));
  } catch (const std::exception& e) {
    std::cerr << "hypercore-bench: " << e.what() << '\n';
    return 1;
  }
  for (const auto& path : peers) {
    std::ifstream in{path};
    auto peer = json::parse(in, nullptr, false);
    if (peer.is_discarded() || !peer.contains("results")) {
      std::cerr << "hypercore-bench: cannot read peer results " << path << '\n';
      return 1;
    }
    for (const auto& r : peer["results"]) results.push_back(r);
  }

  json doc{{"machine", machine_info()}, {"date", today()}, {"smoke", opts.smoke},
           {"results", results}};
  std::ofstream file{out};
  if (!file) {
    std::cerr << "hypercore-bench: cannot write " << out << '\n';
    return 1;
  }
  file << doc.dump(2) << '\n';
  if (!plot_data.empty()) write_plot_data(results, plot_data);
  print_table(results);
  std::cout << "results written to " << out << '\n';
  return 0;
}
