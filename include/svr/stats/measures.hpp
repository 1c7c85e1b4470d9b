#pragma once
// Per-node and per-pair measures computed from E and the singular values (spec section 5).
// Indices are 0-based; E is r(l+1) x r(l) (rows: neurons j of the later layer).
#include <Eigen/Dense>
#include <cstdint>
#include <utility>
#include <vector>

namespace svr {

// The measures' parameters (spec section 5; docs/options.md).
struct MeasureOptions {
  double near_kernel_tau = 1e-2;  // a neuron is near-kernel when s <= tau * s_max
  double path_threshold = 0.0;    // the unweighted path metric counts neurons with s > threshold
  int top_chains = 10;            // dominant chains reported
};

// Per neuron i (column of E): t_i = max(0, max_k sum_{j <= k} (c E[j, i] - 1)), divided by the
// largest t_i (all 0 when every t_i is 0).
std::vector<double> intensity(const Eigen::MatrixXd& E, std::int64_t c);

// (j+1, i+1) of the argmax of c C[j, i] - (j+1)(i+1), C the 2-D cumulative sum of E.
// Ties go to the first maximum in row-major order (smallest j, then smallest i), like numpy's
// argmax; an empty E gives {0, 0}.
struct InternalDims {
  std::int64_t to = 0, from = 0;
};
InternalDims internal_dims(const Eigen::MatrixXd& E, std::int64_t c);

// H = -sum E log E (natural log, 0 log 0 = 0); normalized = H / log(rows * cols), 0 when the
// matrix has at most one entry.
struct Entropy {
  double h = 0, normalized = 0;
};
Entropy entropy(const Eigen::MatrixXd& E);

// Cluster id per singular value (sorted decreasing): consecutive values closer than
// rel_tol * s_max share an id; ids 0, 1, 2, ... in order. s_max == 0: all in cluster 0.
// s_max is the largest of s, or given: the layer's, when s holds only its bottom values
// (--min-rank).
std::vector<int> clusters(const Eigen::VectorXd& s, double rel_tol = 1e-8);
std::vector<int> clusters(const Eigen::VectorXd& s, double rel_tol, double s_max);

// s_i <= tau * s_max, s_max as for clusters.
std::vector<bool> near_kernel(const Eigen::VectorXd& s, double tau);
std::vector<bool> near_kernel(const Eigen::VectorXd& s, double tau, double s_max);

// log10(sum(x)) for x = 1 (length r0); per pair l: x = x * s_l, x = E_l x; finally x = x * s_last.
// Rescaled at every step, so it neither overflows nor underflows; -inf if the sum is 0.
// s.size() == E.size() + 1 and E_l is r(l+1) x r(l), otherwise std::invalid_argument.
double log10_path_metric(const std::vector<Eigen::VectorXd>& s,
                         const std::vector<Eigen::MatrixXd>& E);

// The path metric on a DAG (docs/graph-outputs.md): every layer that reads nothing starts with
// x = 1; a layer B that reads from layers gets x_B = sum over its pairs (A, B) of E_AB (x_A * s_A);
// the metric is log10 of the sum over the layers no layer reads of sum(x_B * s_B). A chain gives
// log10_path_metric above, bit for bit. The pieces below are what the distributed pipeline
// computes where each E is; this function strings them together on one rank.
// pairs[q] = (from, to), from < to, E[q] is r(to) x r(from); otherwise std::invalid_argument.
double log10_path_metric(const std::vector<Eigen::VectorXd>& s,
                         const std::vector<std::pair<int, int>>& pairs,
                         const std::vector<Eigen::MatrixXd>& E);

// x as m * 10^log10_scale with max |m| = 1, or dead (x = 0: the metric is -inf along it).
struct ScaledVector {
  Eigen::VectorXd m;
  double log10_scale = 0.0;
  bool alive = true;
};

// One pair's contribution E (x_A * s_A), with the rescaling steps of log10_path_metric.
ScaledVector path_step(const ScaledVector& x_from, const Eigen::VectorXd& s_from,
                       const Eigen::MatrixXd& E);
// The sum of a layer's incoming contributions (size entries); one contribution is returned as
// it is. No contribution alive: dead.
ScaledVector path_merge(const std::vector<ScaledVector>& parts, Eigen::Index size);
// log10 sum(x * s) of one final layer, -inf when dead or zero.
double path_end(const ScaledVector& x, const Eigen::VectorXd& s);
// log10 of the sum of 10^t over the final layers' terms (one term is returned as it is).
double path_total(const std::vector<double>& terms);

}  // namespace svr
