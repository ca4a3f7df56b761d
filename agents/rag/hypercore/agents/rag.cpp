// SPDX-License-Identifier: Apache-2.0
#include "hypercore/agents/rag.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>

namespace hypercore::agents {

namespace {

using nlohmann::json;

constexpr std::size_t max_question_chars = 2000;
constexpr std::int64_t max_k = 10;
constexpr std::int64_t default_k = 3;

constexpr std::array<passage, 18> corpus_data{{
  {"journal", "Every job transition is written to a durable journal stored in LMDB. The journal actor is the only writer, and it acknowledges a submit only after the write transaction holding it has committed. A job that was acknowledged survives a crash of the process."},
  {"group-commit", "The journal batches many commands into one LMDB write transaction, a technique called group commit. Each commit is followed by an fsync, so one disk flush covers thousands of jobs while every acknowledgement stays durable."},
  {"partitions", "Jobs are spread over a fixed number of partitions, each an actor that owns its jobs and their order. Jobs that share a partition key land in the same partition and run one at a time in submit order, while different keys run in parallel."},
  {"retries", "When an agent returns a retryable error, Hypercore retries the failed job with exponential backoff and full jitter. The wait before the next attempt is drawn uniformly between zero and a ceiling that doubles with each attempt, up to a cap, so retries of many failed jobs do not arrive in lockstep."},
  {"dead-letters", "A job whose attempts are exhausted, or whose agent reports a permanent failure, becomes dead and is listed in the dead-letter queue. Dead letters keep their full error history, one entry per failed attempt, so an operator can see why each attempt failed."},
  {"replay", "Dead jobs can be replayed once the cause of their failure is fixed. Replay keeps the job id and its history but starts a fresh attempt count, and it can select dead letters by kind and age."},
  {"followups", "An agent can emit follow-up jobs while it handles a job. The follow-ups are created atomically with the parent's success, in the same journal transaction, so a crash can never lose a step of a chain. Every job in a chain shares the trace id of the first."},
  {"supervision", "Agents run inside worker actors that a pool per kind supervises one-for-one. A worker whose agent throws is restarted with a fresh instance from the kind's factory, and its attempt counts as a retryable crash. Past ten restarts in five seconds, restarts pause with a growing backoff."},
  {"recovery", "Hypercore recovers lazily after a crash: it does not load the whole store into memory before it starts. Each partition pages its pending jobs back in, in submit order, as room frees up in its bounded window. Jobs that were running when the process died simply become ready again."},
  {"sessions", "A session holds JSON data that agents read and write through their context across several jobs. Changes to the session are written together with the outcome of the attempt that made them, and a session expires after its time to live."},
  {"idempotency", "A client may attach an idempotency key when it submits a job. Submitting again with the same key returns the original job instead of creating a duplicate, and reusing the key for a different request is refused as a conflict."},
  {"actors", "Hypercore is built on CAF, the C++ Actor Framework. The journal, the partitions, the agent pools and the janitor are actors that share no mutable state and talk only through typed messages. Errors travel back as values rather than exceptions."},
  {"delivery", "Agent execution is at least once: a crash after an agent ran but before its result was journaled runs the attempt again, so agents with side effects should be idempotent. State transitions are exactly once, because each is a single committed transaction checked against the stored status."},
  {"timeouts", "Each agent kind declares a timeout for its attempts. An attempt that runs longer fails as retryable, its worker is told to stop and is replaced, and any late result is ignored."},
  {"schemas", "Each agent kind may declare a JSON Schema for its params. Hypercore validates params at submit time and again for every follow-up, so a malformed job is refused before it is ever journaled."},
  {"shutdown", "Shutdown stops intake, lets running attempts finish until a deadline, and leaves everything else pending in the store. The next start picks up exactly where the last one stopped."},
  {"cancel", "A pending or retrying job can be cancelled at once, and a running one ends cancelled when its agent returns. Cancellation wins over any retry that was scheduled."},
  {"retention", "A janitor actor removes finished jobs and their results once they are older than the retention period, seven days by default. It deletes in small batches so that no sweep holds a long write transaction."},
}};

// Question fillers as well as function words: "what happens" says nothing
// about which passage is wanted.
constexpr std::array<std::string_view, 70> stop_words{
  "a", "about", "after", "all", "an", "and", "any", "are", "as", "at", "be", "been",
  "but", "by", "can", "could", "do", "does", "each", "for", "from", "had", "happen",
  "happens", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me",
  "my", "no", "not", "of", "on", "or", "so", "than", "that", "the", "their", "them",
  "then", "there", "these", "they", "this", "to", "too", "was", "we", "were", "what",
  "when", "where", "which", "while", "who", "why", "will", "with", "work", "works",
  "would", "you"};

// Explicit ASCII classes rather than <cctype>: the locale must not change
// the embedding. Bytes >= 0x80 count as letters so UTF-8 words stay whole.
bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// A light plural fold so "jobs" meets "job" and "retries" meets "retry";
// anything smarter needs a real stemmer, which a demo does not.
void fold_plural(std::string& w) {
  if (w.size() > 4 && w.ends_with("ies")) {
    w.resize(w.size() - 3);
    w += 'y';
  } else if (w.size() > 3 && w.back() == 's' && !w.ends_with("ss") && !w.ends_with("us")
             && !w.ends_with("is")) {
    w.pop_back();
  }
}

template <class F>
void for_each_token(std::string_view text, F&& f) {
  std::string word;
  auto flush = [&] {
    bool stop = std::find(stop_words.begin(), stop_words.end(), word) != stop_words.end();
    if (word.size() >= 2 && !stop) {
      fold_plural(word);
      f(word);
    }
    word.clear();
  };
  for (unsigned char c : text) {
    if (is_word_byte(c))
      word += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
    else
      flush();
  }
  flush();
}

std::size_t bucket_of(std::string_view token) {
  std::uint64_t h = 0xcbf29ce484222325ULL; // FNV-1a, 64-bit
  for (unsigned char c : token) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return static_cast<std::size_t>(h % embedding_dims);
}

std::vector<float> term_counts(std::string_view text) {
  std::vector<float> tf(embedding_dims, 0.0f);
  for_each_token(text, [&](const std::string& t) { tf[bucket_of(t)] += 1.0f; });
  return tf;
}

// Smoothed idf per bucket, over the corpus; buckets no passage uses get the
// highest weight, which is harmless since nothing in the corpus matches them.
const std::vector<float>& idf() {
  static const std::vector<float> weights = [] {
    std::vector<float> df(embedding_dims, 0.0f);
    for (const auto& p : corpus_data) {
      auto tf = term_counts(p.text);
      for (std::size_t i = 0; i < embedding_dims; ++i)
        if (tf[i] > 0) df[i] += 1;
    }
    auto n = static_cast<double>(corpus_data.size());
    std::vector<float> w(embedding_dims);
    for (std::size_t i = 0; i < embedding_dims; ++i)
      w[i] = static_cast<float>(std::log((1 + n) / (1 + df[i])) + 1);
    return w;
  }();
  return weights;
}

const std::vector<std::vector<float>>& corpus_vectors() {
  static const std::vector<std::vector<float>> vectors = [] {
    std::vector<std::vector<float>> vs;
    for (const auto& p : corpus_data) vs.push_back(embed_text(p.text));
    return vs;
  }();
  return vectors;
}

} // namespace

const std::vector<passage>& corpus() {
  static const std::vector<passage> all(corpus_data.begin(), corpus_data.end());
  return all;
}

std::vector<float> embed_text(std::string_view text) {
  auto v = term_counts(text);
  const auto& w = idf();
  double norm = 0;
  for (std::size_t i = 0; i < embedding_dims; ++i) {
    v[i] *= w[i];
    norm += static_cast<double>(v[i]) * v[i];
  }
  if (norm > 0) {
    auto inv = 1.0 / std::sqrt(norm);
    for (auto& x : v) x = static_cast<float>(x * inv);
  }
  return v;
}

std::vector<std::pair<std::size_t, double>> top_k(const std::vector<float>& query,
                                                  std::size_t k) {
  std::vector<std::pair<std::size_t, double>> scored;
  if (query.size() != embedding_dims) return scored;
  double norm = 0;
  for (float x : query) norm += static_cast<double>(x) * x;
  norm = std::sqrt(norm);
  const auto& vectors = corpus_vectors();
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    double dot = 0;
    for (std::size_t d = 0; d < embedding_dims; ++d)
      dot += static_cast<double>(query[d]) * vectors[i][d];
    // Corpus vectors are unit length, so only the query's norm divides.
    scored.emplace_back(i, norm > 0 ? dot / norm : 0.0);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  scored.resize(std::min(k, scored.size()));
  return scored;
}

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
