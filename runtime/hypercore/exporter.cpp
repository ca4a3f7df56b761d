// SPDX-License-Identifier: Apache-2.0
#include "hypercore/exporter.hpp"

#include "hypercore/core/errc.hpp"
#include "hypercore/job_json.hpp"
#include "hypercore/persistence/store_call.hpp"

namespace hypercore {

caf::expected<std::uint64_t> export_jobs(const std::string& data_dir, std::ostream& out) {
  persistence::env_options opts;
  opts.dir = data_dir;
  opts.partitions = 0; // whatever the store was created with
  // A reader beside a running engine: it takes neither the directory's
  // lock nor LMDB's writer lock, so the journal never waits for it.
  opts.exclusive = false;
  opts.read_only = true;
  auto env = persistence::lmdb_env::open(opts);
  if (!env) return env.error();
  std::uint64_t written = 0;
  auto read = persistence::read_tables(**env, [&](persistence::job_tables& t) {
    t.scan_jobs([&](const job& j) {
      std::optional<std::string> output;
      if (j.status == job_status::succeeded) output = t.get_result(j.id);
      out << safe_dump(to_json(j, output)) << '\n';
      ++written;
      return static_cast<bool>(out);
    });
  });
  if (read) return read;
  return written;
}

} // namespace hypercore
