#pragma once
// Everything the command line sets, grouped by the module that uses it: the command line
// (cli.hpp) builds it once, and each module is handed only its own small struct
// (NetworkOptions, SignificanceOptions, PlotOptions, ...), never the whole.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "svr/core/matrix_convention.hpp"
#include "svr/linalg/svd.hpp"
#include "svr/linalg/truncated_svd.hpp"
#include "svr/network/network_options.hpp"
#include "svr/output/plot_options.hpp"
#include "svr/parallel/execution_plan.hpp"
#include "svr/stats/measures.hpp"
#include "svr/stats/significance.hpp"

namespace svr {

// Where the SVDs run (no effect on the results): a layer with min(rows, cols) >=
// scalapack_min_dim is factored by ScaLAPACK (docs/options.md: why 8192) in block x block
// blocks, by at most max_grids concurrent teams of ranks (0: no cap), each within
// memory_per_rank_mb MiB per rank (0: read the node's available memory, memory_budget.hpp), more
// teams only while a rank would hold fewer than min_local_elements of its team's largest layer
// (execution_plan.hpp, plan_grid_teams). On 2 or more ranks a long layer with
// min(rows, cols) >= split_min_dim that holds more than the average load per rank is split over
// a team (GridPolicy::split_min_dim; 0: never).
struct ExecutionOptions {
  std::int64_t scalapack_min_dim = 8192;
  std::int64_t block_size = 64;
  int max_grids = 0;
  double memory_per_rank_mb = 0.0;
  double min_local_elements = 1048576.0;
  std::int64_t split_min_dim = GridPolicy::kDefaultSplitMinDim;
};

struct Options {
  std::string model_path;
  std::string outdir;
  NetworkOptions network;                // --layers, --method, --batchnorm, --bn-eps
  std::optional<std::int64_t> max_rank;  // --max-rank: keep the top K spectral neurons
  std::optional<std::int64_t> min_rank;  // --min-rank: keep the bottom K spectral neurons
  double svd_tolerance = 1e-10;          // --svd-tolerance: the truncated SVD's residual bound
  double svd_max_cost = 1.0;             // --svd-max-cost: the truncated SVD's cost limit
  bool full_svd = false;                 // --full-svd: full SVD then truncation, never Krylov
  SvdPrecision precision = SvdPrecision::Double;  // --precision: of the full SVDs
  TruncatedEngine truncated_engine = TruncatedEngine::Auto;  // --truncated-svd: of the top K
  bool reference = false;                // --reference (a preset; recorded in summary.json)
  SignificanceOptions significance;      // --alpha, --correction, --fdr-scope, --sigma, ...
  MeasureOptions measures;               // --near-kernel-tau, --top-chains, --path-threshold
  bool plot = true;                      // write svr.svg and report.html (--no-plot)
  PlotOptions plotting;                  // --plot-scale, --plot-max-edges, and their labels
  ExecutionOptions execution;            // --scalapack-min-dim, --block-size, --max-grids, ...
  bool save_spectra = false;
  bool save_adjacency = false;
  bool force = false;
  bool skip_complete = false;  // exit 0 at once when OUTDIR already holds this model's run
  bool quiet = false;
  bool plan = false;  // print the execution plan and exit
  std::string export_topology;  // write the network's topology file here ("": not)

  // The method every module was given (the command line copies it into each struct).
  Method method() const { return network.read.method; }
};

// The "options" object of summary.json (docs/output-formats.md): the options that decide the
// results, and where the run read and wrote, in a fixed order. --skip-complete compares it.
nlohmann::ordered_json options_record(const Options& options);

}  // namespace svr
