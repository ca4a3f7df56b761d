// SPDX-License-Identifier: Apache-2.0
// hypercore-soak: the crash loop of issue 8. It runs `hypercore serve` on a
// fresh directory, submits a mixed workload over HTTP from several threads,
// SIGKILLs the server at random moments (during recovery, right after ready,
// under load) and restarts it each time; after the last restart it waits for
// every acknowledged job to be terminal and checks the API and the export.
// Exit code: 0 all checks held, 1 a check failed, 2 the run itself failed.
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "checker.hpp"
#include "child_process.hpp"
#include "clients.hpp"
#include "collector.hpp"
#include "crash_loop.hpp"
#include "report.hpp"
#include "server.hpp"

namespace fs = std::filesystem;
using namespace hypercore::soak;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

struct soak_options {
  std::string bin;
  int kills = 5;
  std::uint64_t jobs = 0; // 0: scaled from kills
  int threads = 4;
  std::uint64_t seed = 0; // 0: pick one (printed, so a run can be repeated)
  std::string data_dir;
  bool strict_history = true;
  bool keep = false;
  int partitions = 4;
  int time_limit_s = 0; // 0: scaled
};

// The server binary beside this one (both land in build/bin), unless told.
std::string default_bin() {
  if (const char* env = std::getenv("HYPERCORE_BIN")) return env;
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "hypercore" : (self.parent_path() / "hypercore").string();
}

std::uint64_t scaled_jobs(int kills) {
  return std::max<std::uint64_t>(2000, 500 * static_cast<std::uint64_t>(kills));
}

// A guard against hangs, not a target: about four times what a run takes
// on 2 cores.
int scaled_time_limit_s(int kills, std::uint64_t jobs) {
  return 120 + 4 * kills + static_cast<int>(jobs / 100);
}

std::string make_work_dir() {
  auto pattern = (fs::temp_directory_path() / "hypercore-soak-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return {};
  return pattern;
}

} // namespace

int main(int argc, char** argv) {
  install_child_reaper();
  soak_options o;
  o.bin = default_bin();
  CLI::App app{"hypercore-soak: SIGKILL `hypercore serve` in a loop under load, then check that "
               "nothing acknowledged was lost, duplicated or reordered"};
  app.add_option("--bin", o.bin, "The hypercore executable (default: beside this one, or $HYPERCORE_BIN)");
  app.add_option("--kills", o.kills, "SIGKILLs of the server")->check(CLI::Range(0, 100000));
  app.add_option("--jobs", o.jobs, "Acknowledged submits wanted (default: max(2000, 500 x kills))");
  app.add_option("--threads", o.threads, "Submitting client threads")->check(CLI::Range(1, 64));
  app.add_option("--seed", o.seed, "Seed of the workload and the kill schedule (default: random)");
  app.add_option("--data-dir", o.data_dir, "Store directory, empty or missing (default: a fresh temp dir)");
  app.add_flag("--strict-history,!--no-strict-history", o.strict_history,
               "Fail on error histories that do not match attempts (default on)");
  app.add_flag("--keep", o.keep, "Keep the work directory even when every check holds");
  app.add_option("--partitions", o.partitions, "--partitions of the server")->check(CLI::Range(1, 1024));
  app.add_option("--time-limit", o.time_limit_s, "Seconds before the run is cut short (default: scaled)");
  CLI11_PARSE(app, argc, argv);

  if (o.seed == 0) o.seed = std::random_device{}() | 1u;
  if (o.jobs == 0) o.jobs = scaled_jobs(o.kills);
  if (o.time_limit_s <= 0) o.time_limit_s = scaled_time_limit_s(o.kills, o.jobs);
  if (::access(o.bin.c_str(), X_OK) != 0) {
    std::cerr << "hypercore-soak: " << o.bin << " is not an executable (use --bin)\n";
    return 2;
  }
  auto work = make_work_dir();
  if (work.empty()) {
    std::cerr << "hypercore-soak: cannot create a work directory\n";
    return 2;
  }
  auto data = o.data_dir.empty() ? work + "/data" : o.data_dir;
  std::error_code ec;
  if (fs::exists(data, ec) && !fs::is_empty(data, ec)) {
    std::cerr << "hypercore-soak: " << data << " is not empty; the checks need a fresh store\n";
    return 2;
  }
  // The time limit is cut into phases, so a hang in one still leaves time
  // for the checks and the report: load and kills, settling, stop and export.
  auto began = clock_type::now();
  auto limit = milliseconds(o.time_limit_s * 1000);
  auto deadline = began + limit * 6 / 10;
  auto settle_deadline = began + limit * 8 / 10;
  auto term_grace = std::min<milliseconds>(seconds(15), limit / 10);
  std::cout << "hypercore-soak: " << o.kills << " kills, " << o.jobs << " jobs, seed " << o.seed
            << ", server " << o.bin << ", work dir " << work << std::endl;

  server srv{{o.bin, data, work + "/server.log", {"--partitions", std::to_string(o.partitions)}}};
  client_settings cs;
  cs.threads = o.threads;
  cs.target_acked = o.jobs;
  cs.seed = o.seed;
  cs.spare_attempts = static_cast<unsigned>(std::min(o.kills, 990)) + 1;
  cs.deadline = deadline;
  client_pool clients{cs};
  crash_settings ks;
  ks.kills = o.kills;
  ks.target_acked = o.jobs;
  ks.seed = o.seed;
  ks.deadline = deadline;
  crash_stats crashes;
  crash_loop loop{ks, srv, clients};

  clients.start();
  bool up = loop.run(crashes);
  while (up && !clients.finished() && clock_type::now() < deadline)
    std::this_thread::sleep_for(milliseconds(5));
  clients.stop();
  clients.join();
  auto& log = clients.log();

  run_summary run{o.seed, o.threads, o.jobs, work, {}, o.strict_history, false};
  api_view api;
  export_view exp;
  if (up) {
    std::vector<std::string> roots;
    for (const auto& a : log.acked)
      if (!a.id.empty()) roots.push_back(a.id);
    api = collect_terminal(srv.port(), roots, 8, settle_deadline);
    if (auto ended = srv.ended_by_itself()) {
      ++crashes.self_exits;
      crashes.incidents.push_back("the final server ended by itself (" + ended->describe() + ")");
    } else {
      srv.terminate(term_grace, run.shutdown_overran);
    }
    auto left = std::chrono::duration_cast<milliseconds>(began + limit - clock_type::now());
    exp = read_export(o.bin, data, work + "/export.jsonl", work + "/export.err",
                      std::max<milliseconds>(seconds(10), left));
  } else {
    exp.error = "no server came up for the checks";
  }

  auto checks = check_all(log, api, exp, crashes.kills);
  run.elapsed = std::chrono::duration_cast<milliseconds>(clock_type::now() - began);
  print_report(std::cout, run, crashes, log, checks);
  write_violations(work + "/violations.jsonl", checks);
  if (!up) {
    std::cout << "hypercore-soak: FAILED to run (no server for the checks); kept " << work << '\n';
    return 2;
  }
  bool ok = passed(crashes, log, checks, o.strict_history);
  if (ok && !o.keep) {
    fs::remove_all(work, ec); // a --data-dir given by the caller stays
  } else {
    std::cout << "hypercore-soak: kept " << work << " (server.log, export.jsonl, violations.jsonl)\n";
  }
  std::cout << "hypercore-soak: " << (ok ? "PASSED" : "FAILED") << std::endl;
  return ok ? 0 : 1;
}
