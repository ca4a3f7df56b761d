// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "hypercore/agents/rag.hpp"
#include "hypercore/core/agent.hpp"

using nlohmann::json;
namespace rag = hypercore::agents;

namespace {

struct attempt_outcome {
  hypercore::agent_result result;
  std::vector<hypercore::job_spec> emitted;
};

// Runs one attempt of a rag kind the way a worker would, minus the actors.
attempt_outcome run(std::string_view kind, const json& params) {
  std::unique_ptr<hypercore::agent> a;
  for (auto& factory : rag::rag_agents())
    if (auto candidate = factory(); candidate->kind() == kind) a = std::move(candidate);
  REQUIRE(a);
  hypercore::job j;
  j.kind = std::string{kind};
  j.params = params.dump();
  j.attempts = 1;
  hypercore::agent_context ctx{j, *spdlog::default_logger(), nullptr, nullptr};
  auto result = a->handle(ctx, params);
  return {std::move(result), std::move(ctx.emitted())};
}

json params_of(const hypercore::job_spec& spec) { return json::parse(spec.params); }

double norm_of(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  return std::sqrt(sum);
}

} // namespace

TEST_CASE("the embedding of a text is deterministic and unit length", "[unit][rag]") {
  auto first = rag::embed_text("How are retries of a failed job scheduled?");
  auto second = rag::embed_text("How are retries of a failed job scheduled?");

  CHECK(first == second);
  CHECK(first.size() == rag::embedding_dims);
  CHECK(norm_of(first) == Approx(1.0).epsilon(1e-6));
  // Case and punctuation are not words.
  CHECK(rag::embed_text("HOW are RETRIES of a failed job, scheduled") == first);
  CHECK(norm_of(rag::embed_text("what is the?")) == 0.0);
}

TEST_CASE("a question about retries retrieves the retry passage first", "[unit][rag]") {
  auto hits = rag::top_k(rag::embed_text("How does Hypercore retry a failed job?"), 3);

  REQUIRE_FALSE(hits.empty());
  CHECK(rag::corpus()[hits.front().first].id == "retries");
  CHECK(hits.front().second > 0.0);
}

TEST_CASE("top_k returns k results ordered by score, best first", "[unit][rag]") {
  auto query = rag::embed_text("Which partition runs jobs that share a key, and in what order?");

  auto hits = rag::top_k(query, 5);

  REQUIRE(hits.size() == 5);
  CHECK(std::is_sorted(hits.begin(), hits.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; }));
  CHECK(rag::corpus()[hits.front().first].id == "partitions");
  SECTION("k beyond the corpus returns the whole corpus") {
    CHECK(rag::top_k(query, 1000).size() == rag::corpus().size());
  }
  SECTION("a query of the wrong length matches nothing") {
    CHECK(rag::top_k(std::vector<float>(3, 1.0f), 5).empty());
  }
}

TEST_CASE("the embed agent emits a retrieve job with the question, k and embedding",
          "[unit][rag]") {
  const std::string question = "How does Hypercore retry a failed job?";

  auto out = run("rag.embed", {{"question", question}, {"k", 2}});

  REQUIRE(out.result.succeeded());
  CHECK((*out.result.output)["dims"] == rag::embedding_dims);
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.emitted[0].kind == "rag.retrieve");
  auto params = params_of(out.emitted[0]);
  CHECK(params["question"] == question);
  CHECK(params["k"] == 2);
  auto sent = params["embedding"].get<std::vector<float>>();
  auto expected = rag::embed_text(question);
  REQUIRE(sent.size() == expected.size());
  for (std::size_t i = 0; i < sent.size(); ++i) CHECK(sent[i] == Approx(expected[i]).margin(1e-6));
  SECTION("k defaults to 3") {
    CHECK(params_of(run("rag.embed", {{"question", question}}).emitted.at(0))["k"] == 3);
  }
}

TEST_CASE("the retrieve agent forwards the best passages with their text", "[unit][rag]") {
  auto embedded = run("rag.embed", {{"question", "How does Hypercore retry a failed job?"}});
  REQUIRE(embedded.emitted.size() == 1);

  auto out = run("rag.retrieve", params_of(embedded.emitted[0]));

  REQUIRE(out.result.succeeded());
  auto found = (*out.result.output)["passages"];
  REQUIRE(found.size() >= 1);
  CHECK(found.size() <= 3);
  CHECK(found[0]["id"] == "retries");
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.emitted[0].kind == "rag.answer");
  auto forwarded = params_of(out.emitted[0])["passages"];
  REQUIRE(forwarded.size() == found.size());
  for (const auto& p : forwarded) {
    auto it = std::find_if(rag::corpus().begin(), rag::corpus().end(),
                           [&](const rag::passage& c) { return c.id == p["id"].get<std::string>(); });
    REQUIRE(it != rag::corpus().end());
    CHECK(p["text"] == std::string{it->text});
  }
}

TEST_CASE("the answer agent cites the sources it was given, best first", "[unit][rag]") {
  json params{{"question", "What happens?"},
              {"passages",
               {{{"id", "weak"}, {"text", "Weak claim. Detail."}, {"score", 0.2}},
                {{"id", "strong"}, {"text", "Strong claim! More detail."}, {"score", 0.9}}}}};

  auto out = run("rag.answer", params);

  REQUIRE(out.result.succeeded());
  CHECK((*out.result.output)["sources"] == json::array({"strong", "weak"}));
  CHECK((*out.result.output)["answer"] == "Based on 2 passages: Strong claim! Weak claim.");
  CHECK(out.emitted.empty());
  SECTION("no passages give an answer that says so, citing nothing") {
    auto none = run("rag.answer", {{"question", "What happens?"}, {"passages", json::array()}});
    REQUIRE(none.result.succeeded());
    CHECK((*none.result.output)["sources"].empty());
  }
}

TEST_CASE("the three agents chained answer from the retry passage", "[unit][rag]") {
  auto embedded = run("rag.embed", {{"question", "How are failed jobs retried with backoff?"}});
  REQUIRE(embedded.emitted.size() == 1);
  auto retrieved = run("rag.retrieve", params_of(embedded.emitted[0]));
  REQUIRE(retrieved.emitted.size() == 1);

  auto answered = run("rag.answer", params_of(retrieved.emitted[0]));

  REQUIRE(answered.result.succeeded());
  CHECK((*answered.result.output)["sources"][0] == "retries");
  auto text = (*answered.result.output)["answer"].get<std::string>();
  CHECK(text.find("exponential backoff and full jitter") != std::string::npos);
}

TEST_CASE("bad params are refused as permanent failures without follow-ups", "[unit][rag]") {
  json params;
  std::string kind = "rag.embed";
  SECTION("a question longer than 2000 characters") {
    params = {{"question", std::string(2001, 'x')}};
  }
  SECTION("an empty question") { params = {{"question", ""}}; }
  SECTION("no question") { params = {{"k", 3}}; }
  SECTION("a question with no searchable words") { params = {{"question", "what is the?"}}; }
  SECTION("k out of range") { params = {{"question", "retries?"}, {"k", 11}}; }
  SECTION("k that is not an integer") { params = {{"question", "retries?"}, {"k", "3"}}; }
  SECTION("an embedding of the wrong length") {
    kind = "rag.retrieve";
    params = {{"question", "retries?"}, {"k", 3}, {"embedding", {0.5, 0.5}}};
  }
  SECTION("a passage without text") {
    kind = "rag.answer";
    params = {{"question", "retries?"}, {"passages", {{{"id", "x"}, {"score", 1.0}}}}};
  }

  auto out = run(kind, params);

  CHECK_FALSE(out.result.succeeded());
  CHECK_FALSE(out.result.retryable);
  CHECK(out.result.error.rfind(kind + ": ", 0) == 0);
  CHECK(out.emitted.empty());
}

TEST_CASE("a question at the length limit is accepted", "[unit][rag]") {
  auto out = run("rag.embed", {{"question", "retries " + std::string(1992, 'x')}});

  CHECK(out.result.succeeded());
}
