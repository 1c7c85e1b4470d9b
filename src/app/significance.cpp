#include "svr/significance.hpp"

#include <boost/math/distributions/normal.hpp>
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <tuple>

#include "svr/corrections.hpp"
#include "svr/pvalues.hpp"

namespace svr {
namespace {

// Per-pair raw log10 p-values, column-major like E; empty for untestable pairs.
struct PairPValues {
  std::vector<double> log10_p;
};

void choose_null_law(PairResult& pair, const Options& options) {
  const bool both_sides = pair.z_u > 1 && pair.z_v > 1;
  pair.z = options.method == Method::Svr ? pair.z_v : pair.z_u;
  if (pair.c <= 1) {
    pair.null_kind = NullKind::Untestable;  // c = 1: E = 1 for every edge
  } else if (both_sides) {
    pair.null_kind = NullKind::Simulated;
    pair.simulation_draws = options.simulation_draws;
  } else if (options.sigma) {
    pair.null_kind = NullKind::ChiSquare;
    pair.e_threshold = chi2_edge_threshold(*options.sigma, pair.z, pair.c);
  } else {
    pair.null_kind = NullKind::Beta;
  }
  if (pair.null_kind == NullKind::Beta || pair.null_kind == NullKind::ChiSquare) {
    const double n = static_cast<double>(pair.c) * static_cast<double>(pair.z);
    pair.beta_a = 0.5 * static_cast<double>(pair.z);
    pair.beta_b = 0.5 * (n - static_cast<double>(pair.z));
  }
}

// log10 p of an edge that cannot be significant and is not reported: a stand-in for p = 1.
constexpr double kScreenedOut = 0.0;

// The smallest E whose exact p-value matters. Every correction gives q >= p, so an edge with
// p > alpha is never significant; unless every edge is reported, such edges need no exact p
// (BH and Holm q of the significant edges depend only on the p-values at or below alpha, and
// on the family size, which screening keeps). 0 means: evaluate every edge.
double exact_from(const PairResult& pair, const Options& options, double sigma_level) {
  const bool beta_law = pair.null_kind == NullKind::Beta || pair.null_kind == NullKind::ChiSquare;
  if (options.all_edges || !beta_law) return 0.0;
  const double level = options.sigma ? std::max(options.alpha, sigma_level) : options.alpha;
  // A margin well above the quantile's rounding, so no edge near the boundary is misjudged.
  double cut = beta_upper_quantile(level, pair.beta_a, pair.beta_b) * (1.0 - 1e-6);
  if (pair.null_kind == NullKind::ChiSquare) cut = std::min(cut, pair.e_threshold);
  return std::max(cut, 0.0);
}

std::vector<double> raw_log10_p(const PairResult& pair, const Options& options,
                                double sigma_level,
                                std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>,
                                         std::unique_ptr<SimulatedNull>>& simulations) {
  const Eigen::MatrixXd& e = pair.E;
  std::vector<double> log10_p(static_cast<std::size_t>(e.size()));
  if (pair.null_kind == NullKind::Simulated) {
    // One simulation per distinct (c, z_u, z_v), shared by every pair that has that geometry.
    auto& sim = simulations[{pair.c, pair.z_u, pair.z_v}];
    if (!sim)
      sim = std::make_unique<SimulatedNull>(pair.c, pair.z_u, pair.z_v, options.simulation_draws,
                                            options.seed);
    for (Eigen::Index k = 0; k < e.size(); ++k) log10_p[k] = sim->log10_sf(e.data()[k]);
  } else {
    const double cut = exact_from(pair, options, sigma_level);
    for (Eigen::Index k = 0; k < e.size(); ++k) {
      const double value = e.data()[k];
      log10_p[k] = value >= cut ? log10_beta_sf(value, pair.beta_a, pair.beta_b) : kScreenedOut;
    }
  }
  return log10_p;
}

}  // namespace

void test_edges(std::vector<PairResult>& pairs, const Options& options) {
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, std::unique_ptr<SimulatedNull>>
      simulations;
  // --sigma on a simulated pair: the same one-sided level as the chi-square rule, 1 - Phi(S).
  const double sigma_level =
      options.sigma ? boost::math::cdf(boost::math::complement(
                          boost::math::normal_distribution<double>(), *options.sigma))
                    : 0.0;
  std::vector<std::vector<double>> log10_p(pairs.size());
  for (std::size_t l = 0; l < pairs.size(); ++l) {
    choose_null_law(pairs[l], options);
    if (pairs[l].null_kind != NullKind::Untestable)
      log10_p[l] = raw_log10_p(pairs[l], options, sigma_level, simulations);
    pairs[l].edges_tested = static_cast<std::int64_t>(log10_p[l].size());
  }

  // Adjusted q over the family: every testable edge of the network, or each pair on its own.
  std::vector<std::vector<double>> log10_q(pairs.size());
  if (options.fdr_scope == FdrScope::Pair) {
    for (std::size_t l = 0; l < pairs.size(); ++l)
      log10_q[l] = adjust_log10(log10_p[l], options.correction);
  } else {
    std::vector<double> family;
    for (const auto& p : log10_p) family.insert(family.end(), p.begin(), p.end());
    const std::vector<double> adjusted = adjust_log10(family, options.correction);
    std::size_t offset = 0;
    for (std::size_t l = 0; l < pairs.size(); ++l) {
      log10_q[l].assign(adjusted.begin() + offset, adjusted.begin() + offset + log10_p[l].size());
      offset += log10_p[l].size();
    }
  }

  const double log10_alpha = std::log10(options.alpha);
  const double log10_sigma_level = options.sigma ? std::log10(sigma_level) : 0.0;
  for (std::size_t l = 0; l < pairs.size(); ++l) {
    PairResult& pair = pairs[l];
    const Eigen::MatrixXd& e = pair.E;
    pair.edges.clear();
    pair.significant = 0;
    for (Eigen::Index i = 0; i < e.cols(); ++i) {
      for (Eigen::Index j = 0; j < e.rows(); ++j) {
        const std::size_t k = static_cast<std::size_t>(i * e.rows() + j);
        EdgeRecord edge;
        edge.to_neuron = j;
        edge.from_neuron = i;
        edge.e = e(j, i);
        if (pair.null_kind != NullKind::Untestable) {
          edge.log10_p = log10_p[l][k];
          edge.log10_q = log10_q[l][k];
          if (pair.null_kind == NullKind::ChiSquare)
            edge.significant = edge.e >= pair.e_threshold;
          else if (options.sigma)
            edge.significant = edge.log10_p <= log10_sigma_level;
          else
            edge.significant = edge.log10_q <= log10_alpha;
        }
        if (edge.significant) ++pair.significant;
        if (edge.significant || options.all_edges) pair.edges.push_back(edge);
      }
    }
  }
}

}  // namespace svr
