#pragma once
// The SVR of a network as computed by the pipeline: what the output writers serialise.
#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "svr/core/build_info.hpp"

namespace svr {

// How a layer's singular triplets were computed (summary.json's layers[].svd).
struct SvdReport {
  std::string method;           // "lapack-full", "scalapack-full" or "lapack-krylov"
  std::int64_t iterations = 0;  // Krylov expansions (0 for a full SVD)
  // max_i max(||M v_i - s_i u_i||, ||M^T u_i - s_i v_i||) / s_max over the kept triplets, as
  // computed after the fact; empty when it was not computed (a full SVD).
  std::optional<double> residual;
  std::string fallback;  // why a truncated SVD fell back to the full one; "" when it did not
  // The fallback was the cost rule's choice (the full SVD is cheaper), not a failure to
  // converge: no warning, just the progress line.
  bool fallback_cost = false;
  std::string precision = "double";  // of the SVD: "double" or "single" (--precision)
};

struct LayerResult {
  std::string name;                        // weight tensor name, e.g. "features.0.weight"
  std::string kind;                        // "linear", "conv1d", "conv2d", "conv3d"
  std::vector<std::int64_t> tensor_shape;  // as stored
  std::int64_t rows = 0, cols = 0;         // matrix M after the reshape of the method
  std::int64_t full_rank = 0;              // min(rows, cols), or the blocks' sum when grouped
  int groups = 1;                          // a grouped convolution's groups (spec section 7)
  std::string folded_bn;                   // prefix of the folded BatchNorm, "" if none
  std::string folded_input_scale;          // the folded pre-norm gamma's tensor, "" if none
  Eigen::VectorXd sigma;                   // kept singular values, decreasing
  double s_max = 0.0;                      // the largest singular value, kept or not
  std::int64_t first_neuron = 0;           // full-spectrum index of sigma[0]: 0, or with
                                           // --min-rank K, full_rank - K
  Eigen::MatrixXd U;                       // rows x r  (in the pipeline: only with --save-spectra)
  Eigen::MatrixXd V;                       // cols x r
  std::vector<int> cluster;                // cluster id per neuron (equal s within 1e-8 s_max)
  std::vector<bool> near_kernel;           // s_i <= tau * s_max
  std::vector<double> intensity;           // spec section 5; the largest over the layer's pairs
  std::vector<int> group;                  // grouped convolution: each neuron's group; else empty
  SvdReport svd;                           // how sigma, U and V were computed
  std::int64_t near_kernel_count() const;
  // The scale of sigma_rel, clusters and the near-kernel flag: s_max, and at least the largest
  // kept |sigma| (a result built without s_max); 0 for a layer without any.
  double largest_singular_value() const;
};

enum class NullKind { Beta, Untestable, Simulated, ChiSquare };

struct EdgeRecord {
  std::int64_t to_neuron = 0;    // j, neuron of the consumer layer (to_layer)
  std::int64_t from_neuron = 0;  // i, neuron of the producer layer (from_layer)
  double e = 0.0;
  double log10_p = 0.0;  // 0 for untestable edges
  double log10_q = 0.0;  // adjusted; equals log10_p for Correction::None
  bool significant = false;
  bool testable = true;  // false: ||u_S|| = 0 (spec section 7), E = 0 and no p (as c = 1)
};

// E of a pair reduced for display (report.html): the block maxima of at most 256 x 256 cells,
// each shaded 0..255 relative to the pair's largest finite E. Computed where E is (the pair's
// owner rank), so E itself need not travel to rank 0.
struct EdgeHeatmap {
  std::int64_t rows = 0, cols = 0;  // E's shape; 0 x 0: not computed
  std::int64_t by = 1, bx = 1;      // rows and columns of E per cell
  std::int64_t h = 0, w = 0;        // cells
  double e_max = 0.0;
  std::vector<std::uint8_t> cells;  // h x w, row-major
};

struct PairResult {
  int from_layer = 0;             // the producer layer
  int to_layer = 0;               // the consumer layer (from_layer + 1 in a chain)
  std::string map = "direct";     // channel map kind: direct, add, concat, split, permute
  std::int64_t channels_read = 0;  // |S|: producer channels that reach the consumer
  std::int64_t c = 0;             // the consumer's input channels c_B (spec section 7)
  std::int64_t z = 0;             // positions on the tested side
  std::int64_t z_u = 1, z_v = 1;  // positions on the u side (producer) and v side (consumer)
  NullKind null_kind = NullKind::Beta;
  // The null law's c and z when they are not c and z (spec section 7: grouped and depthwise
  // consumers); 0: c and z. With `scaled` the law applies to E / ||u||^2 (docs/graph-outputs.md).
  std::int64_t null_c = 0, null_z = 0;
  bool scaled = false;
  double beta_a = 0.0, beta_b = 0.0;  // Beta(z/2, (N-z)/2) when null_kind == Beta
  double e_threshold = 0.0;           // chi-square rule threshold when null_kind == ChiSquare
  std::int64_t simulation_draws = 0;  // when null_kind == Simulated
  Eigen::MatrixXd E;                  // r(to) x r(from); empty in the pipeline's result (E stays
                                      // on the pair's owner rank, docs/algorithms.md)
  EdgeHeatmap heatmap;                // for report.html (used when E is empty)
  std::int64_t edges_tested = 0;
  std::int64_t significant = 0;
  std::int64_t internal_dim_to = 0;    // (j+1) of the argmax
  std::int64_t internal_dim_from = 0;  // (i+1) of the argmax
  double entropy = 0.0;
  double entropy_normalized = 0.0;
  std::vector<double> intensity;  // of the producer's neurons, from this pair (spec section 7)
  std::vector<EdgeRecord> edges;  // reported edges (significant, or all with --all-edges)
  // Reported edges written into edges.csv by the pair's owner rank and not held in `edges`
  // (--all-edges in the pipeline: only the significant ones reach rank 0).
  std::int64_t unheld_edges = 0;
  std::int64_t edges_reported() const {
    return static_cast<std::int64_t>(edges.size()) + unheld_edges;
  }
};

struct ChainResult {
  int start_layer = 0;
  std::vector<std::int64_t> neurons;  // one neuron per layer of the path
  double weakest_log10_p = 0.0;       // max log10 p along the chain
  std::vector<int> layers;            // the layer of each neuron; empty: start_layer + k

  // The layer of neuron k (layers may be left empty for a chain network: start_layer + k).
  int layer_at(std::size_t k) const {
    return layers.empty() ? start_layer + static_cast<int>(k) : layers[k];
  }
};

struct PhaseTime {
  std::string phase;
  double seconds = 0.0;
};

// Where a layer's SVD ran (the execution plan, for summary.json).
struct LayerPlacement {
  std::string engine;       // "lapack" or "scalapack"
  int rank = -1;            // lapack: the rank; scalapack: the team's first rank
  int grid_rows = 0;        // scalapack: the team's grid; lapack: 0 x 0
  int grid_cols = 0;
  int team = -1;            // scalapack: the team's index
};

struct RunInfo {
  std::string version;
  BuildInfo build;  // what made this binary and which libraries it ran with
  std::string command_line;
  std::string input_sha256;
  std::string input_format;
  int ranks = 1;
  std::vector<PhaseTime> phases;
  double peak_memory_mb = 0.0;                  // max over ranks
  std::vector<double> peak_memory_mb_per_rank;  // one entry per rank, rank order
  std::vector<LayerPlacement> placements;       // one per layer, layer order (may be empty)
  double memory_budget_mb = 0.0;                // per rank, as planned with; 0: none
  // Seconds per distinct phase (a phase reported more than once is summed), in first-seen order.
  std::vector<PhaseTime> phase_totals() const;
};

// Where the network's layers and pairs come from (summary.json "network").
struct NetworkSource {
  std::string source;    // "topology", "layers", "metadata", "onnx", "family" or "names"
  std::string family;    // the recognised family ("family" only)
  std::string topology;  // the topology file ("topology" only)
  bool graph = false;    // some pair is not (l, l + 1)
};

struct SvrResult {
  std::string model_name;  // basename of the model path
  NetworkSource network;
  std::vector<LayerResult> layers;
  std::vector<PairResult> pairs;  // pairs[k] joins layers[from_layer] and layers[to_layer]
  double log10_path_metric = 0.0;
  double log10_path_metric_unweighted = 0.0;
  std::vector<ChainResult> chains;
  RunInfo run;
};

}  // namespace svr
