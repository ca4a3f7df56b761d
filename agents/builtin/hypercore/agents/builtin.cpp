// SPDX-License-Identifier: Apache-2.0
#include "hypercore/agents/builtin.hpp"

#include <limits>
#include <stdexcept>
#include <thread>

namespace hypercore::agents {

namespace {

using nlohmann::json;

agent_options with_concurrency(std::uint32_t concurrency, bool blocking = false) {
  agent_options o;
  o.concurrency = concurrency;
  o.blocking = blocking;
  return o;
}

class echo_agent : public agent {
public:
  explicit echo_agent(std::uint32_t c) : concurrency_(c) {}
  std::string kind() const override { return "echo"; }
  agent_options options() const override { return with_concurrency(concurrency_); }
  agent_result handle(agent_context&, const json& params) override {
    return agent_result::ok(params);
  }

private:
  std::uint32_t concurrency_;
};

class sleep_agent : public agent {
public:
  explicit sleep_agent(std::uint32_t c) : concurrency_(c) {}
  std::string kind() const override { return "sleep"; }
  agent_options options() const override { return with_concurrency(concurrency_, true); }
  std::optional<json> params_schema() const override {
    return json::parse(R"({"type":"object","properties":{"ms":{"type":"integer",
      "minimum":0,"maximum":3600000}},"required":["ms"]})");
  }
  agent_result handle(agent_context& ctx, const json& params) override {
    auto total = std::chrono::milliseconds(params.value("ms", 0));
    auto deadline = std::chrono::steady_clock::now() + total;
    // Sleep in slices so a timeout or shutdown ends the attempt early.
    while (std::chrono::steady_clock::now() < deadline) {
      if (ctx.stop_requested()) return agent_result::retry("sleep interrupted");
      std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(
        std::chrono::milliseconds(5), deadline - std::chrono::steady_clock::now()));
    }
    return agent_result::ok({{"slept_ms", total.count()}});
  }

private:
  std::uint32_t concurrency_;
};

class flaky_agent : public agent {
public:
  explicit flaky_agent(std::uint32_t c) : concurrency_(c) {}
  std::string kind() const override { return "flaky"; }
  agent_options options() const override {
    auto o = with_concurrency(concurrency_);
    o.retry.base_ms = 10;
    return o;
  }
  agent_result handle(agent_context& ctx, const json& params) override {
    auto fail_times = params.value("fail_times", 1u);
    if (params.value("permanent", false)) return agent_result::fail("flaky: permanent failure");
    if (ctx.attempt() <= fail_times)
      return agent_result::retry("flaky: failing attempt " + std::to_string(ctx.attempt())
                                 + " of " + std::to_string(fail_times));
    return agent_result::ok({{"attempts", ctx.attempt()}});
  }

private:
  std::uint32_t concurrency_;
};

class crash_agent : public agent {
public:
  explicit crash_agent(std::uint32_t c) : concurrency_(c) {}
  std::string kind() const override { return "crash"; }
  agent_options options() const override {
    auto o = with_concurrency(concurrency_);
    o.retry.base_ms = 10;
    return o;
  }
  agent_result handle(agent_context&, const json& params) override {
    if (params.value("crash", true)) throw std::runtime_error("crash agent asked to crash");
    return agent_result::ok(params);
  }

private:
  std::uint32_t concurrency_;
};

class chain_agent : public agent {
public:
  explicit chain_agent(std::uint32_t c) : concurrency_(c) {}
  std::string kind() const override { return "chain"; }
  agent_options options() const override { return with_concurrency(concurrency_); }
  agent_result handle(agent_context& ctx, const json& params) override {
    auto next = params.find("next");
    if (next != params.end()) {
      if (!next->is_array()) return agent_result::fail("chain: params.next must be an array");
      for (const auto& spec : *next) {
        try {
          ctx.emit(spec_from_json(spec));
        } catch (const std::exception& e) {
          return agent_result::fail(std::string{"chain: bad follow-up: "} + e.what());
        }
      }
    }
    return agent_result::ok({{"emitted", ctx.emitted().size()}});
  }

private:
  std::uint32_t concurrency_;
};

template <class T>
agent_factory factory_of(std::uint32_t concurrency) {
  return [concurrency] { return std::make_unique<T>(concurrency); };
}

} // namespace

job_spec spec_from_json(const json& j) {
  if (!j.is_object()) throw std::invalid_argument("a job spec must be an object");
  job_spec spec;
  spec.kind = j.at("kind").get<std::string>();
  if (auto p = j.find("params"); p != j.end()) spec.params = p->dump();
  spec.partition_key = j.value("partition_key", std::string{});
  spec.session_id = j.value("session_id", std::string{});
  // Read wide and narrow with a check: a value that does not fit must be
  // refused, not wrapped (2^31 + 5 would become a negative priority).
  auto priority = j.value("priority", std::int64_t{0});
  if (priority < std::numeric_limits<std::int32_t>::min()
      || priority > std::numeric_limits<std::int32_t>::max())
    throw std::invalid_argument("priority is out of range");
  spec.priority = static_cast<std::int32_t>(priority);
  if (auto d = j.find("delay_ms"); d != j.end() && !d->is_number_unsigned())
    throw std::invalid_argument("delay_ms must be a non-negative integer");
  spec.delay_ms = j.value("delay_ms", std::uint64_t{0});
  if (auto m = j.find("max_attempts"); m != j.end() && !m->is_number_unsigned())
    throw std::invalid_argument("max_attempts must be a non-negative integer");
  auto attempts = j.value("max_attempts", std::uint64_t{0});
  if (attempts > std::numeric_limits<std::uint32_t>::max())
    throw std::invalid_argument("max_attempts is out of range");
  spec.max_attempts = static_cast<std::uint32_t>(attempts);
  return spec;
}

std::vector<agent_factory> builtin_agents(std::uint32_t concurrency) {
  return {factory_of<echo_agent>(concurrency), factory_of<sleep_agent>(concurrency),
          factory_of<flaky_agent>(concurrency), factory_of<crash_agent>(concurrency),
          factory_of<chain_agent>(concurrency)};
}

} // namespace hypercore::agents
