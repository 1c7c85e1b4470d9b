#pragma once
// What the user asked for: every option of the command line, with the spec's defaults.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace svr {

enum class Method { Svr, Cosvr };
enum class BatchNormMode { Fold, Ignore };
enum class Correction { BH, BY, Holm, Bonferroni, None };
enum class FdrScope { Network, Pair };

struct Options {
  std::string model_path;
  std::string outdir;
  std::vector<std::string> layers;  // explicit order/selection of weight tensors; empty = auto
  Method method = Method::Svr;
  BatchNormMode batchnorm = BatchNormMode::Fold;
  double bn_eps = 1e-5;
  double alpha = 0.05;
  Correction correction = Correction::BH;
  FdrScope fdr_scope = FdrScope::Network;
  std::optional<double> sigma;         // chi-square compatibility rule; implies Correction::None
  bool reference = false;              // preset reproducing the public implementation
  std::optional<std::int64_t> max_rank;
  double near_kernel_tau = 1e-2;
  double path_threshold = 0.0;         // s > threshold for the path metric without s
  int top_chains = 10;
  bool all_edges = false;
  bool save_spectra = false;
  bool save_adjacency = false;
  bool force = false;
  bool skip_complete = false;  // exit 0 at once when OUTDIR already holds this model's run
  bool quiet = false;
  bool plot = true;                    // OUTDIR/svr.svg and OUTDIR/report.html
  bool plot_log_scale = true;          // y axis of svr.svg: log10 of s (false: linear)
  int plot_max_edges = 100;            // strongest significant edges drawn per pair in svr.svg
  std::int64_t simulation_draws = 1000000;  // cosvr conv->linear null law
  std::uint64_t seed = 20230216;            // simulations are reproducible
  // Execution (no effect on the results): a layer with min(rows, cols) >= scalapack_min_dim is
  // factored by ScaLAPACK on a grid of all ranks (docs/options.md: why 8192), in nb x nb blocks.
  std::int64_t scalapack_min_dim = 8192;
  std::int64_t block_size = 64;
  // ScaLAPACK layers run on concurrent teams of ranks, each on its own grid: at most max_grids
  // teams (0: no cap), each within memory_per_rank_mb MiB per rank (0: read the node's
  // available memory, memory_budget.hpp); execution_plan.hpp, plan_grid_teams.
  int max_grids = 0;
  double memory_per_rank_mb = 0.0;
  double min_local_elements = 1048576.0;  // more teams only while a rank would hold fewer
  bool plan = false;                        // print the execution plan and exit
};

std::string to_string(Method method);
std::string to_string(BatchNormMode mode);
std::string to_string(Correction correction);
std::string to_string(FdrScope scope);

}  // namespace svr
