// SPDX-License-Identifier: Apache-2.0
#include "workload.hpp"

#include <algorithm>

namespace hypercore::soak {

namespace {

constexpr int keys_per_thread = 8;
constexpr unsigned attempts_cap = 1000; // the API's max_attempts bound

int percent(std::mt19937_64& rng) { return std::uniform_int_distribution<int>{0, 99}(rng); }

} // namespace

const char* to_string(job_class c) {
  switch (c) {
    case job_class::echo: return "echo";
    case job_class::sleep: return "sleep";
    case job_class::flaky_ok: return "flaky_ok";
    case job_class::flaky_dead: return "flaky_dead";
    case job_class::flaky_permanent: return "flaky_permanent";
    case job_class::chain: return "chain";
  }
  return "?";
}

workload::workload(std::uint64_t seed, int thread, unsigned spare_attempts)
    : rng_(seed * 1000003u + static_cast<std::uint64_t>(thread)), thread_(thread),
      spare_(spare_attempts) {}

nlohmann::json workload::chain_body(const planned_job& p, const std::string& key) {
  // Step 3 is an echo, so the chain's end is visible as an output; every step
  // carries the soak id and the max_attempts of a job meant to succeed.
  auto spec = [&](const char* kind, int step, nlohmann::json next) {
    nlohmann::json params{{"soak_id", p.soak_id}, {"step", step}};
    if (!next.is_null()) params["next"] = nlohmann::json::array({std::move(next)});
    nlohmann::json s{{"kind", kind}, {"params", std::move(params)},
                     {"max_attempts", p.max_attempts}};
    if (!key.empty()) s["partition_key"] = key;
    return s;
  };
  auto step3 = spec("echo", 3, nullptr);
  auto step2 = spec("chain", 2, std::move(step3));
  return spec("chain", 1, std::move(step2));
}

planned_job workload::next() {
  planned_job p;
  p.thread = thread_;
  p.soak_id = "t" + std::to_string(thread_) + "-n" + std::to_string(n_++);
  int roll = percent(rng_);
  if (roll < 30) p.cls = job_class::echo;
  else if (roll < 45) p.cls = job_class::sleep;
  else if (roll < 62) p.cls = job_class::flaky_ok;
  else if (roll < 66) p.cls = job_class::flaky_dead;
  else if (roll < 70) p.cls = job_class::flaky_permanent;
  else p.cls = job_class::chain;
  if (percent(rng_) < 50) {
    auto k = std::uniform_int_distribution<int>{0, keys_per_thread - 1}(rng_);
    p.partition_key = "t" + std::to_string(thread_) + "-k" + std::to_string(k);
    p.key_seq = ++key_seq_[p.partition_key];
  }
  if (percent(rng_) < 30) p.idempotency_key = "soak-" + p.soak_id;
  auto succeed_attempts = [&](unsigned failures) {
    return std::min(attempts_cap, failures + 1 + spare_);
  };

  nlohmann::json params{{"soak_id", p.soak_id}};
  if (!p.partition_key.empty()) params["key_seq"] = p.key_seq;
  std::string kind;
  switch (p.cls) {
    case job_class::echo:
      kind = "echo";
      p.max_attempts = succeed_attempts(0);
      // Some unkeyed jobs wait in the scheduled index across a kill or two.
      if (p.partition_key.empty() && percent(rng_) < 20)
        p.delay_ms = std::uniform_int_distribution<int>{1, 300}(rng_);
      break;
    case job_class::sleep:
      kind = "sleep";
      // Mostly short; a fifth long enough to be running when a kill comes.
      p.sleep_ms = percent(rng_) < 20 ? std::uniform_int_distribution<int>{50, 200}(rng_)
                                      : std::uniform_int_distribution<int>{2, 25}(rng_);
      params["ms"] = p.sleep_ms;
      p.max_attempts = succeed_attempts(0);
      break;
    case job_class::flaky_ok:
      kind = "flaky";
      p.fail_times = std::uniform_int_distribution<unsigned>{1, 3}(rng_);
      params["fail_times"] = p.fail_times;
      p.max_attempts = succeed_attempts(p.fail_times);
      break;
    case job_class::flaky_dead:
      kind = "flaky";
      p.fail_times = 3;
      params["fail_times"] = p.fail_times;
      p.max_attempts = 3;
      break;
    case job_class::flaky_permanent:
      kind = "flaky";
      params["permanent"] = true;
      p.max_attempts = 3;
      break;
    case job_class::chain:
      p.max_attempts = succeed_attempts(0);
      p.body = chain_body(p, p.partition_key);
      p.body["params"]["soak_id"] = p.soak_id;
      if (!p.partition_key.empty()) p.body["params"]["key_seq"] = p.key_seq;
      return p;
  }
  p.body = {{"kind", kind}, {"params", std::move(params)}, {"max_attempts", p.max_attempts}};
  if (!p.partition_key.empty()) p.body["partition_key"] = p.partition_key;
  if (p.delay_ms > 0) p.body["delay_ms"] = p.delay_ms;
  return p;
}

} // namespace hypercore::soak
