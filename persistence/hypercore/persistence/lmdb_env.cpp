// SPDX-License-Identifier: Apache-2.0
#include "hypercore/persistence/lmdb_env.hpp"

#include <utility>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "hypercore/core/errc.hpp"

namespace hypercore::persistence {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view magic = "hypercore";
constexpr const char* lock_file_name = "hypercore.lock";

// Takes the directory's lock (flock: released by the kernel when the process
// dies, so a SIGKILL never leaves a stale lock) and writes our pid into it.
caf::expected<int> lock_directory(const std::string& dir) {
  auto path = (fs::path{dir} / lock_file_name).string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0)
    return make_error(errc::storage_failure, "cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    auto n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK)
      return make_error(errc::storage_failure, "cannot lock " + path + ": " + std::strerror(err));
    std::string holder = n > 0 ? std::string{buf, static_cast<std::size_t>(n)} : "unknown";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return make_error(errc::data_dir_locked,
                      dir + " is in use by another Hypercore process (pid " + holder + ")");
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0)
    spdlog::warn("lmdb: could not write the pid into {}", path);
  return fd;
}

std::string lmdb_message(int rc, const char* where) {
  return std::string{where} + ": " + mdb_strerror(rc);
}

MDB_val as_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

caf::error check_directory(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return make_error(errc::storage_failure, "cannot create " + dir + ": " + ec.message());
    return {};
  }
  if (!fs::is_directory(dir, ec))
    return make_error(errc::foreign_data_dir, dir + " is not a directory");
  if (fs::exists(fs::path{dir} / "data.mdb", ec)) return {};
  for (const auto& entry : fs::directory_iterator{dir, ec}) {
    if (entry.path().filename() != "lock.mdb" && entry.path().filename() != lock_file_name)
      return make_error(errc::foreign_data_dir,
                        dir + " is not empty and holds no Hypercore store; "
                              "refusing to create one there");
  }
  return {};
}

} // namespace

lmdb_failure::lmdb_failure(int code, const char* where)
  : std::runtime_error(lmdb_message(code, where)), rc(code) {}

caf::expected<std::shared_ptr<lmdb_env>> lmdb_env::open(const env_options& opts) {
  if (opts.read_only) {
    std::error_code ec;
    // A zero-length file is what a crash in the very first open leaves.
    auto data = fs::path{opts.dir} / "data.mdb";
    if (!fs::exists(data, ec) || fs::file_size(data, ec) == 0 || ec)
      return make_error(errc::not_found, "no Hypercore store in " + opts.dir);
  } else if (auto err = check_directory(opts.dir)) {
    return err;
  }
  std::shared_ptr<lmdb_env> self{new lmdb_env};
  self->dir_ = opts.dir;
  if (opts.exclusive && !opts.read_only) {
    auto fd = lock_directory(opts.dir);
    if (!fd) return fd.error();
    self->lock_fd_ = *fd;
  }
  auto fail = [&](int rc, const char* where) {
    auto code = rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ? errc::foreign_data_dir
                                                                 : errc::storage_failure;
    return make_error(code, opts.dir + ": " + lmdb_message(rc, where));
  };
  if (int rc = mdb_env_create(&self->env_); rc != 0) return fail(rc, "mdb_env_create");
  mdb_env_set_maxdbs(self->env_, 16);
  mdb_env_set_maxreaders(self->env_, 512);
  // A reader adopts the size the store records (0), which may be larger.
  if (int rc = mdb_env_set_mapsize(self->env_, opts.read_only ? 0 : opts.map_bytes); rc != 0)
    return fail(rc, "mdb_env_set_mapsize");
  unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
  if (!opts.sync) flags |= MDB_NOSYNC;
  if (opts.read_only) flags |= MDB_RDONLY;
  if (int rc = mdb_env_open(self->env_, opts.dir.c_str(), flags, 0640); rc != 0)
    return fail(rc, "mdb_env_open");
  // Slots of readers from a crashed process would pin old pages forever.
  int dead_readers = 0;
  mdb_reader_check(self->env_, &dead_readers);
  if (dead_readers > 0) spdlog::warn("lmdb: cleared {} stale reader slots", dead_readers);
  MDB_envinfo info;
  mdb_env_info(self->env_, &info);
  self->map_bytes_ = info.me_mapsize;

  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(self->env_, nullptr, opts.read_only ? MDB_RDONLY : 0, &txn); rc != 0)
    return fail(rc, "mdb_txn_begin");
  // Is this a store at all? A fresh one has no named databases yet.
  MDB_dbi main_db = 0;
  mdb_dbi_open(txn, nullptr, 0, &main_db);
  MDB_stat main_stat;
  mdb_stat(txn, main_db, &main_stat);
  bool fresh = main_stat.ms_entries == 0;
  if (fresh && opts.read_only) {
    mdb_txn_abort(txn);
    return make_error(errc::not_found, "no Hypercore store in " + opts.dir + " (it is empty)");
  }
  MDB_dbi probe = 0;
  if (!fresh && mdb_dbi_open(txn, "meta", 0, &probe) != 0) {
    mdb_txn_abort(txn);
    return make_error(errc::foreign_data_dir,
                      opts.dir + " holds an LMDB environment that is not a Hypercore store");
  }
  struct named {
    const char* name;
    MDB_dbi* dbi;
  };
  auto& d = self->dbs_;
  for (auto [name, dbi] : {named{"jobs", &d.jobs}, named{"pending", &d.pending},
                           named{"scheduled", &d.scheduled},
                           named{"keys", &d.keys}, named{"results", &d.results},
                           named{"dead", &d.dead}, named{"expiry", &d.expiry},
                           named{"idempotency", &d.idempotency},
                           named{"sessions", &d.sessions}, named{"meta", &d.meta},
                           named{"events", &d.events}}) {
    // Tables added by later builds are created on an engine's open; a
    // reader cannot create them.
    if (int rc = mdb_dbi_open(txn, name, opts.read_only ? 0 : MDB_CREATE, dbi); rc != 0) {
      mdb_txn_abort(txn);
      if (rc == MDB_NOTFOUND)
        return make_error(errc::storage_failure,
                          opts.dir + " has no table '" + name
                            + "' (an older build wrote it); start hypercore serve on it once "
                              "to add it, then read it");
      return fail(rc, "mdb_dbi_open");
    }
  }
  auto get_meta = [&](std::string_view key) -> std::optional<std::string> {
    MDB_val k = as_val(key), v;
    if (mdb_get(txn, d.meta, &k, &v) != 0) return std::nullopt;
    return std::string{static_cast<const char*>(v.mv_data), v.mv_size};
  };
  auto put_meta = [&](std::string_view key, std::string_view value) {
    MDB_val k = as_val(key), v = as_val(value);
    return mdb_put(txn, d.meta, &k, &v, 0);
  };
  auto stored_magic = get_meta("magic");
  if (!stored_magic) {
    if (!fresh || opts.read_only) {
      mdb_txn_abort(txn);
      return make_error(errc::foreign_data_dir, opts.dir + " has no Hypercore meta record");
    }
    std::string version = std::to_string(store_format_version);
    std::string parts = std::to_string(opts.partitions == 0 ? 8 : opts.partitions);
    if (put_meta("magic", magic) || put_meta("format", version)
        || put_meta("partitions", parts)) {
      mdb_txn_abort(txn);
      return make_error(errc::storage_failure, opts.dir + ": cannot write meta");
    }
  } else {
    auto fmt = get_meta("format").value_or("0");
    auto digits = [](const std::string& s) {
      return !s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string::npos;
    };
    auto parts = get_meta("partitions").value_or("0");
    std::string error;
    if (*stored_magic != magic || !digits(fmt) || !digits(get_meta("partitions").value_or(""))) {
      mdb_txn_abort(txn);
      return make_error(errc::foreign_data_dir, opts.dir + " is not a Hypercore store");
    }
    if (std::stoul(fmt) > store_format_version) {
      mdb_txn_abort(txn);
      return make_error(errc::newer_format,
                        opts.dir + " was written by store format " + fmt
                          + "; this build reads up to "
                          + std::to_string(store_format_version));
    }
    if (opts.partitions != 0 && std::stoul(parts) != opts.partitions) {
      mdb_txn_abort(txn);
      return make_error(errc::invalid_config,
                        "partitions: " + opts.dir + " was created with " + parts
                          + " partitions; configure partitions = " + parts
                          + " (per-key order depends on it)");
    }
  }
  if (int rc = mdb_txn_commit(txn); rc != 0) return fail(rc, "mdb_txn_commit");
  return self;
}

lmdb_env::~lmdb_env() {
  if (env_ != nullptr) mdb_env_close(env_);
  // After the environment: the next holder must find the store closed.
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

int lmdb_env::grow_map() {
  std::unique_lock<std::shared_mutex> guard{resize_mutex_};
  auto next = map_bytes_ * 2;
  if (int rc = mdb_env_set_mapsize(env_, next); rc != 0) return rc;
  map_bytes_ = next;
  spdlog::info("lmdb: map grown to {} MiB", next >> 20);
  return 0;
}

int lmdb_env::adopt_map_size() {
  std::unique_lock<std::shared_mutex> guard{resize_mutex_};
  if (int rc = mdb_env_set_mapsize(env_, 0); rc != 0) return rc;
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  map_bytes_ = info.me_mapsize;
  return 0;
}

bool lmdb_env::disk_nearly_full() const {
  struct statvfs fs {};
  if (::statvfs(dir_.c_str(), &fs) != 0) return false;
  auto total = static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize;
  auto free = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  return free < std::min<std::uint64_t>(std::uint64_t{64} << 20, total / 20);
}

read_txn::read_txn(lmdb_env& env) : lock_(env.resize_mutex()) {
  int rc = mdb_txn_begin(env.raw(), nullptr, MDB_RDONLY, &txn_);
  if (rc == MDB_MAP_RESIZED) {
    // Only a reader beside another process' engine sees this: an engine
    // grows its own map with no reader open (grow_map).
    lock_.unlock();
    rc = env.adopt_map_size();
    lock_.lock();
    if (rc == 0) rc = mdb_txn_begin(env.raw(), nullptr, MDB_RDONLY, &txn_);
  }
  if (rc != 0) throw lmdb_failure(rc, "mdb_txn_begin(read)");
}

read_txn::~read_txn() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

write_txn::write_txn(lmdb_env& env) {
  if (int rc = mdb_txn_begin(env.raw(), nullptr, 0, &txn_); rc != 0)
    throw lmdb_failure(rc, "mdb_txn_begin");
}

write_txn::~write_txn() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

void write_txn::commit() {
  auto* txn = std::exchange(txn_, nullptr);
  if (int rc = mdb_txn_commit(txn); rc != 0) throw lmdb_failure(rc, "mdb_txn_commit");
}

} // namespace hypercore::persistence
