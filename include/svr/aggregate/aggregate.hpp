#pragma once
// `svr aggregate`: merges the summary.json of many runs (a sweep) into tidy CSV tables and SVG
// trend plots (docs/aggregate.md). Needs no MPI, so main dispatches to it before MPI is
// initialised. The pieces are public so that tests can check each one on its own.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace svr {

// argv[0] is "aggregate"; returns the process exit code (0 on success, 2 on a usage error,
// 1 on a bad run directory), printing one-line errors to stderr.
int aggregate_main(int argc, char** argv);

namespace aggregate {

// A directory that should hold one finished run.
struct RunDir {
  std::string path;                   // the argument, or argument + "/" + subdirectory name
  std::optional<std::int64_t> index;  // i of a directory named "<i>-<slug>"
};

struct SkippedRun {
  std::string path;
  std::string reason;
};

struct Discovery {
  std::vector<RunDir> runs;           // in table order
  std::vector<SkippedRun> skipped;    // incomplete runs (no summary.json, staging directories)
  std::vector<std::string> repeated;  // run directories named twice; kept once, at first mention
};

// i of "<i>-<slug>" (decimal digits, then '-'); nothing for other names or an i beyond int64.
std::optional<std::int64_t> run_index_of(const std::string& directory_name);

// Expands the arguments: a directory holding summary.json is a run; any other directory is a
// root whose immediate subdirectories are runs, those named "<i>-..." first by i, then the others
// by name. In a root, a "<i>-..." subdirectory without summary.json and a staging directory are
// incomplete runs; other subdirectories without summary.json (logs/) are not runs. Throws
// InputError for an argument that is not a directory.
Discovery discover_runs(const std::vector<std::string>& arguments);

struct PairRow {
  std::int64_t index = 0, from_layer = 0, to_layer = 0;
  std::string from_name, to_name;
  std::int64_t c = 0, z = 0;
  std::string null_kind;
  std::int64_t edges_tested = 0, significant = 0, edges_reported = 0;
  std::int64_t internal_dim_from = 0, internal_dim_to = 0;
  std::optional<double> entropy, entropy_normalized;  // nothing where summary.json has null
};

// What the tables and plots use from one summary.json.
struct RunSummary {
  RunDir dir;
  std::string model, method, input_sha256, input_format, version;
  std::string correction, fdr_scope;
  std::optional<double> alpha, sigma;
  std::int64_t layers = 0, spectral_neurons = 0, rank_total = 0, near_kernel = 0;
  std::vector<PairRow> pairs;
  std::optional<double> log10_path_weighted, log10_path_unweighted;
  std::int64_t chains = 0, longest_chain = 0;
  std::int64_t mpi_ranks = 0;
  std::vector<std::pair<std::string, std::optional<double>>> seconds_per_phase;
  std::optional<double> peak_memory_mb;
};

// Reads and validates DIR/summary.json (schema_version 1). Throws InputError
// "DIR/summary.json: PROBLEM" naming the offending field, e.g. "pairs[2].significant: expected
// an integer, found string".
RunSummary read_run_summary(const RunDir& dir);

// The two tables (docs/aggregate.md), RFC 4180, header line first, "\n" line ends.
std::string pairs_table(const std::vector<RunSummary>& runs);
std::string models_table(const std::vector<RunSummary>& runs);

// What the plots use as x.
enum class XAxis {
  Index,   // i of "<i>-<slug>"; the table order when some run has no i
  Order,   // position in the table, from 0
  Number,  // the last integer in the model file name (a checkpoint's step or epoch)
};

// The x of every run, and the axis title; throws InputError for --x number when a model name
// holds no number. `fell_back` tells that Index had to use the table order.
std::vector<double> x_values(const std::vector<RunSummary>& runs, XAxis mode,
                             std::string& axis_title, bool& fell_back);

// One line of a trend plot: one y per run (aligned with the runs), nothing where a run has no
// value; the line is broken there.
struct TrendSeries {
  std::string label;
  std::vector<std::optional<double>> y;
};

struct TrendPanel {
  std::string y_title;
  std::vector<TrendSeries> series;
  bool include_zero = true;  // the y axis starts at (or crosses) 0
};

struct TrendPlot {
  std::string title, subtitle, x_title;
  std::vector<double> x;                // per run
  std::vector<std::string> run_labels;  // per run, for tooltips
  std::vector<TrendPanel> panels;       // stacked, sharing x
};

// A standalone SVG document; deterministic: the same plot gives the same bytes.
std::string render_trend_svg(const TrendPlot& plot);

// The three plots of docs/aggregate.md: significant edges per pair, normalized entropy per pair,
// and the model-level totals. Pairs are matched across runs by (from_name, to_name).
TrendPlot significant_plot(const std::vector<RunSummary>& runs, const std::vector<double>& x,
                           const std::string& x_title, const std::string& source);
TrendPlot entropy_plot(const std::vector<RunSummary>& runs, const std::vector<double>& x,
                       const std::string& x_title, const std::string& source);
TrendPlot models_plot(const std::vector<RunSummary>& runs, const std::vector<double>& x,
                      const std::string& x_title, const std::string& source);

}  // namespace aggregate
}  // namespace svr
