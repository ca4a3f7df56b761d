// SPDX-License-Identifier: Apache-2.0
// The embedding of mini_rag: hashed TF-IDF over the corpus, and cosine top-k.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "hypercore/agents/rag.hpp"

namespace hypercore::agents {

namespace {

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
    for (const auto& p : corpus()) {
      auto tf = term_counts(p.text);
      for (std::size_t i = 0; i < embedding_dims; ++i)
        if (tf[i] > 0) df[i] += 1;
    }
    auto n = static_cast<double>(corpus().size());
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
    for (const auto& p : corpus()) vs.push_back(embed_text(p.text));
    return vs;
  }();
  return vectors;
}

} // namespace

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

} // namespace hypercore::agents
