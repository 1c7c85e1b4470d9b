#pragma once
// The output directory of a run, built in a staging directory next to OUTDIR and renamed into
// place only when every file is complete, so a failed or killed run never leaves a half-written
// OUTDIR (at worst an "OUTDIR.partial-..." directory that nothing mistakes for a result).
// Only one process (MPI rank 0) may own an OutputDirectory for a given OUTDIR.
#include <string>

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

}  // namespace svr
