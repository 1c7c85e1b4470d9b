// `svr aggregate`: the command line, and writing the tables and plots so that a failure never
// leaves a half-written table behind.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "svr/aggregate/aggregate.hpp"
#include "svr/core/error.hpp"
#include "svr/output/text_file.hpp"

namespace svr {

namespace {

namespace fs = std::filesystem;

constexpr const char* kHelp =
    R"(Usage: svr aggregate RUN_OR_ROOT... -o TABLE.csv [options]

Merges the summary.json of finished svr runs (a sweep over models or training
checkpoints) into two tidy CSV tables and SVG trend plots. Needs no MPI.

Arguments:
  RUN_OR_ROOT          a run directory (holds summary.json), or a root whose
                       immediate subdirectories are run directories. A root's
                       subdirectories named <i>-<slug> come first, ordered by
                       the integer i (10 after 9, 0010 after 0009), then the
                       others by name. Incomplete runs (an <i>-<slug> directory
                       without summary.json, *.partial-* and *.old-* staging
                       directories) are skipped with a warning; other
                       subdirectories without summary.json (logs/) are ignored.

Options:
  -o, --output TABLE.csv   the per-pair table (required). Next to it:
                           TABLE-models.csv (one row per model) and, unless
                           --no-plot, TABLE-significant.svg, TABLE-entropy.svg
                           and TABLE-models.svg. Existing files are replaced.
  --no-plot                write the two tables only
  --x index|order|number   x of the plots: index = i of the run directory
                           <i>-<slug> (default; the table order when a run has
                           no i), order = position in the table from 0,
                           number = the last integer in the model file name
                           (e.g. 1200 for ckpt_step1200.safetensors)
  --strict                 an incomplete run is an error, not a warning
  -h, --help               print this help and exit

Exit status: 0 on success, 1 when an input is missing or a summary.json is
malformed (nothing is written then), 2 on a usage error.
Columns and plots: docs/aggregate.md.
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Arguments {
  bool help = false;
  std::vector<std::string> inputs;
  std::string table;
  bool plot = true;
  bool strict = false;
  aggregate::XAxis x = aggregate::XAxis::Index;
};

aggregate::XAxis parse_x(const std::string& value) {
  if (value == "index") return aggregate::XAxis::Index;
  if (value == "order") return aggregate::XAxis::Order;
  if (value == "number") return aggregate::XAxis::Number;
  throw UsageError("--x: unknown value '" + value + "'; expected index, order or number");
}

Arguments parse_arguments(int argc, char** argv) {
  Arguments a;
  bool options_done = false;
  bool table_given = false;
  for (int k = 1; k < argc; ++k) {
    const std::string arg = argv[k];
    if (options_done || arg.empty() || arg[0] != '-' || arg == "-") {
      a.inputs.push_back(arg);
      continue;
    }
    // "--name=value" and "--name value" alike; "-oFILE" as well for the short option.
    std::string name = arg, value;
    bool has_value = false;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    } else if (arg.rfind("-o", 0) == 0 && arg.size() > 2 && arg[1] != '-') {
      name = "-o";
      value = arg.substr(2);
      has_value = true;
    }
    auto take_value = [&]() -> std::string {
      if (has_value) return value;
      if (k + 1 >= argc) throw UsageError(name + ": missing value");
      return argv[++k];
    };
    auto no_value = [&] {
      if (has_value) throw UsageError(name + ": takes no value");
    };
    if (name == "--") {
      no_value();
      options_done = true;
    } else if (name == "-h" || name == "--help") {
      no_value();
      a.help = true;
    } else if (name == "-o" || name == "--output") {
      if (table_given) throw UsageError(name + ": given twice");
      a.table = take_value();
      table_given = true;
      if (a.table.empty()) throw UsageError(name + ": empty file name");
    } else if (name == "--no-plot") {
      no_value();
      a.plot = false;
    } else if (name == "--strict") {
      no_value();
      a.strict = true;
    } else if (name == "--x") {
      a.x = parse_x(take_value());
    } else {
      throw UsageError("unknown option '" + name + "'");
    }
  }
  if (a.help) return a;
  if (a.inputs.empty()) throw UsageError("no run directory or root given");
  if (!table_given) throw UsageError("-o TABLE.csv is required");
  return a;
}

// TABLE.csv -> TABLE; any other name is its own stem ("sweep" -> sweep-models.csv).
std::string stem_of(const std::string& table) {
  const std::string suffix = ".csv";
  if (table.size() > suffix.size() &&
      table.compare(table.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return table.substr(0, table.size() - suffix.size());
  }
  return table;
}

struct OutputFile {
  std::string path, text;
};

// Every file goes to a temporary name next to its target first and is renamed only once all of
// them are complete: an interrupted or failed aggregate leaves the previous files (or none),
// never a truncated table.
void write_all(const std::vector<OutputFile>& files) {
  const std::string tag = ".partial-" + std::to_string(static_cast<long>(::getpid()));
  std::vector<std::string> written;
  auto clean_up = [&] {
    for (const std::string& temp : written) {
      std::error_code ignored;
      fs::remove(temp, ignored);
    }
  };
  for (const OutputFile& file : files) {
    std::error_code ec;
    if (fs::is_directory(file.path, ec)) {
      clean_up();
      throw OutputError(file.path + ": is a directory");
    }
    const std::string temp = file.path + tag;
    try {
      written.push_back(temp);
      output::TextFile out(temp);
      out.write(file.text);
      out.close();
    } catch (const OutputError& e) {
      clean_up();
      // The user knows the target, not the temporary name.
      std::string message = e.what();
      if (message.rfind(temp, 0) == 0) message = file.path + message.substr(temp.size());
      throw OutputError(message);
    }
  }
  for (std::size_t k = 0; k < files.size(); ++k) {
    if (std::rename(written[k].c_str(), files[k].path.c_str()) != 0) {
      const int err = errno;
      clean_up();
      throw OutputError(files[k].path + ": cannot rename into place: " + std::strerror(err));
    }
  }
}

std::string base_name(const std::string& path) { return fs::path(path).filename().string(); }

int run(const Arguments& a) {
  const aggregate::Discovery found = aggregate::discover_runs(a.inputs);
  for (const std::string& path : found.repeated) {
    std::fprintf(stderr, "svr aggregate: warning: %s named more than once; aggregated once\n",
                 path.c_str());
  }
  if (!found.skipped.empty()) {
    std::fprintf(stderr, "svr aggregate: %s: %zu incomplete run%s%s:\n",
                 a.strict ? "error" : "warning", found.skipped.size(),
                 found.skipped.size() == 1 ? "" : "s", a.strict ? " (--strict)" : " skipped");
    for (const aggregate::SkippedRun& s : found.skipped) {
      std::fprintf(stderr, "  %s\n", input_message(s.path, "", s.reason).c_str());
    }
    if (a.strict) return 1;
  }
  if (found.runs.empty()) {
    std::fputs("svr aggregate: no finished run (directory with summary.json) found\n", stderr);
    return 1;
  }

  std::vector<aggregate::RunSummary> runs;
  std::size_t pairs = 0;
  for (const aggregate::RunDir& dir : found.runs) {
    runs.push_back(aggregate::read_run_summary(dir));
    pairs += runs.back().pairs.size();
  }

  const std::string stem = stem_of(a.table);
  std::vector<OutputFile> files = {{a.table, aggregate::pairs_table(runs)},
                                   {stem + "-models.csv", aggregate::models_table(runs)}};
  if (a.plot) {
    std::string x_title;
    bool fell_back = false;
    const std::vector<double> x = aggregate::x_values(runs, a.x, x_title, fell_back);
    if (fell_back) {
      std::fputs(
          "svr aggregate: warning: not every run directory is named <i>-<slug>; plotting "
          "against the table order\n",
          stderr);
    }
    const std::string source = base_name(a.table);
    files.push_back(
        {stem + "-significant.svg",
         aggregate::render_trend_svg(aggregate::significant_plot(runs, x, x_title, source))});
    files.push_back({stem + "-entropy.svg", aggregate::render_trend_svg(aggregate::entropy_plot(
                                                runs, x, x_title, source))});
    files.push_back({stem + "-models.svg", aggregate::render_trend_svg(
                                               aggregate::models_plot(runs, x, x_title, source))});
  }
  write_all(files);
  std::string written;
  for (const OutputFile& file : files) written += (written.empty() ? "" : ", ") + file.path;
  std::fprintf(stderr, "svr aggregate: %zu run%s, %zu pair rows: wrote %s\n", runs.size(),
               runs.size() == 1 ? "" : "s", pairs, written.c_str());
  return 0;
}

}  // namespace

int aggregate_main(int argc, char** argv) {
  Arguments arguments;
  try {
    arguments = parse_arguments(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "svr aggregate: %s (see svr aggregate --help)\n", e.what());
    return 2;
  }
  if (arguments.help) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  try {
    return run(arguments);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "svr aggregate: %s\n", e.what());
    return 1;
  }
}

}  // namespace svr
