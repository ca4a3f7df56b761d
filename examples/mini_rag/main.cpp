// SPDX-License-Identifier: Apache-2.0
// Teaches: a pipeline as agents chained by follow-ups, traced from the first job to the last.

#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "hypercore/agents/builtin.hpp"
#include "hypercore/agents/rag.hpp"
#include "hypercore/core/errc.hpp"
#include "hypercore/core/status.hpp"
#include "hypercore/engine.hpp"

namespace {

using hypercore::job_view;

// A step is usable only if it ran to success; anything else ends the chain,
// with the reason the job itself recorded.
std::optional<job_view> succeeded(caf::expected<job_view> view, std::string_view step) {
  if (!view) {
    std::cerr << "mini_rag: waiting for " << step << " failed: "
              << hypercore::message_of(view.error()) << '\n';
    return std::nullopt;
  }
  if (view->record.status != hypercore::job_status::succeeded) {
    std::cerr << "mini_rag: " << step << " job " << view->record.id.to_string() << " ended "
              << hypercore::to_string(view->record.status);
    if (!view->record.errors.empty()) std::cerr << ": " << view->record.errors.back().message;
    std::cerr << '\n';
    return std::nullopt;
  }
  return std::move(*view);
}

// Follow-ups exist once their parent succeeded, so their ids are known
// before they run: we wait on them rather than poll for them.
std::optional<job_view> next_step(hypercore::engine& eng, const job_view& parent,
                                  std::string_view step, std::chrono::milliseconds timeout) {
  if (parent.record.followups.empty()) {
    std::cerr << "mini_rag: " << parent.record.kind << " emitted no " << step << " job\n";
    return std::nullopt;
  }
  return succeeded(eng.wait(parent.record.followups.front(), timeout), step);
}

int ask(hypercore::engine& eng, const std::string& question, std::chrono::milliseconds timeout) {
  hypercore::job_spec spec;
  spec.kind = "rag.embed";
  spec.params = nlohmann::json{{"question", question}}.dump();

  auto embed = succeeded(eng.submit_and_wait(spec, timeout), "rag.embed");
  if (!embed) return 1;
  auto retrieve = next_step(eng, *embed, "rag.retrieve", timeout);
  if (!retrieve) return 1;
  auto answer = next_step(eng, *retrieve, "rag.answer", timeout);
  if (!answer) return 1;

  auto out = nlohmann::json::parse(answer->output.value_or(""), nullptr, false);
  if (!out.is_object() || !out.contains("answer") || !out["answer"].is_string()) {
    std::cerr << "mini_rag: rag.answer returned no answer text\n";
    return 1;
  }
  std::cout << "embed    " << embed->record.id.to_string() << '\n'
            << "retrieve " << retrieve->record.id.to_string() << '\n'
            << "answer   " << answer->record.id.to_string() << '\n'
            << "trace    " << embed->record.trace_id << "\n\n"
            << out["answer"].get<std::string>() << '\n';
  if (out.contains("sources") && out["sources"].is_array()) {
    std::cout << "sources:";
    for (const auto& s : out["sources"]) std::cout << ' ' << s.get<std::string>();
    std::cout << '\n';
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Answers a question about Hypercore with a three-step RAG chain."};
  std::string data_dir = "./data";
  std::int64_t timeout_ms = 30'000;
  std::string question;
  app.add_option("--data-dir", data_dir, "Where the engine keeps its store")
    ->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "How long to wait for each step")
    ->capture_default_str()
    ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}));
  app.add_option("question", question, "The question to answer")->required();
  CLI11_PARSE(app, argc, argv);

  hypercore::engine_config cfg;
  cfg.data_dir = data_dir;
  hypercore::engine eng{cfg};
  // The builtin kinds too: a shared data directory may hold their pending
  // jobs, and those resume at start() whatever this program came to do.
  auto factories = hypercore::agents::builtin_agents();
  for (auto& f : hypercore::agents::rag_agents()) factories.push_back(std::move(f));
  for (auto& f : factories) {
    if (auto err = eng.register_agent(std::move(f))) {
      std::cerr << "mini_rag: cannot register an agent: " << hypercore::message_of(err) << '\n';
      return 1;
    }
  }
  if (auto err = eng.start()) {
    std::cerr << "mini_rag: cannot start the engine in " << data_dir << ": "
              << hypercore::message_of(err) << '\n';
    return 1;
  }

  int rc = ask(eng, question, std::chrono::milliseconds(timeout_ms));
  eng.shutdown();
  return rc;
}
