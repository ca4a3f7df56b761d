// SPDX-License-Identifier: Apache-2.0
// hypercore: the command-line entry point: `serve` runs the engine behind
// the HTTP API; `export` dumps a store as JSON lines; submit, job, wait,
// cancel and dead are the HTTP client (cli/client_commands.hpp).
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <thread>

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/agents/builtin.hpp"
#include "hypercore/agents/rag.hpp"
#include "hypercore/cli/client_commands.hpp"
#include "hypercore/cli/serve_config.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/engine.hpp"
#include "hypercore/exporter.hpp"
#include "hypercore/core/log_context.hpp"
#include "hypercore/http/gateway.hpp"
#include "hypercore/telemetry/logging.hpp"
#include "hypercore/http/secrets.hpp"

namespace {

// Splits "host:port"; false when the port is not a number in 0..65535.
bool split_listen(const std::string& listen, std::string& host, int& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  try {
    std::size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    return used == listen.size() - colon - 1 && port >= 0 && port <= 65535 && !host.empty();
  } catch (const std::exception&) {
    return false;
  }
}

/// Limits of the server that flags, variables and the config file can set.
struct serve_limits {
  std::size_t max_body_bytes = std::size_t{1} << 20;
  std::size_t max_pending_jobs = 5'000'000;
  /// From SIGTERM to exit, whatever clients and agents do.
  std::int64_t shutdown_timeout_ms = 10'000;
  /// A file holding the bearer token: unlike --auth-token, not in `ps`.
  std::string auth_token_file;
  std::size_t max_connections = 16384;
  std::size_t max_header_bytes = 16 * 1024;
  std::int64_t header_timeout_ms = 10'000;
  std::int64_t idle_timeout_ms = 60'000;
  /// HOST:PORT of a listener serving GET /metrics alone; empty: none (the
  /// API listener serves /metrics as well).
  std::string metrics_listen;
  /// "json" or "text"; empty: json unless stderr is a terminal.
  std::string log_format;
  std::string log_level = "info";
  bool log_payloads = false;
};

// Each connection is a descriptor: lift the soft limit to the hard one when
// the connection limit needs more (Debian's default soft limit is 1,024).
void raise_open_file_limit(std::size_t connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  auto wanted = static_cast<rlim_t>(connections + 256);
  if (lim.rlim_cur >= wanted) return;
  lim.rlim_cur = std::min(wanted, lim.rlim_max);
  setrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < wanted)
    spdlog::warn("http: {} connections allowed but only {} descriptors (ulimit -n)", connections,
                 static_cast<std::uint64_t>(lim.rlim_cur));
}

int serve(const std::string& data_dir, const std::string& listen, std::uint16_t partitions,
          const std::string& auth_token, double kind_rate, double session_rate,
          const serve_limits& limits) {
  using namespace hypercore;
  http::gateway_options gw;
  if (!split_listen(listen, gw.host, gw.port)) {
    std::cerr << "hypercore serve: listen: expected HOST:PORT, got '" << listen << "'\n";
    return 2;
  }
  // Logs go to stderr: text for a person at a terminal, JSON lines for
  // everything else (a collector, a file, systemd's journal).
  auto format = limits.log_format.empty()
                  ? (isatty(STDERR_FILENO) ? telemetry::log_format::text : telemetry::log_format::json)
                  : telemetry::parse_log_format(limits.log_format);
  if (!format) {
    std::cerr << "hypercore serve: log-format: expected json or text, got '" << limits.log_format
              << "'\n";
    return 2;
  }
  if (!telemetry::configure_logging(*format, limits.log_level)) {
    std::cerr << "hypercore serve: log-level: expected trace, debug, info, warn, error, critical "
                 "or off, got '"
              << limits.log_level << "'\n";
    return 2;
  }
  set_log_payloads(limits.log_payloads);
  gw.auth_token = auth_token;
  if (!limits.metrics_listen.empty()
      && !split_listen(limits.metrics_listen, gw.metrics_host, gw.metrics_port)) {
    std::cerr << "hypercore serve: metrics-listen: expected HOST:PORT, got '" << limits.metrics_listen
              << "'\n";
    return 2;
  }
  if (!limits.auth_token_file.empty()) {
    auto token = http::read_token_file(limits.auth_token_file);
    if (!token) {
      std::cerr << "hypercore serve: " << message_of(token.error()) << '\n';
      return 2;
    }
    gw.auth_token = std::move(*token);
  }
  gw.max_body_bytes = limits.max_body_bytes;
  gw.server.max_connections = limits.max_connections;
  gw.server.max_header_bytes = limits.max_header_bytes;
  gw.server.header_timeout = std::chrono::milliseconds(limits.header_timeout_ms);
  gw.server.idle_timeout = std::chrono::milliseconds(limits.idle_timeout_ms);
  // Requests in flight get a quarter of the shutdown deadline to finish;
  // running attempts most of the rest.
  gw.server.drain_timeout = std::chrono::milliseconds(limits.shutdown_timeout_ms / 4);
  raise_open_file_limit(limits.max_connections);
  // A burst of one second's worth of tokens (at least one).
  gw.kind_rate = {kind_rate, std::max(1.0, kind_rate)};
  gw.session_rate = {session_rate, std::max(1.0, session_rate)};
  // Block the shutdown signals before any thread starts, so every thread
  // inherits the mask and only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  engine_config cfg;
  cfg.data_dir = data_dir;
  cfg.partitions = partitions;
  cfg.max_pending_jobs = limits.max_pending_jobs;
  // The request body bounds what params can be; keep the engine's limit in step.
  cfg.max_params_bytes = limits.max_body_bytes;
  engine eng{cfg};
  for (auto& f : agents::builtin_agents()) eng.register_agent(f);
  for (auto& f : agents::rag_agents()) eng.register_agent(f);
  if (auto err = eng.start()) {
    std::cerr << "hypercore serve: " << message_of(err) << '\n';
    return 1;
  }
  http::gateway api{eng, gw};
  if (auto err = api.start()) {
    std::cerr << "hypercore serve: " << message_of(err) << '\n';
    eng.shutdown();
    return 1;
  }
  std::cout << "hypercore: serving on http://" << gw.host << ':' << api.port()
            << " (data in " << data_dir << ")\n"
            << "submit a job:  curl -s -X POST http://" << gw.host << ':' << api.port()
            << "/v1/jobs -H 'Content-Type: application/json' -d '{\"kind\":\"echo\",\"params\":{\"hello\":\"world\"}}'\n"
            << std::flush;
  if (api.metrics_port() >= 0)
    std::cout << "hypercore: metrics on http://" << gw.metrics_host << ':' << api.metrics_port()
              << "/metrics\n"
              << std::flush;
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("hypercore: signal {} received, shutting down", sig);
  auto deadline = std::chrono::milliseconds(limits.shutdown_timeout_ms);
  auto until = std::chrono::steady_clock::now() + deadline;
  // In order: stop accepting, let requests in flight finish (bounded by the
  // drain timeout), end open streams with a `shutdown` event, and only then
  // stop the engine, so no answer is cut off by an engine already gone.
  std::promise<void> api_done;
  auto api_stopped = api_done.get_future();
  std::thread http_stop{[&api, &api_done] {
    api.stop();
    api_done.set_value();
  }};
  bool api_ok = api_stopped.wait_until(until) == std::future_status::ready;
  // Running attempts get most of what is left; the journal's last commit and
  // closing the store need the rest. An agent that ignores its stop request
  // keeps its thread (and the actor system) alive past that.
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
  std::promise<void> engine_done;
  auto engine_stopped = engine_done.get_future();
  std::thread engine_stop{[&] {
    eng.shutdown(std::max(std::chrono::milliseconds(0), left * 8 / 10));
    engine_done.set_value();
  }};
  // Every acknowledged job is durable once the journal's last commit
  // returned, and LMDB needs no clean close to stay consistent: what may be
  // left at the deadline are connections finishing their last write and
  // agents that ignore their stop request. Wait for both, only until then.
  bool engine_ok = engine_stopped.wait_until(until) == std::future_status::ready;
  if (!engine_ok || !api_ok) {
    spdlog::warn("hypercore: {} still busy at the shutdown deadline; exiting without waiting",
                 engine_ok ? "HTTP connections" : "agents");
    spdlog::shutdown();
    std::fflush(nullptr);
    std::_Exit(0);
  }
  engine_stop.join();
  http_stop.join();
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  // Logs to stderr from the start, for every command: stdout carries
  // results (`export`'s JSON lines, the client commands' answers). `serve`
  // picks its format and level below.
  hypercore::telemetry::configure_logging(hypercore::telemetry::log_format::text, "info");
  CLI::App app{"Hypercore: a durable actor runtime for AI-agent jobs"};
  app.require_subcommand(1);

  std::string data_dir = "./data";
  std::string listen = "127.0.0.1:8080";
  std::string auth_token;
  std::uint16_t partitions = 8;
  // Each setting comes from a flag, else HYPERCORE_<NAME>, else the --config
  // file, else its default. A bad value stops start-up with a message naming it.
  auto* srv = app.add_subcommand("serve", "Run the engine behind the HTTP API");
  std::string config_file;
  srv->add_option("--config", config_file, "Configuration file: JSON, or TOML-style key = value lines");
  srv->add_option("--data-dir", data_dir, "Data directory of the store")
    ->capture_default_str()
    ->envname("HYPERCORE_DATA_DIR");
  srv->add_option("--listen", listen, "HOST:PORT to bind")
    ->capture_default_str()
    ->envname("HYPERCORE_LISTEN");
  srv->add_option("--partitions", partitions, "Partitions (fixed when the store is created)")
    ->capture_default_str()
    ->check(CLI::Range(1, 1024))
    ->envname("HYPERCORE_PARTITIONS");
  srv->add_option("--auth-token", auth_token,
                  "Require 'Authorization: Bearer TOKEN' on /v1 (visible in ps: prefer "
                  "--auth-token-file or HYPERCORE_AUTH_TOKEN)")
    ->envname("HYPERCORE_AUTH_TOKEN");
  double kind_rate = 0, session_rate = 0;
  srv->add_option("--rate-per-kind", kind_rate, "Submits per second per kind (0: no limit)")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber)
    ->envname("HYPERCORE_RATE_PER_KIND");
  srv->add_option("--rate-per-session", session_rate,
                  "Submits per second per session (0: no limit)")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber)
    ->envname("HYPERCORE_RATE_PER_SESSION");
  serve_limits limits;
  srv->add_option("--max-body-bytes", limits.max_body_bytes, "Largest request body (413 above)")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1024}, std::size_t{64} << 20))
    ->envname("HYPERCORE_MAX_BODY_BYTES");
  srv->add_option("--auth-token-file", limits.auth_token_file,
                  "Read the bearer token from this file (first line)")
    ->envname("HYPERCORE_AUTH_TOKEN_FILE");
  srv->add_option("--shutdown-timeout-ms", limits.shutdown_timeout_ms,
                  "Longest time from SIGTERM to exit; running attempts get 80% of it")
    ->capture_default_str()
    ->check(CLI::Range(std::int64_t{100}, std::int64_t{3'600'000}))
    ->envname("HYPERCORE_SHUTDOWN_TIMEOUT_MS");
  srv->add_option("--max-connections", limits.max_connections,
                  "Open connections at most; one more gets 503 too_many_connections")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
    ->envname("HYPERCORE_MAX_CONNECTIONS");
  srv->add_option("--max-header-bytes", limits.max_header_bytes,
                  "Largest request line and header block (431 above)")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 20))
    ->envname("HYPERCORE_MAX_HEADER_BYTES");
  srv->add_option("--header-timeout-ms", limits.header_timeout_ms,
                  "A request's header block must arrive within this (the connection closes)")
    ->capture_default_str()
    ->check(CLI::Range(std::int64_t{100}, std::int64_t{600'000}))
    ->envname("HYPERCORE_HEADER_TIMEOUT_MS");
  srv->add_option("--idle-timeout-ms", limits.idle_timeout_ms,
                  "A keep-alive connection without a request is closed after this")
    ->capture_default_str()
    ->check(CLI::Range(std::int64_t{100}, std::int64_t{86'400'000}))
    ->envname("HYPERCORE_IDLE_TIMEOUT_MS");
  srv->add_option("--log-format", limits.log_format,
                  "json or text (default: text when stderr is a terminal, json otherwise)")
    ->envname("HYPERCORE_LOG_FORMAT");
  srv->add_option("--log-level", limits.log_level,
                  "trace, debug, info, warn, error, critical or off; PUT /v1/admin/log-level "
                  "changes it at run time")
    ->capture_default_str()
    ->envname("HYPERCORE_LOG_LEVEL");
  srv->add_flag("--log-payloads", limits.log_payloads,
                "Allow params, outputs and session data in logs (secret-looking keys are "
                "redacted); off by default")
    ->envname("HYPERCORE_LOG_PAYLOADS");
  srv->add_option("--metrics-listen", limits.metrics_listen,
                  "Also serve GET /metrics on HOST:PORT, a listener of its own (for a scraper "
                  "on another interface than the API's)")
    ->envname("HYPERCORE_METRICS_LISTEN");
  srv->add_option("--max-pending", limits.max_pending_jobs,
                  "Submits get 503 overloaded while this many jobs are not terminal (0: off)")
    ->capture_default_str()
    ->envname("HYPERCORE_MAX_PENDING");

  auto* exp = app.add_subcommand("export", "Write every job, result and dead letter as JSON lines");
  exp->add_option("--data-dir", data_dir, "Data directory of the store")->capture_default_str();

  hypercore::cli::client_commands client{app};

  CLI11_PARSE(app, argc, argv);

  if (auto code = client.run(); code >= 0) return code;
  if (srv->parsed()) {
    if (!config_file.empty()) {
      auto settings = hypercore::cli::read_serve_config(config_file);
      if (!settings) {
        std::cerr << "hypercore serve: " << hypercore::message_of(settings.error()) << '\n';
        return 2;
      }
      // Apply each file value through its option, so CLI11 checks it; only
      // where neither the flag nor the environment variable set it.
      for (const auto& [key, value] : *settings) {
        auto* opt = srv->get_option("--" + key);
        auto env = opt->get_envname();
        if (opt->count() > 0 || (!env.empty() && std::getenv(env.c_str()) != nullptr)) continue;
        try {
          opt->add_result(value);
          opt->run_callback();
        } catch (const CLI::Error& e) {
          std::cerr << "hypercore serve: config " << config_file << ": " << key << ": " << e.what() << '\n';
          return 2;
        }
      }
    }
    return serve(data_dir, listen, partitions, auth_token, kind_rate, session_rate, limits);
  }
  if (exp->parsed()) {
    auto written = hypercore::export_jobs(data_dir, std::cout);
    if (!written) {
      std::cerr << "hypercore export: " << hypercore::message_of(written.error()) << '\n';
      return 1;
    }
    std::cerr << "exported " << *written << " jobs\n";
  }
  return 0;
}
