// SPDX-License-Identifier: Apache-2.0
// The three agents of mini_rag (embed, retrieve, answer), chained by
// follow-ups, with their params schemas.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include "hypercore/agents/rag.hpp"

namespace hypercore::agents {

namespace {

using nlohmann::json;

constexpr std::size_t max_question_chars = 2000;
constexpr std::int64_t max_k = 10;
constexpr std::int64_t default_k = 3;

} // namespace

namespace {

constexpr std::string_view embed_kind = "rag.embed";
constexpr std::string_view retrieve_kind = "rag.retrieve";
constexpr std::string_view answer_kind = "rag.answer";

// The schemas and handle() check the same bounds: the schema refuses bad
// input at submit, handle() stays safe when called directly and checks what
// the schema language cannot express (finite numbers).
json question_schema() {
  return {{"type", "string"}, {"minLength", 1}, {"maxLength", max_question_chars}};
}
json k_schema() { return {{"type", "integer"}, {"minimum", 1}, {"maximum", max_k}}; }
json object_schema(json properties, json required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

// JSON Schema counts characters, not bytes; so does this.
std::size_t utf8_chars(std::string_view s) {
  return static_cast<std::size_t>(
    std::count_if(s.begin(), s.end(), [](unsigned char c) { return (c & 0xC0) != 0x80; }));
}

// Each reader returns why a field is bad, or nothing when it is good.
std::optional<std::string> read_question(const json& params, std::string& out) {
  auto it = params.find("question");
  if (it == params.end() || !it->is_string()) return "params.question must be a string";
  auto n = utf8_chars(it->get_ref<const std::string&>());
  if (n == 0 || n > max_question_chars)
    return "params.question must be 1 to " + std::to_string(max_question_chars)
           + " characters, got " + std::to_string(n);
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<std::string> read_k(const json& params, bool required, std::int64_t& out) {
  auto it = params.find("k");
  if (it == params.end() && !required) {
    out = default_k;
    return std::nullopt;
  }
  // Compared as double so a huge unsigned value cannot wrap into range.
  if (it == params.end() || !it->is_number_integer() || it->get<double>() < 1
      || it->get<double>() > max_k)
    return "params.k must be an integer from 1 to " + std::to_string(max_k);
  out = it->get<std::int64_t>();
  return std::nullopt;
}

bool finite_number(const json& x) { return x.is_number() && std::isfinite(x.get<double>()); }

std::optional<std::string> read_embedding(const json& params, std::vector<float>& out) {
  auto it = params.find("embedding");
  if (it == params.end() || !it->is_array() || it->size() != embedding_dims
      || !std::all_of(it->begin(), it->end(), finite_number))
    return "params.embedding must be an array of " + std::to_string(embedding_dims)
           + " finite numbers";
  out.clear();
  for (const auto& x : *it) out.push_back(x.get<float>());
  return std::nullopt;
}

std::optional<std::string> read_passages(const json& params, std::vector<json>& out) {
  auto it = params.find("passages");
  if (it == params.end() || !it->is_array() || it->size() > static_cast<std::size_t>(max_k))
    return "params.passages must be an array of at most " + std::to_string(max_k) + " passages";
  for (const auto& p : *it) {
    if (!p.is_object() || !p.contains("id") || !p["id"].is_string() || !p.contains("text")
        || !p["text"].is_string() || !p.contains("score") || !finite_number(p["score"]))
      return "each passage must be {id: string, text: string, score: number}";
  }
  out.assign(it->begin(), it->end());
  return std::nullopt;
}

// A float widened to double prints with 17 digits; its shortest text reads
// back as the same float, and keeps the journaled params small.
double short_number(float f) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);
  double d = 0;
  if (ec == std::errc{}) std::from_chars(buf, end, d);
  return d;
}

std::string first_sentence(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool stop = text[i] == '.' || text[i] == '!' || text[i] == '?';
    if (stop && (i + 1 == text.size() || text[i + 1] == ' ')) return std::string{text.substr(0, i + 1)};
  }
  return std::string{text};
}

// The chain keeps the question's partition key so every step of a keyed
// question stays in that key's order.
job_spec follow_up(agent_context& ctx, std::string_view kind, const json& params) {
  job_spec spec;
  spec.kind = std::string{kind};
  spec.params = params.dump();
  spec.partition_key = ctx.current().partition_key;
  return spec;
}

agent_result refuse(std::string_view kind, const std::string& why) {
  return agent_result::fail(std::string{kind} + ": " + why);
}

agent_result embed(agent_context& ctx, const json& params) {
  std::string question;
  std::int64_t k = 0;
  if (auto err = read_question(params, question)) return refuse(embed_kind, *err);
  if (auto err = read_k(params, false, k)) return refuse(embed_kind, *err);

  auto v = embed_text(question);
  // Retrying cannot help a question the embedding cannot see.
  if (std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; }))
    return refuse(embed_kind, "params.question has no searchable words");
  json embedding = json::array();
  for (float x : v) embedding.push_back(short_number(x));
  ctx.emit(follow_up(ctx, retrieve_kind,
                     {{"question", question}, {"k", k}, {"embedding", std::move(embedding)}}));
  return agent_result::ok({{"dims", v.size()}});
}

agent_result retrieve(agent_context& ctx, const json& params) {
  std::string question;
  std::int64_t k = 0;
  std::vector<float> embedding;
  if (auto err = read_question(params, question)) return refuse(retrieve_kind, *err);
  if (auto err = read_k(params, true, k)) return refuse(retrieve_kind, *err);
  if (auto err = read_embedding(params, embedding)) return refuse(retrieve_kind, *err);

  json found = json::array();
  json forward = json::array();
  for (auto [index, score] : top_k(embedding, static_cast<std::size_t>(k))) {
    // A passage sharing no word with the question would only dress noise up
    // as an answer.
    if (score <= 0) continue;
    std::string id{corpus()[index].id};
    found.push_back({{"id", id}, {"score", score}});
    forward.push_back({{"id", id}, {"text", std::string{corpus()[index].text}}, {"score", score}});
  }
  ctx.emit(follow_up(ctx, answer_kind, {{"question", question}, {"passages", forward}}));
  return agent_result::ok({{"passages", std::move(found)}});
}

agent_result answer(agent_context&, const json& params) {
  std::string question;
  std::vector<json> passages;
  if (auto err = read_question(params, question)) return refuse(answer_kind, *err);
  if (auto err = read_passages(params, passages)) return refuse(answer_kind, *err);

  // Order by score here rather than trust the sender's order.
  std::stable_sort(passages.begin(), passages.end(), [](const json& a, const json& b) {
    return a["score"].get<double>() > b["score"].get<double>();
  });
  json sources = json::array();
  for (const auto& p : passages) sources.push_back(p["id"]);
  std::string text = "No passage in the corpus matches the question.";
  if (!passages.empty()) {
    text = "Based on " + std::to_string(passages.size())
           + (passages.size() == 1 ? " passage: " : " passages: ")
           + first_sentence(passages[0]["text"].get_ref<const std::string&>());
    if (passages.size() > 1)
      text += " " + first_sentence(passages[1]["text"].get_ref<const std::string&>());
  }
  return agent_result::ok({{"answer", std::move(text)}, {"sources", std::move(sources)}});
}

// The three kinds differ only in name, schema and handler.
class rag_agent final : public agent {
public:
  using handler = agent_result (*)(agent_context&, const json&);
  rag_agent(std::string_view kind, json schema, handler h, std::uint32_t concurrency)
    : kind_(kind), schema_(std::move(schema)), handler_(h), concurrency_(concurrency) {}
  std::string kind() const override { return kind_; }
  std::optional<json> params_schema() const override { return schema_; }
  agent_options options() const override {
    agent_options o;
    o.concurrency = concurrency_;
    return o;
  }
  agent_result handle(agent_context& ctx, const json& params) override {
    return handler_(ctx, params);
  }

private:
  std::string kind_;
  json schema_;
  handler handler_;
  std::uint32_t concurrency_;
};

} // namespace

std::vector<agent_factory> rag_agents(std::uint32_t concurrency) {
  auto embed_schema = object_schema({{"question", question_schema()}, {"k", k_schema()}},
                                    json::array({"question"}));
  json vector{{"type", "array"}, {"minItems", embedding_dims}, {"maxItems", embedding_dims},
              {"items", {{"type", "number"}}}};
  auto retrieve_schema = object_schema(
    {{"question", question_schema()}, {"k", k_schema()}, {"embedding", vector}},
    json::array({"question", "k", "embedding"}));
  auto item = object_schema({{"id", {{"type", "string"}, {"minLength", 1}}},
                             {"text", {{"type", "string"}}},
                             {"score", {{"type", "number"}}}},
                            json::array({"id", "text", "score"}));
  auto answer_schema = object_schema(
    {{"question", question_schema()},
     {"passages", {{"type", "array"}, {"maxItems", max_k}, {"items", item}}}},
    json::array({"question", "passages"}));
  auto make = [concurrency](std::string_view kind, json schema, rag_agent::handler h) {
    return agent_factory{[=] { return std::make_unique<rag_agent>(kind, schema, h, concurrency); }};
  };
  return {make(embed_kind, embed_schema, embed), make(retrieve_kind, retrieve_schema, retrieve),
          make(answer_kind, answer_schema, answer)};
}

} // namespace hypercore::agents

