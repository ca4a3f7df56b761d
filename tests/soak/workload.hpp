// SPDX-License-Identifier: Apache-2.0
#pragma once

// The jobs the soak submits, as a pure function of (seed, thread, n): a mix
// of echo, sleep, flaky (to succeed, to exhaust its attempts, to fail
// permanently) and 3-step chains, keyed and unkeyed, some with an
// Idempotency-Key. Each plan says what the checker must find at the end.

#include <cstdint>
#include <map>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

namespace hypercore::soak {

/// What a submit is meant to become; the checker's expectations follow it.
enum class job_class {
  echo,            ///< succeeds, output == params
  sleep,           ///< succeeds after sleeping `sleep_ms`
  flaky_ok,        ///< fails `fail_times` times, then succeeds
  flaky_dead,      ///< fails every attempt: dead after exactly `max_attempts`
  flaky_permanent, ///< fails permanently at its first finished attempt: dead
  chain,           ///< chain -> chain -> echo, one follow-up per step
};

const char* to_string(job_class c);

/// One logical submit.
struct planned_job {
  std::string soak_id; ///< "t<thread>-n<n>", also in params: finds the job in an export
  job_class cls = job_class::echo;
  nlohmann::json body; ///< the POST /v1/jobs body
  std::string idempotency_key;
  std::string partition_key;
  int thread = 0;
  std::uint64_t key_seq = 0; ///< 1-based position among this thread's submits of the key
  int sleep_ms = 0;
  int delay_ms = 0; ///< unkeyed echo only
  unsigned fail_times = 0;
  unsigned max_attempts = 0;
};

/// Generates one thread's submits, in order. `spare_attempts` is added to
/// max_attempts of jobs meant to succeed, so SIGKILLs (each interrupts at most
/// one attempt of a job) cannot make them dead.
class workload {
public:
  workload(std::uint64_t seed, int thread, unsigned spare_attempts);
  planned_job next();

private:
  nlohmann::json chain_body(const planned_job& p, const std::string& key);

  std::mt19937_64 rng_;
  int thread_;
  unsigned spare_;
  std::uint64_t n_ = 0;
  std::map<std::string, std::uint64_t> key_seq_;
};

} // namespace hypercore::soak
