// SPDX-License-Identifier: Apache-2.0
// Many jobs: no deadlock, and memory bounded by the partition windows.
#include "test_support.hpp"

using namespace hypercore;
using namespace hypercore::test;

TEST_CASE("1,000 jobs over 10 concurrent agents finish without deadlock", "[integration][scale]") {
  engine_fixture f{10};
  std::vector<job_id> ids;
  for (int i = 0; i < 1000; ++i)
    ids.push_back(f.submit(spec(i % 2 ? "echo" : "sleep", {{"ms", i % 3}}, i % 4 ? "" : "k" + std::to_string(i % 7))));

  for (auto& id : ids) CHECK(f.wait_terminal(id).record.status == job_status::succeeded);
}

TEST_CASE("100,000 no-op jobs finish with memory bounded by the windows", "[integration][scale]") {
  engine_fixture f{8, [](engine_config& c) {
    c.partition_window = 256;
    c.initial_map_bytes = std::size_t{512} << 20;
  }};
  // Warm up so allocator pools and threads exist before the baseline.
  f.wait_terminal(f.submit(spec("echo")));
  auto baseline = anon_rss_bytes();
  std::vector<job_id> last_of_batch;

  for (int b = 0; b < 100; ++b) {
    std::vector<job_spec> batch(1000, spec("echo", {{"b", b}}));
    auto ids = f.eng->submit_batch(batch);
    REQUIRE(ids);
    last_of_batch.push_back(ids->back());
  }
  for (auto& id : last_of_batch) f.wait_terminal(id, std::chrono::seconds(120));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (f.eng->stats().resident > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto peak_after = anon_rss_bytes();

  // 100k jobs held in memory would take well over 100 MB; a leak of even
  // 500 bytes per job would cross this bound.
  INFO("anonymous RSS grew by " << (peak_after - baseline) / 1024 << " KiB");
  if (memory_bounds_meaningful) CHECK(peak_after < baseline + (48u << 20));
  else WARN("memory bound not checked under AddressSanitizer");
  auto stats = f.eng->stats();
  CHECK(stats.resident == 0);
  for (auto& id : last_of_batch)
    CHECK(f.eng->get(id)->record.status == job_status::succeeded);
}
