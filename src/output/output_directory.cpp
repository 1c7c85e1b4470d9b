#include "svr/output/output_directory.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <vector>

#include "svr/core/error.hpp"
#include "svr/output/staging_janitor.hpp"

namespace svr {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& outdir, const std::string& problem) {
  throw OutputError(outdir + ": " + problem);
}

std::string errno_text(int err) { return std::strerror(err); }

// A staging directory that a termination signal must remove.
struct StagingEntry {
  std::string outdir;   // normalised as OutputDirectory keeps it
  std::string staging;  // "OUTDIR.partial-..."
  bool owned = false;   // created by an OutputDirectory of this process (else only reserved)
};

// Process-wide, shared by the main thread (create, commit, discard) and the signal thread
// (abandon). The mutex makes each of those atomic with respect to the others: the signal thread
// never removes a directory halfway through a commit, and nothing is committed once it has run.
struct StagingRegistry {
  std::mutex mutex;
  std::vector<StagingEntry> entries;
  bool abandoned = false;  // set by abandon_staging_directories(): the process is about to exit
};

// Never destroyed: the signal thread may need it while static destructors run at exit.
StagingRegistry& registry() {
  static StagingRegistry* const instance = new StagingRegistry;
  return *instance;
}

void forget_entry(StagingRegistry& r, const std::string& staging) {
  for (auto it = r.entries.begin(); it != r.entries.end(); ++it) {
    if (it->staging == staging) {
      r.entries.erase(it);
      janitor_forget(staging);
      return;
    }
  }
}

std::string normalised_outdir(std::string outdir) {
  while (outdir.size() > 1 && outdir.back() == '/') outdir.pop_back();
  return outdir;
}

}  // namespace

// "-<pid>-<8 hex digits>": unique between concurrent runs, and tells whose leftovers they are.
std::string new_staging_suffix() {
  std::uint32_t random = 0;
  try {
    random = std::random_device{}();
  } catch (const std::exception&) {
    random =
        static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "-%ld-%08x", static_cast<long>(::getpid()),
                static_cast<unsigned>(random));
  return buffer;
}

namespace {

std::string unique_suffix() { return new_staging_suffix(); }

// --force deletes the old OUTDIR: make sure it is one (an empty directory or one holding a
// summary.json), or a symbolic link (only the link is removed), so that a slip such as
// `-o ~ --force` cannot wipe a home directory.
void check_replaceable(const std::string& outdir, const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return;
  if (!S_ISDIR(st.st_mode)) {
    fail(outdir, "exists and is not a directory; refusing to replace it even with --force");
  }
  std::error_code ec;
  const bool empty = fs::is_empty(outdir, ec);
  if (ec) fail(outdir, "cannot read the existing directory: " + ec.message());
  struct stat summary {};
  const bool has_summary =
      ::lstat((outdir + "/summary.json").c_str(), &summary) == 0 && S_ISREG(summary.st_mode);
  if (!empty && !has_summary) {
    fail(outdir,
         "exists and does not look like an svr output directory (no summary.json); refusing to "
         "replace it even with --force");
  }
}

// Whether `path` exists (without following a final symbolic link); throws on other errors.
bool exists_no_follow(const std::string& outdir, const std::string& path, struct stat& st) {
  if (::lstat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  fail(outdir, "cannot inspect '" + path + "': " + errno_text(errno));
}

// rename(2) silently replaces an empty directory; never let it replace anything.
int rename_no_replace(const std::string& from, const std::string& to) {
#ifdef RENAME_NOREPLACE
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;  // else: file system without the flag
#endif
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) {
    errno = EEXIST;
    return -1;
  }
  return std::rename(from.c_str(), to.c_str());
}

// fsync of one file or directory; returns errno, 0 on success.
int sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int result = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return result;
}

}  // namespace

void reserve_staging_name(const std::string& outdir, const std::string& suffix) {
  StagingRegistry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  const std::string normalised = normalised_outdir(outdir);
  r.entries.push_back({normalised, normalised + ".partial" + suffix, false});
  janitor_watch(r.entries.back().staging);
}

std::vector<std::string> abandon_staging_directories(
    const std::function<void(const std::vector<std::string>&)>& before_removal) noexcept {
  std::vector<std::string> lost;
  try {
    StagingRegistry& r = registry();
    const std::lock_guard<std::mutex> lock(r.mutex);
    r.abandoned = true;
    // Rename first, every one: it is atomic against rank 0's rename into OUTDIR, and afterwards
    // no writer can add a file under the old path. Removing the contents can take longer; if
    // the launcher kills this process halfway, the janitor (staging_janitor.hpp) removes the
    // rest: it watches entry.staging and its ".removing-*" renames.
    std::vector<std::pair<std::string, std::string>> doomed;  // (staging, where it is now)
    for (const StagingEntry& entry : r.entries) {
      const std::string renamed = entry.staging + ".removing" + unique_suffix();
      if (std::rename(entry.staging.c_str(), renamed.c_str()) == 0) {
        doomed.emplace_back(entry.staging, renamed);
      } else if (errno != ENOENT) {
        doomed.emplace_back(entry.staging, entry.staging);  // another file system?: in place
      }
      if (entry.owned) lost.push_back(entry.outdir);
    }
    r.entries.clear();
    if (before_removal) {
      try {
        before_removal(lost);
      } catch (...) {
      }
    }
    for (const auto& [staging, now] : doomed) {
      std::error_code ec;
      fs::remove_all(now, ec);
      if (!ec) janitor_forget(staging);
    }
  } catch (...) {
    // Out of memory or a broken mutex while exiting: nothing better to do than exit anyway.
  }
  return lost;
}

void wait_for_staging_cleanup() noexcept {
  try {
    const std::lock_guard<std::mutex> lock(registry().mutex);
  } catch (...) {
    // A broken mutex while exiting: nothing to wait for that could be waited for.
  }
}

OutputDirectory::OutputDirectory(const std::string& outdir, bool force)
    : outdir_(normalised_outdir(outdir)), force_(force) {
  if (outdir_.empty()) fail("''", "the output directory name is empty");
  const std::size_t slash = outdir_.rfind('/');
  const std::string base = slash == std::string::npos ? outdir_ : outdir_.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") {
    fail(outdir, "not usable as an output directory (name a new directory)");
  }
  parent_ = slash == std::string::npos ? "." : slash == 0 ? "/" : outdir_.substr(0, slash);

  struct stat st {};
  int err = 0;
  if (::stat(parent_.c_str(), &st) != 0) {
    err = errno;
  } else if (!S_ISDIR(st.st_mode)) {
    err = ENOTDIR;
  } else if (::access(parent_.c_str(), W_OK | X_OK) != 0) {
    err = errno;
  }
  if (err != 0) {
    fail(outdir, "parent directory '" + parent_ + "' is not writable: " + errno_text(err));
  }

  if (exists_no_follow(outdir, outdir_, st)) {
    if (!force) fail(outdir, "already exists (use --force to replace it)");
    check_replaceable(outdir, st);
  }

  StagingRegistry& r = registry();
  const std::lock_guard<std::mutex> lock(r.mutex);
  if (r.abandoned) fail(outdir, "not created: svr is terminating");
  // The name every rank expects (reserve_staging_name), unless it is taken.
  for (StagingEntry& entry : r.entries) {
    if (entry.owned || entry.outdir != outdir_) continue;
    if (::mkdir(entry.staging.c_str(), 0777) == 0) {
      entry.owned = true;
      staging_ = entry.staging;
      return;
    }
    if (errno != EEXIST) {
      fail(outdir,
           "cannot create the staging directory '" + entry.staging + "': " + errno_text(errno));
    }
    // Someone else's directory by that name (practically impossible): never remove it, and
    // stage under a fresh name that only this rank knows.
    forget_entry(r, std::string(entry.staging));
    break;
  }
  for (int attempt = 0;; ++attempt) {
    const std::string staging = outdir_ + ".partial" + unique_suffix();
    if (::mkdir(staging.c_str(), 0777) == 0) {
      staging_ = staging;
      r.entries.push_back({outdir_, staging_, true});
      janitor_watch(staging_);
      break;
    }
    if (errno != EEXIST || attempt == 9) {
      fail(outdir, "cannot create the staging directory '" + staging + "': " + errno_text(errno));
    }
  }
}

OutputDirectory::~OutputDirectory() { discard(); }

OutputDirectory::OutputDirectory(OutputDirectory&& other) noexcept
    : outdir_(std::move(other.outdir_)),
      parent_(std::move(other.parent_)),
      staging_(std::move(other.staging_)),
      force_(other.force_),
      committed_(other.committed_) {
  other.staging_.clear();
}

OutputDirectory& OutputDirectory::operator=(OutputDirectory&& other) noexcept {
  if (this != &other) {
    discard();
    outdir_ = std::move(other.outdir_);
    parent_ = std::move(other.parent_);
    staging_ = std::move(other.staging_);
    force_ = other.force_;
    committed_ = other.committed_;
    other.staging_.clear();
  }
  return *this;
}

std::string OutputDirectory::file(const std::string& name) const { return staging_ + "/" + name; }

void OutputDirectory::commit() {
  if (staging_.empty()) fail(outdir_, "commit of a moved-from output directory");
  if (committed_) fail(outdir_, "already committed");
  StagingRegistry& r = registry();
  {
    const std::lock_guard<std::mutex> lock(r.mutex);
    if (r.abandoned) fail(outdir_, "not written: svr is terminating");
  }

  // The rename must not become visible before the data it points to is on disk.
  std::error_code ec;
  for (fs::recursive_directory_iterator it(staging_, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    if (const int err = sync_path(it->path().string(), false); err != 0) {
      fail(outdir_, "cannot flush '" + it->path().string() + "': " + errno_text(err));
    }
  }
  if (ec) fail(outdir_, "cannot list '" + staging_ + "': " + ec.message());
  if (const int err = sync_path(staging_, true); err != 0) {
    fail(outdir_, "cannot flush '" + staging_ + "': " + errno_text(err));
  }

  // From here to the end, this process's signal thread waits: it finds either the staging
  // directory (and removes it; this commit then fails) or a complete OUTDIR and no leftovers,
  // not even the old OUTDIR set aside. Another rank's signal thread renames the staging
  // directory away atomically, so the rename below either wins or fails and restores the old.
  const std::lock_guard<std::mutex> lock(r.mutex);
  if (r.abandoned) fail(outdir_, "not written: svr is terminating");

  std::string aside;  // the old OUTDIR, kept until the new one is in place
  struct stat st {};
  if (exists_no_follow(outdir_, outdir_, st)) {
    if (!force_) fail(outdir_, "already exists (use --force to replace it)");
    check_replaceable(outdir_, st);  // it may have been created during the run
    aside = outdir_ + ".old" + unique_suffix();
    if (std::rename(outdir_.c_str(), aside.c_str()) != 0) {
      fail(outdir_, "cannot move the existing directory aside: " + errno_text(errno));
    }
  }

  if (rename_no_replace(staging_, outdir_) != 0) {
    const int err = errno;
    if (!aside.empty()) std::rename(aside.c_str(), outdir_.c_str());  // put the old one back
    if (err == EEXIST || err == ENOTEMPTY)
      fail(outdir_, "already exists (use --force to replace it)");
    fail(outdir_, "cannot rename '" + staging_ + "' into place: " + errno_text(err));
  }
  committed_ = true;
  forget_entry(r, staging_);
  sync_path(parent_, true);  // best effort: the rename is done either way

  // Best effort too: the new OUTDIR is complete; a leftover "OUTDIR.old-..." is only clutter.
  if (!aside.empty()) fs::remove_all(aside, ec);
}

void OutputDirectory::discard() noexcept {
  if (committed_ || staging_.empty()) return;
  try {
    StagingRegistry& r = registry();
    const std::lock_guard<std::mutex> lock(r.mutex);
    forget_entry(r, staging_);
    std::error_code ec;
    if (!r.abandoned) fs::remove_all(staging_, ec);  // else the signal thread removed it
  } catch (...) {
    // A failed lock or allocation: leave the directory; its name says what it is.
  }
  staging_.clear();
}

}  // namespace svr
