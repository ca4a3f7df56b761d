// SPDX-License-Identifier: Apache-2.0
// The data file kept written ahead of LMDB's pages, on a real store: it
// grows one step at a time, LMDB's later pages land inside it, and it never
// writes over a page in use or past the map.
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include <catch2/catch.hpp>

#include "hypercore/persistence/file_preallocator.hpp"
#include "store_support.hpp"

using namespace hypercore;
using namespace hypercore::persistence;

namespace {

constexpr std::uint64_t mib = std::uint64_t{1} << 20;

std::uint64_t file_bytes(const test::temp_dir& dir) {
  struct stat st {};
  REQUIRE(::stat((dir.path() / "data.mdb").c_str(), &st) == 0);
  return static_cast<std::uint64_t>(st.st_size);
}

std::uint64_t used_bytes(lmdb_env& env) {
  MDB_envinfo info;
  mdb_env_info(env.raw(), &info);
  MDB_stat st;
  mdb_env_stat(env.raw(), &st);
  return (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * st.ms_psize;
}

std::string value_of(int i) {
  std::string v(10'000, '\0');
  for (std::size_t b = 0; b < v.size(); ++b) v[b] = static_cast<char>('a' + (i * 7 + b) % 26);
  return v;
}

// Puts values [from, to) into the meta table, one transaction each ten.
void put_values(lmdb_env& env, int from, int to) {
  for (int i = from; i < to; i += 10) {
    write_txn txn{env};
    for (int k = i; k < std::min(to, i + 10); ++k) {
      auto key = "t/" + std::to_string(k);
      auto value = value_of(k);
      MDB_val kv{key.size(), key.data()}, vv{value.size(), value.data()};
      REQUIRE(mdb_put(txn.get(), env.dbs().meta, &kv, &vv, 0) == 0);
    }
    txn.commit();
  }
}

void check_values(lmdb_env& env, int count) {
  read_txn txn{env};
  for (int k = 0; k < count; ++k) {
    auto key = "t/" + std::to_string(k);
    MDB_val kv{key.size(), key.data()}, vv;
    REQUIRE(mdb_get(txn.get(), env.dbs().meta, &kv, &vv) == 0);
    REQUIRE(std::string_view{static_cast<const char*>(vv.mv_data), vv.mv_size} == value_of(k));
  }
}

std::shared_ptr<lmdb_env> open_env(const test::temp_dir& dir, std::size_t map_bytes = 256 * mib) {
  env_options opts;
  opts.dir = dir.str();
  opts.partitions = 4;
  opts.map_bytes = map_bytes;
  auto opened = lmdb_env::open(opts);
  REQUIRE(opened);
  return *opened;
}

// Preallocation is on only on ext4 with room to spare; elsewhere these
// tests say so and pass.
bool possible(const file_preallocator& pre) {
  if (pre.enabled() && pre.room_to_spare()) return true;
  WARN("skipped: the temp directory is not on ext4, refuses O_DIRECT or is nearly full");
  return false;
}

} // namespace

TEST_CASE("the data file is kept written ahead of the pages in use, a step at a time",
          "[unit][persistence][preallocate]") {
  test::temp_dir dir;
  auto env = open_env(dir);
  file_preallocator pre{*env, {4 * mib, 1 * mib}};
  if (!possible(pre)) return;
  put_values(*env, 0, 20);
  auto before = file_bytes(dir);

  std::vector<std::uint64_t> steps;
  while (auto wrote = pre.step(true)) steps.push_back(wrote);

  CHECK(steps == std::vector<std::uint64_t>(steps.size(), mib));
  CHECK(file_bytes(dir) == before + steps.size() * mib);
  CHECK(file_bytes(dir) >= used_bytes(*env) + 4 * mib);
  CHECK(file_bytes(dir) < used_bytes(*env) + 5 * mib);
  CHECK(pre.step(false) == 0);

  SECTION("a busy journal steps only once less than a quarter is left") {
    auto end = file_bytes(dir);
    put_values(*env, 20, 250);  // about 2.3 MiB into the 4 MiB ahead
    REQUIRE(used_bytes(*env) + mib < end);
    CHECK(file_bytes(dir) == end);
    CHECK(pre.step(false) == 0);
    put_values(*env, 250, 400);  // under 1 MiB left
    REQUIRE(used_bytes(*env) + mib > end);
    CHECK(pre.step(false) == mib);
  }
}

TEST_CASE("LMDB's new pages land in the preallocated zeros and read back after reopening",
          "[unit][persistence][preallocate]") {
  test::temp_dir dir;
  {
    auto env = open_env(dir);
    file_preallocator pre{*env, {8 * mib, 1 * mib}};
    if (!possible(pre)) return;
    while (pre.step(true) != 0) {
    }
    auto end = file_bytes(dir);

    put_values(*env, 0, 300);  // about 3 MiB of pages

    CHECK(used_bytes(*env) > 3 * mib);
    CHECK(file_bytes(dir) == end);  // written inside, not appended
  }
  auto reopened = open_env(dir);
  check_values(*reopened, 300);
}

TEST_CASE("a step starts at the file's real end when LMDB grew it past the last step",
          "[unit][persistence][preallocate]") {
  test::temp_dir dir;
  auto env = open_env(dir);
  file_preallocator pre{*env, {1 * mib, 256 << 10}};
  if (!possible(pre)) return;
  while (pre.step(true) != 0) {
  }
  put_values(*env, 0, 400);  // about 4 MiB, past everything preallocated
  auto grown = file_bytes(dir);
  REQUIRE(used_bytes(*env) >= grown - 4096);

  CHECK(pre.step(true) == (256u << 10));

  CHECK(file_bytes(dir) == grown + (256u << 10));
  check_values(*env, 400);
  env.reset();
  check_values(*open_env(dir), 400);
}

TEST_CASE("preallocation stops at the map size, and is off when asked",
          "[unit][persistence][preallocate]") {
  test::temp_dir dir;
  auto env = open_env(dir, 2 * mib);
  file_preallocator capped{*env, {16 * mib, 1 * mib}};
  if (!possible(capped)) return;

  while (capped.step(true) != 0) {
  }

  CHECK(file_bytes(dir) == 2 * mib);
  file_preallocator off{*env, {0, 1 * mib}};
  CHECK_FALSE(off.enabled());
  CHECK(off.step(true) == 0);
}

TEST_CASE("a step the file system refuses gives its bytes back and turns preallocation off",
          "[unit][persistence][preallocate]") {
  test::temp_dir dir;
  auto env = open_env(dir);
  file_preallocator pre{*env, {4 * mib, 1 * mib}};
  if (!possible(pre)) return;
  put_values(*env, 0, 20);
  auto before = file_bytes(dir);
  // The file may grow by half a step: the write comes back short, then
  // fails with EFBIG (SIGXFSZ ignored, as a server would).
  struct rlimit old {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small {static_cast<rlim_t>(before + mib / 2), old.rlim_max};
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);

  auto wrote = pre.step(true);

  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  CHECK(wrote == 0);
  CHECK_FALSE(pre.enabled());
  CHECK(file_bytes(dir) == before);
  CHECK(pre.step(true) == 0);
  put_values(*env, 20, 60);  // LMDB goes on growing the file itself
  check_values(*env, 60);
}
