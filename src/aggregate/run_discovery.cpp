// Which directories of the command line are runs, in which order, and which are incomplete.
#include <algorithm>
#include <filesystem>
#include <limits>
#include <set>
#include <system_error>

#include "svr/aggregate/aggregate.hpp"
#include "svr/core/error.hpp"

namespace svr::aggregate {

namespace {

namespace fs = std::filesystem;

std::string join(const std::string& root, const std::string& name) {
  if (!root.empty() && root.back() == '/') return root + name;
  return root + "/" + name;
}

// Last component of a path as typed: "out/3-a/" names "3-a".
std::string base_name(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return fs::path(path).filename().string();
}

// svr stages a run in OUTDIR.partial-<pid>-<hex> and, with --force, parks the previous output in
// OUTDIR.old-<pid>-<hex> while replacing it: neither is a finished run of its own, even when a
// summary.json is already (or still) inside.
const char* staging_reason(const std::string& name) {
  if (name.find(".partial-") != std::string::npos) return "staging directory of an unfinished run";
  if (name.find(".old-") != std::string::npos) return "previous output being replaced (--force)";
  return nullptr;
}

bool is_dir(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool has_summary(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "summary.json", ec);
}

struct Entry {
  std::string name;
  std::optional<std::int64_t> index;
};

// Indexed runs first by i (so "10-..." after "9-..."), then by name; the rest by name.
bool table_order(const Entry& a, const Entry& b) {
  if (a.index.has_value() != b.index.has_value()) return a.index.has_value();
  if (a.index && *a.index != *b.index) return *a.index < *b.index;
  return a.name < b.name;
}

}  // namespace

std::optional<std::int64_t> run_index_of(const std::string& directory_name) {
  std::size_t at = 0;
  std::int64_t value = 0;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  while (at < directory_name.size() && directory_name[at] >= '0' && directory_name[at] <= '9') {
    const int digit = directory_name[at] - '0';
    if (value > (kMax - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
    ++at;
  }
  if (at == 0 || at >= directory_name.size() || directory_name[at] != '-') return std::nullopt;
  return value;
}

Discovery discover_runs(const std::vector<std::string>& arguments) {
  Discovery found;
  std::set<std::string> seen;
  auto add_run = [&](const std::string& path, const std::string& name) {
    std::error_code ec;
    fs::path key = fs::weakly_canonical(path, ec);
    const std::string id = ec ? path : key.string();
    if (!seen.insert(id).second) {
      found.repeated.push_back(path);
      return;
    }
    found.runs.push_back({path, run_index_of(name)});
  };

  for (const std::string& argument : arguments) {
    std::error_code ec;
    const fs::file_status status = fs::status(argument, ec);
    if (!fs::exists(status)) {
      throw_input(argument, "", "no such directory");
    }
    if (!fs::is_directory(status)) {
      throw_input(argument, "",
                  "not a directory (expected a run directory or a directory of runs)");
    }
    const std::string name = base_name(argument);
    if (const char* reason = staging_reason(name)) {
      found.skipped.push_back({argument, reason});
      continue;
    }
    if (has_summary(argument)) {
      add_run(argument, name);
      continue;
    }

    std::vector<Entry> entries;
    fs::directory_iterator it(argument, ec);
    if (ec) throw_input(argument, "", "cannot list the directory: " + ec.message());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      const std::string child = it->path().filename().string();
      // Hidden directories (.snapshot, .ipynb_checkpoints) are never runs of a sweep.
      if (child.empty() || child[0] == '.') continue;
      if (!is_dir(it->path())) continue;  // the list file, Slurm logs, the table itself
      entries.push_back({child, run_index_of(child)});
    }
    if (ec) throw_input(argument, "", "cannot list the directory: " + ec.message());
    if (entries.empty()) {
      // svr's output directories have no subdirectories: an empty one is a run that never
      // finished (or a root without runs), not a root.
      found.skipped.push_back({argument, "no summary.json"});
      continue;
    }
    std::sort(entries.begin(), entries.end(), table_order);
    for (const Entry& entry : entries) {
      const std::string path = join(argument, entry.name);
      if (const char* reason = staging_reason(entry.name)) {
        found.skipped.push_back({path, reason});
      } else if (has_summary(path)) {
        add_run(path, entry.name);
      } else if (entry.index) {
        found.skipped.push_back({path, "no summary.json"});
      }
      // Else not a run at all: the Slurm sweep keeps its task logs in OUTROOT/logs/, and a
      // warning about it on every aggregate (an error with --strict) would be noise.
    }
  }
  return found;
}

}  // namespace svr::aggregate
