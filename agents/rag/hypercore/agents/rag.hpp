// SPDX-License-Identifier: Apache-2.0
#pragma once

// mini RAG: a question answered from a small built-in corpus about Hypercore,
// as three agent kinds chained by follow-ups, so each step is journaled,
// retried and replayable on its own:
//   rag.embed    {question, k?}             -> emits rag.retrieve
//   rag.retrieve {question, k, embedding}   -> emits rag.answer
//   rag.answer   {question, passages}       -> {answer, sources}
// The embedding is a hashed TF-IDF (no model, no network), so the whole
// chain is deterministic and runs offline.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "hypercore/core/agent.hpp"

namespace hypercore::agents {

/// One corpus entry. Both views point at static storage: they stay valid for
/// the life of the program.
struct passage {
  std::string_view id;
  std::string_view text;
};

/// Length of every vector embed_text() returns (the number of hash buckets).
inline constexpr std::size_t embedding_dims = 512;

/// The built-in corpus, in a fixed order that top_k() indexes into.
/// Built once on first call; thread-safe.
const std::vector<passage>& corpus();

/// Hashed TF-IDF embedding of `text`, L2-normalised, embedding_dims long.
/// Pure and deterministic. All zeros when `text` has no indexable word
/// (only stop words or punctuation).
std::vector<float> embed_text(std::string_view text);

/// The `k` corpus passages most similar to `query` by cosine similarity, as
/// (index into corpus(), score), best first; ties keep corpus order. Returns
/// min(k, corpus size) entries, all scoring 0 when `query` is all zeros, and
/// none when `query` is not embedding_dims long.
std::vector<std::pair<std::size_t, double>> top_k(const std::vector<float>& query,
                                                  std::size_t k);

/// Factories for rag.embed, rag.retrieve and rag.answer, each with the given
/// concurrency. Bad params are permanent failures (never thrown).
std::vector<agent_factory> rag_agents(std::uint32_t concurrency = 2);

} // namespace hypercore::agents
