// SPDX-License-Identifier: Apache-2.0
#include "hypercore/persistence/job_tables.hpp"

#include <cstring>

#include "hypercore/core/routing.hpp"
#include "hypercore/persistence/codec.hpp"

namespace hypercore::persistence {

namespace {

MDB_val as_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string_view as_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// A cursor that closes itself; LMDB cursors of a write txn must be closed
// before commit, those of a read txn before abort.
class cursor {
public:
  cursor(MDB_txn* txn, MDB_dbi dbi) {
    if (int rc = mdb_cursor_open(txn, dbi, &cur_); rc != 0)
      throw lmdb_failure(rc, "mdb_cursor_open");
  }
  ~cursor() { mdb_cursor_close(cur_); }
  cursor(const cursor&) = delete;
  cursor& operator=(const cursor&) = delete;

  // Returns false at MDB_NOTFOUND, throws on anything else.
  bool get(MDB_val& k, MDB_val& v, MDB_cursor_op op) {
    int rc = mdb_cursor_get(cur_, &k, &v, op);
    if (rc == MDB_NOTFOUND) return false;
    if (rc != 0) throw lmdb_failure(rc, "mdb_cursor_get");
    return true;
  }

  MDB_cursor* raw() { return cur_; }

private:
  MDB_cursor* cur_ = nullptr;
};

} // namespace

std::optional<std::string_view> job_tables::get(MDB_dbi dbi, std::string_view key) const {
  MDB_val k = as_val(key), v;
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) throw lmdb_failure(rc, "mdb_get");
  return as_view(v);
}

void job_tables::put(MDB_dbi dbi, std::string_view key, std::string_view value,
                     unsigned flags) {
  MDB_val k = as_val(key), v = as_val(value);
  if (int rc = mdb_put(txn_, dbi, &k, &v, flags); rc != 0) throw lmdb_failure(rc, "mdb_put");
}

void job_tables::del(MDB_dbi dbi, std::string_view key) {
  MDB_val k = as_val(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) throw lmdb_failure(rc, "mdb_del");
}

std::optional<job> job_tables::get_job(const job_id& id) const {
  auto bytes = get(dbs_.jobs, id_key(id));
  if (!bytes) return std::nullopt;
  return decode_job(*bytes);
}

std::optional<job_head> job_tables::get_job_head(const job_id& id) const {
  auto bytes = get(dbs_.jobs, id_key(id));
  if (!bytes) return std::nullopt;
  return decode_job_head(*bytes);
}

void job_tables::put_job(const job& j) { put(dbs_.jobs, id_key(j.id), encode_job(j)); }

void job_tables::del_job(const job_id& id) { del(dbs_.jobs, id_key(id)); }

void job_tables::index_active(const job& j, std::int64_t now_ms) {
  if (j.partition_key.empty()
      && (j.run_at_ms > now_ms || j.status == job_status::retrying)) {
    put(dbs_.scheduled, scheduled_key(j.partition, j.run_at_ms, j.seq), id_key(j.id));
    return;
  }
  // A keyed entry carries its key's hash after the id, so the pager can pass
  // the jobs of a busy key without reading their records.
  auto value = id_key(j.id);
  if (!j.partition_key.empty()) put_be64(value, stable_hash(j.partition_key));
  put(dbs_.pending, pending_key(j.partition, j.seq), value);
  if (!j.partition_key.empty())
    put(dbs_.keys, key_index_key(j.partition, stable_hash(j.partition_key), j.seq),
        id_key(j.id));
}

void job_tables::unindex_active(const job& j) {
  del(dbs_.pending, pending_key(j.partition, j.seq));
  if (j.partition_key.empty())
    del(dbs_.scheduled, scheduled_key(j.partition, j.run_at_ms, j.seq));
  if (!j.partition_key.empty())
    del(dbs_.keys, key_index_key(j.partition, stable_hash(j.partition_key), j.seq));
}

void job_tables::index_terminal(const job& j) {
  put(dbs_.expiry, expiry_key(j.finished_at_ms, j.id), {});
  if (j.status == job_status::dead) put(dbs_.dead, id_key(j.id), {});
}

void job_tables::unindex_terminal(const job& j) {
  del(dbs_.expiry, expiry_key(j.finished_at_ms, j.id));
  del(dbs_.dead, id_key(j.id));
}

std::optional<job_id> job_tables::next_of_key(std::uint16_t partition,
                                              std::uint64_t key_hash,
                                              std::uint64_t after_seq) const {
  cursor cur{txn_, dbs_.keys};
  auto start = key_index_key(partition, key_hash, after_seq + 1);
  MDB_val k = as_val(start), v;
  if (!cur.get(k, v, MDB_SET_RANGE)) return std::nullopt;
  // Same (partition, hash) prefix: 10 bytes.
  if (k.mv_size != 18 || std::memcmp(k.mv_data, start.data(), 10) != 0) return std::nullopt;
  return id_from_key(as_view(v));
}

std::uint64_t job_tables::max_pending_seq(std::uint16_t partition) const {
  cursor cur{txn_, dbs_.pending};
  auto next = pending_key(static_cast<std::uint16_t>(partition + 1), 0);
  MDB_val k = as_val(next), v;
  bool found = partition == 0xFFFF ? cur.get(k, v, MDB_LAST)
                                   : (cur.get(k, v, MDB_SET_RANGE) ? cur.get(k, v, MDB_PREV)
                                                                   : cur.get(k, v, MDB_LAST));
  if (!found || k.mv_size != 10) return 0;
  if (get_be16(static_cast<const char*>(k.mv_data)) != partition) return 0;
  return get_be64(static_cast<const char*>(k.mv_data) + 2);
}

void job_tables::scan_pending(std::uint16_t partition, std::uint64_t after_seq,
                              const std::function<bool(const pending_entry&)>& visit) const {
  cursor cur{txn_, dbs_.pending};
  auto start = pending_key(partition, after_seq + 1);
  MDB_val k = as_val(start), v;
  for (bool more = cur.get(k, v, MDB_SET_RANGE); more; more = cur.get(k, v, MDB_NEXT)) {
    auto key = static_cast<const char*>(k.mv_data);
    if (k.mv_size != 10 || get_be16(key) != partition) return;
    pending_entry e;
    e.seq = get_be64(key + 2);
    e.id = id_from_key(as_view(v));
    // Entries written before format 2 hold the id alone.
    if (v.mv_size >= 24) e.key_hash = get_be64(static_cast<const char*>(v.mv_data) + 16);
    if (!visit(e)) return;
  }
}

void job_tables::scan_scheduled(
  std::uint16_t partition, std::int64_t after_run_at, std::uint64_t after_seq,
  std::int64_t until_ms,
  const std::function<bool(std::int64_t, std::uint64_t, const job_id&)>& visit) const {
  cursor cur{txn_, dbs_.scheduled};
  auto start = scheduled_key(partition, after_run_at, after_seq + 1);
  MDB_val k = as_val(start), v;
  for (bool more = cur.get(k, v, MDB_SET_RANGE); more; more = cur.get(k, v, MDB_NEXT)) {
    auto key = static_cast<const char*>(k.mv_data);
    if (k.mv_size != 18 || get_be16(key) != partition) return;
    auto run_at = static_cast<std::int64_t>(get_be64(key + 2));
    if (run_at > until_ms) return;
    if (!visit(run_at, get_be64(key + 10), id_from_key(as_view(v)))) return;
  }
}

std::optional<std::int64_t> job_tables::next_scheduled(std::uint16_t partition,
                                                       std::int64_t after_run_at,
                                                       std::uint64_t after_seq) const {
  cursor cur{txn_, dbs_.scheduled};
  auto start = scheduled_key(partition, after_run_at, after_seq + 1);
  MDB_val k = as_val(start), v;
  if (!cur.get(k, v, MDB_SET_RANGE)) return std::nullopt;
  auto key = static_cast<const char*>(k.mv_data);
  if (k.mv_size != 18 || get_be16(key) != partition) return std::nullopt;
  return static_cast<std::int64_t>(get_be64(key + 2));
}

void job_tables::scan_dead(const std::function<bool(const job_id&)>& visit) const {
  cursor cur{txn_, dbs_.dead};
  MDB_val k, v;
  for (bool more = cur.get(k, v, MDB_FIRST); more; more = cur.get(k, v, MDB_NEXT))
    if (!visit(id_from_key(as_view(k)))) return;
}

void job_tables::scan_expired(std::int64_t before_ms,
                              const std::function<bool(const job_id&)>& visit) const {
  cursor cur{txn_, dbs_.expiry};
  MDB_val k, v;
  for (bool more = cur.get(k, v, MDB_FIRST); more; more = cur.get(k, v, MDB_NEXT)) {
    auto key = static_cast<const char*>(k.mv_data);
    if (k.mv_size != 24) continue;
    if (static_cast<std::int64_t>(get_be64(key)) >= before_ms) return;
    if (!visit(id_from_key(std::string_view{key + 8, 16}))) return;
  }
}

void job_tables::scan_jobs(const std::function<bool(const job&)>& visit) const {
  cursor cur{txn_, dbs_.jobs};
  MDB_val k, v;
  for (bool more = cur.get(k, v, MDB_FIRST); more; more = cur.get(k, v, MDB_NEXT)) {
    if (auto j = decode_job(as_view(v)); j && !visit(*j)) return;
  }
}

void job_tables::put_result(const job_id& id, std::string_view output) {
  put(dbs_.results, id_key(id), output);
}

std::optional<std::string> job_tables::get_result(const job_id& id) const {
  auto bytes = get(dbs_.results, id_key(id));
  if (!bytes) return std::nullopt;
  return std::string{*bytes};
}

void job_tables::del_result(const job_id& id) { del(dbs_.results, id_key(id)); }

std::optional<idempotency_entry> job_tables::get_idempotency(std::string_view key) const {
  auto bytes = get(dbs_.idempotency, key);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  idempotency_entry e;
  e.id = id_from_key(bytes->substr(0, 16));
  e.request_digest = get_be64(bytes->data() + 16);
  e.created_at_ms = static_cast<std::int64_t>(get_be64(bytes->data() + 24));
  return e;
}

void job_tables::put_idempotency(std::string_view key, const idempotency_entry& e) {
  auto value = id_key(e.id);
  put_be64(value, e.request_digest);
  put_be64(value, static_cast<std::uint64_t>(e.created_at_ms));
  put(dbs_.idempotency, key, value);
}

void job_tables::del_idempotency(std::string_view key) { del(dbs_.idempotency, key); }

std::optional<stored_session> job_tables::get_session(std::string_view id) const {
  auto bytes = get(dbs_.sessions, id);
  if (!bytes) return std::nullopt;
  // A record too short for its expiry reads as long expired: gone for
  // readers, removed by the sweep.
  if (bytes->size() < 8) return stored_session{0, {}};
  return stored_session{static_cast<std::int64_t>(get_be64(bytes->data())),
                        std::string{bytes->substr(8)}};
}

void job_tables::put_session(std::string_view id, std::int64_t expires_at_ms,
                             std::string_view data) {
  std::string record;
  record.reserve(8 + data.size());
  put_be64(record, static_cast<std::uint64_t>(expires_at_ms));
  record.append(data);
  put(dbs_.sessions, id, record);
}

void job_tables::del_session(std::string_view id) { del(dbs_.sessions, id); }

void job_tables::scan_sessions(
  const std::function<bool(std::string_view, std::int64_t)>& visit) const {
  cursor cur{txn_, dbs_.sessions};
  MDB_val k, v;
  for (bool more = cur.get(k, v, MDB_FIRST); more; more = cur.get(k, v, MDB_NEXT)) {
    auto expires = v.mv_size >= 8
                     ? static_cast<std::int64_t>(get_be64(static_cast<const char*>(v.mv_data)))
                     : 0;
    if (!visit(as_view(k), expires)) return;
  }
}

std::uint64_t job_tables::seq_mark(std::uint16_t partition) const {
  auto bytes = get(dbs_.meta, "seq/" + std::to_string(partition));
  if (!bytes || bytes->size() != 8) return 0;
  return get_be64(bytes->data());
}

void job_tables::put_seq_mark(std::uint16_t partition, std::uint64_t seq) {
  std::string value;
  put_be64(value, seq);
  put(dbs_.meta, "seq/" + std::to_string(partition), value);
}

namespace {

std::string position_key(std::uint64_t position) {
  std::string key;
  key.reserve(8);
  put_be64(key, position);
  return key;
}

} // namespace

void job_tables::put_event(std::uint64_t position, std::string_view record) {
  put(dbs_.events, position_key(position), record, MDB_APPEND);
}

void job_tables::scan_events(
  std::uint64_t from, std::uint64_t to,
  const std::function<bool(std::uint64_t, std::string_view)>& visit) const {
  if (from >= to) return;
  cursor cur{txn_, dbs_.events};
  auto start = position_key(from);
  MDB_val k = as_val(start), v;
  for (bool more = cur.get(k, v, MDB_SET_RANGE); more; more = cur.get(k, v, MDB_NEXT)) {
    if (k.mv_size != 8) continue;
    auto position = get_be64(static_cast<const char*>(k.mv_data));
    if (position >= to || !visit(position, as_view(v))) return;
  }
}

std::optional<std::uint64_t> job_tables::first_event() const {
  cursor cur{txn_, dbs_.events};
  MDB_val k, v;
  if (!cur.get(k, v, MDB_FIRST) || k.mv_size != 8) return std::nullopt;
  return get_be64(static_cast<const char*>(k.mv_data));
}

std::optional<std::uint64_t> job_tables::last_event() const {
  cursor cur{txn_, dbs_.events};
  MDB_val k, v;
  if (!cur.get(k, v, MDB_LAST) || k.mv_size != 8) return std::nullopt;
  return get_be64(static_cast<const char*>(k.mv_data));
}

std::size_t job_tables::trim_events(std::uint64_t before, std::size_t limit) {
  std::size_t removed = 0;
  cursor cur{txn_, dbs_.events};
  MDB_val k, v;
  while (removed < limit && cur.get(k, v, MDB_FIRST)) {
    if (k.mv_size != 8 || get_be64(static_cast<const char*>(k.mv_data)) >= before) break;
    if (int rc = mdb_cursor_del(cur.raw(), 0); rc != 0) throw lmdb_failure(rc, "mdb_cursor_del");
    ++removed;
  }
  return removed;
}

std::uint64_t job_tables::feed_mark() const {
  auto bytes = get(dbs_.meta, "feed/next");
  if (!bytes || bytes->size() != 8) return 0;
  return get_be64(bytes->data());
}

void job_tables::put_feed_mark(std::uint64_t next_position) {
  std::string value;
  put_be64(value, next_position);
  put(dbs_.meta, "feed/next", value);
}

std::uint64_t job_tables::count(MDB_dbi dbi) const {
  MDB_stat st;
  if (int rc = mdb_stat(txn_, dbi, &st); rc != 0) throw lmdb_failure(rc, "mdb_stat");
  return st.ms_entries;
}

} // namespace hypercore::persistence
