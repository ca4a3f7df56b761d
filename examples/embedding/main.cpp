// SPDX-License-Identifier: Apache-2.0
// Teaches: embedding the engine with one agent kind of your own.
#include <cctype>
#include <iostream>
#include <memory>

#include "hypercore/core/errc.hpp"
#include "hypercore/engine.hpp"

class upper_agent : public hypercore::agent {
public:
  std::string kind() const override { return "upper"; }
  hypercore::agent_options options() const override {
    hypercore::agent_options o;
    o.concurrency = 2;                    // attempts of this kind running at once
    o.timeout = std::chrono::seconds(5);  // a longer attempt fails as retryable
    return o;
  }
  hypercore::agent_result handle(hypercore::agent_context& ctx,
                                 const nlohmann::json& params) override {
    auto it = params.find("text");
    if (it == params.end() || !it->is_string())
      return hypercore::agent_result::fail("params.text must be a string");  // permanent: no retry
    auto text = it->get<std::string>();
    for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return hypercore::agent_result::ok({{"text", text}, {"attempt", ctx.attempt()}});
  }
};

int main() {
  hypercore::engine_config cfg;
  cfg.data_dir = "./upper-data";  // created on first start
  hypercore::engine eng{cfg};
  if (auto err = eng.register_agent([] { return std::make_unique<upper_agent>(); })) return 1;
  if (auto err = eng.start()) {
    std::cerr << hypercore::message_of(err) << '\n';
    return 1;
  }
  hypercore::job_spec spec;
  spec.kind = "upper";
  spec.params = R"({"text":"hello"})";
  auto view = eng.submit_and_wait(spec, std::chrono::seconds(10));
  if (view && view->output) std::cout << *view->output << '\n';  // {"attempt":1,"text":"HELLO"}
  eng.shutdown();
}
