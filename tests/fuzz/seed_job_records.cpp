// SPDX-License-Identifier: Apache-2.0
// Writes the seed corpus of fuzz_job_record: whole records as encode_job
// writes them (version 2, and version 1 without its revision), then the
// damage a disk or a torn write can do to them. Run once; the output is
// committed under tests/fuzz/corpus/job_record/.

#include <cstdio>
#include <fstream>
#include <string>

#include "hypercore/persistence/codec.hpp"

using namespace hypercore;

namespace {

void write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream out{dir + "/" + name, std::ios::binary};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

job minimal() {
  job j;
  j.id = {0x0190'0000'0000'0001ULL, 42};
  j.kind = "echo";
  return j;
}

job full() {
  job j = minimal();
  j.params = R"({"text":"hé","n":[1,2,3]})";
  j.partition_key = "customer-7";
  j.session_id = "s-1";
  j.idempotency_key = "key\xff";  // stored before the edge checked UTF-8
  j.trace_id = "trace";
  j.parent_id = {7, 8};
  j.status = job_status::dead;
  j.priority = -5;
  j.attempts = 3;
  j.max_attempts = 3;
  j.depth = 2;
  j.partition = 11;
  j.seq = 123456;
  j.created_at_ms = 1'700'000'000'000;
  j.run_at_ms = 1'700'000'000'500;
  j.updated_at_ms = 1'700'000'001'000;
  j.finished_at_ms = 1'700'000'001'000;
  j.errors = {{1, 1'700'000'000'100, "boom", true}, {2, 1'700'000'000'200, "", false}};
  j.followups = {{1, 2}, {3, 4}};
  j.revision = 9;
  return j;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: seed_job_records <dir>\n");
    return 2;
  }
  std::string dir = argv[1];
  auto small = persistence::encode_job(minimal());
  auto big = persistence::encode_job(full());
  write(dir, "minimal", small);
  write(dir, "full", big);
  // Version 1: the same layout without the trailing revision.
  auto v1 = small.substr(0, small.size() - 8);
  v1[0] = 1;
  write(dir, "version1", v1);
  write(dir, "torn-last-byte", big.substr(0, big.size() - 1));
  write(dir, "torn-half", big.substr(0, big.size() / 2));
  write(dir, "torn-header", big.substr(0, 9));
  auto unknown_version = small;
  unknown_version[0] = 3;
  write(dir, "unknown-version", unknown_version);
  // A string length far past the end of the record.
  auto long_kind = small;
  long_kind[17] = '\xff';
  long_kind[18] = '\xff';
  write(dir, "length-past-end", long_kind);
  // The status byte sits after the six strings and the parent id.
  auto bad_status = small;
  bad_status[1 + 16 + 6 * 4 + 4 + 16] = 9;
  write(dir, "bad-status", bad_status);
  write(dir, "trailing-bytes", small + "junk");
  return 0;
}
