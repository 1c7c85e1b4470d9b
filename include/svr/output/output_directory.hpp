#pragma once
// The output directory of a run, built in a staging directory next to OUTDIR and renamed into
// place only when every file is complete, so a failed or killed run never leaves a half-written
// OUTDIR (at worst an "OUTDIR.partial-..." directory that nothing mistakes for a result).
// Only one process (MPI rank 0) may own an OutputDirectory for a given OUTDIR.
//
// Termination by a signal (termination.hpp) must not leave the staging directory behind either,
// even when the rank that owns it is the one that died. So every staging directory, and the one
// rank 0 is about to create, is kept in a process-wide registry that the signal thread empties
// with abandon_staging_directories() just before the process exits.
#include <functional>
#include <string>
#include <vector>

namespace svr {

class OutputDirectory {
 public:
  // Checks up front, before any computation: the parent directory of `outdir` exists and is
  // writable, and `outdir` does not exist unless `force` (then it is replaced at commit; to
  // guard against `-o ~ --force`, only a directory that is empty or holds a summary.json, or a
  // symbolic link, is ever replaced). Creates "OUTDIR.partial-<pid>-<random>" next to it.
  // Throws OutputError with a one-line message naming OUTDIR.
  OutputDirectory(const std::string& outdir, bool force);
  ~OutputDirectory();  // removes the staging directory if not committed; never throws

  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;
  OutputDirectory(OutputDirectory&& other) noexcept;
  OutputDirectory& operator=(OutputDirectory&& other) noexcept;

  const std::string& outdir() const { return outdir_; }
  const std::string& staging_path() const { return staging_; }
  // staging_path() + "/" + name: where a writer puts the file `name` before commit.
  std::string file(const std::string& name) const;

  // Flushes every file to disk, moves an existing OUTDIR aside (with force), renames the
  // staging directory to OUTDIR, then deletes the old one. Throws OutputError on failure, in
  // which case an old OUTDIR is put back. Calling it twice throws.
  void commit();
  bool committed() const { return committed_; }

 private:
  void discard() noexcept;

  std::string outdir_;   // as given, without trailing slashes
  std::string parent_;   // directory holding outdir_ and the staging directory
  std::string staging_;  // empty once moved from
  bool force_ = false;
  bool committed_ = false;
};

// "-<pid>-<8 hex digits>": the end of a staging directory's name, unique between concurrent runs.
std::string new_staging_suffix();

// Announces that the OutputDirectory for `outdir` (created later, by rank 0) will stage in
// "OUTDIR.partial<suffix>". Every rank calls it with the suffix rank 0 drew, so that whichever
// rank receives a termination signal can remove that directory, including after rank 0 crashed.
// Thread-safe.
void reserve_staging_name(const std::string& outdir, const std::string& suffix);

// For the signal thread, just before the process exits: from now on no OutputDirectory can be
// created, committed or discarded (each throws OutputError or does nothing), and every staging
// directory this process knows of, its own or reserved, is renamed aside (atomically: a
// concurrent commit on another rank either completed or now cannot) and removed. Returns the
// OUTDIRs of this process's own uncommitted staging directories, i.e. the outputs that will not
// appear. `before_removal`, if given, is called with that list once every directory is renamed
// aside and before their contents are removed (the signal thread prints its line then: a
// launcher's SIGKILL may follow soon, and the janitor finishes a removal cut short). Thread-safe;
// waits while a commit or discard holds the registry.
std::vector<std::string> abandon_staging_directories(
    const std::function<void(const std::vector<std::string>&)>& before_removal = {}) noexcept;

// Returns once no abandon_staging_directories() call is in progress (the signal thread's), so
// that a main thread about to leave the process does not cut a removal short. Removes nothing.
void wait_for_staging_cleanup() noexcept;

}  // namespace svr
