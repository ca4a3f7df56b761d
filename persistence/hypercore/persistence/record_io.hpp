// SPDX-License-Identifier: Apache-2.0
#pragma once

// Writing and reading the fields of a stored record (job records, event log
// entries). Values inside a record are fixed width in host order, which we
// require to be little-endian: records are read and written whole, never
// compared byte-wise, so only keys need big-endian. A reader never reads
// past the record: every read reports whether the bytes were there.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "hypercore/core/job_id.hpp"

namespace hypercore::persistence {

static_assert(std::endian::native == std::endian::little,
              "the record format assumes a little-endian host");

template <class T>
void put_le(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

inline void put_str(std::string& out, std::string_view s) {
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
  out.append(s.data(), s.size());
}

inline void put_id(std::string& out, const job_id& id) {
  put_le(out, id.hi);
  put_le(out, id.lo);
}

class record_reader {
public:
  explicit record_reader(std::string_view bytes) : rest_(bytes) {}

  template <class T>
  bool read(T& v) {
    if (rest_.size() < sizeof(T)) return false;
    std::memcpy(&v, rest_.data(), sizeof(T));
    rest_.remove_prefix(sizeof(T));
    return true;
  }

  bool read(std::string& s) {
    std::uint32_t n = 0;
    if (!read(n) || rest_.size() < n) return false;
    s.assign(rest_.data(), n);
    rest_.remove_prefix(n);
    return true;
  }

  /// A string as a view into the record, no copy.
  bool read(std::string_view& s) {
    std::uint32_t n = 0;
    if (!read(n) || rest_.size() < n) return false;
    s = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }

  bool read(job_id& id) { return read(id.hi) && read(id.lo); }

  /// Bytes not read yet: bounds a count read from the record.
  std::size_t remaining() const { return rest_.size(); }

private:
  std::string_view rest_;
};

} // namespace hypercore::persistence
