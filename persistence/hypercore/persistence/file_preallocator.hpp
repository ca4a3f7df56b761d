// SPDX-License-Identifier: Apache-2.0
#pragma once

// Keeps data.mdb written ahead of the pages LMDB uses. A commit that takes
// new pages at the end of the file otherwise grows it, and on ext4 its
// fdatasync must then also write the file's new size and blocks (a journal
// commit where the file system has a journal); a commit that overwrites
// blocks the file already has flushes data only. Measured on the bench
// machines: fdatasync of a 4 KiB overwrite p50 0.18 ms vs 0.26-0.32 ms
// appending, and fallocate() does not help (its unwritten extents are
// converted, a metadata write, on first write).

#include <cstdint>

namespace hypercore::persistence {

class lmdb_env;

struct preallocate_options {
  /// How far past LMDB's last used page the file is kept written; 0: off.
  std::uint64_t ahead_bytes = std::uint64_t{16} << 20;
  /// Zeros written per step: one step costs its write-back, so keep it small.
  std::uint64_t step_bytes = std::uint64_t{1} << 20;
};

/// Only the journal calls step(), on its own thread and with no write
/// transaction open: nothing else writes the file then, and a step writes
/// only past the file's current end, where no page of any snapshot lies. A
/// crash mid-step leaves zeros past the last page, which LMDB ignores.
/// Never fails its caller: an error turns it off, logged once.
class file_preallocator {
public:
  /// On ext4 only (where it was measured), and off where O_DIRECT cannot be
  /// opened or opts is off (or step_bytes is not a multiple of 4 KiB).
  file_preallocator(lmdb_env& env, preallocate_options opts);
  ~file_preallocator();
  file_preallocator(const file_preallocator&) = delete;
  file_preallocator& operator=(const file_preallocator&) = delete;

  /// At most one step: when the file ends less than `ahead_bytes` past the
  /// last used page (a quarter of that when `idle` is false, so a busy
  /// journal pays for a step only when it must), writes `step_bytes` of
  /// zeros at the end with O_DIRECT, under LMDB's writer lock; an idle step
  /// then fdatasyncs them. Skipped while room_to_spare() is false, and
  /// never past the map size. Returns the bytes written.
  std::uint64_t step(bool idle);

  bool enabled() const { return enabled_; }
  /// At least 256 MiB free, and 10% of the file system or 4 GiB.
  bool room_to_spare() const;

private:
  std::uint64_t used_bytes() const;
  std::uint64_t step_locked(bool idle, std::uint64_t want);

  lmdb_env& env_;
  preallocate_options opts_;
  bool enabled_ = false;
  /// data.mdb opened again, O_DIRECT, for the zeros only.
  int fd_ = -1;
  /// The file's size as of our last look; LMDB may have grown it since.
  std::uint64_t known_end_ = 0;
  /// While the disk is short of room, look again only once LMDB has used
  /// this much (a statvfs per commit would cost more than it saves).
  std::uint64_t recheck_at_used_ = 0;
  /// step_bytes of zeros: a read-only anonymous mapping (page aligned, as
  /// O_DIRECT wants; the kernel's zero page, so no resident memory).
  const char* zeros_ = nullptr;
};

} // namespace hypercore::persistence
