// SPDX-License-Identifier: Apache-2.0
// The built-in corpus of mini_rag: short passages about Hypercore itself.
#include <array>

#include "hypercore/agents/rag.hpp"

namespace hypercore::agents {

namespace {

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

} // namespace

const std::vector<passage>& corpus() {
  static const std::vector<passage> all(corpus_data.begin(), corpus_data.end());
  return all;
}

} // namespace hypercore::agents
