#include "svr/stats/significance.hpp"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <stdexcept>

#include "svr/stats/corrections.hpp"

namespace svr {
namespace {

void choose_null_law(PairResult& pair, const SignificanceOptions& options) {
  const bool both_sides = pair.z_u > 1 && pair.z_v > 1;
  pair.z = options.method == Method::Svr ? pair.z_v : pair.z_u;
  // The law's c and z: the pair's own, or those of a grouped or depthwise consumer.
  const std::int64_t c = pair.null_c > 0 ? pair.null_c : pair.c;
  const std::int64_t z = pair.null_z > 0 ? pair.null_z : pair.z;
  if (c <= 1) {
    pair.null_kind = NullKind::Untestable;  // c = 1: E = 1 for every edge
  } else if (both_sides) {
    pair.null_kind = NullKind::Simulated;
    pair.simulation_draws = options.simulation_draws;
  } else if (options.sigma) {
    pair.null_kind = NullKind::ChiSquare;
    pair.e_threshold = chi2_edge_threshold(*options.sigma, z, c);
  } else {
    pair.null_kind = NullKind::Beta;
  }
  if (pair.null_kind == NullKind::Beta || pair.null_kind == NullKind::ChiSquare) {
    const double n = static_cast<double>(c) * static_cast<double>(z);
    pair.beta_a = 0.5 * static_cast<double>(z);
    pair.beta_b = 0.5 * (n - static_cast<double>(z));
  }
}

// --sigma on a simulated pair: the same one-sided level as the chi-square rule, 1 - Phi(S).
double sigma_level(const SignificanceOptions& options) {
  return options.sigma ? boost::math::cdf(boost::math::complement(
                             boost::math::normal_distribution<double>(), *options.sigma))
                       : 0.0;
}

// log10 p of an edge that cannot be significant and is not reported: a stand-in for p = 1.
constexpr double kScreenedOut = 0.0;

// The smallest E whose exact p-value matters. Every correction gives q >= p, so an edge with
// p > alpha is never significant; unless every edge is reported, such edges need no exact p
// (the q of the significant edges depend only on the p-values at or below alpha, and on the
// family size, which screening keeps). 0 means: evaluate every edge.
double exact_from(const PairResult& pair, const SignificanceOptions& options) {
  const bool beta_law = pair.null_kind == NullKind::Beta || pair.null_kind == NullKind::ChiSquare;
  if (options.all_edges || !beta_law) return 0.0;
  const double level =
      options.sigma ? std::max(options.alpha, sigma_level(options)) : options.alpha;
  // A margin well above the quantile's rounding, so no edge near the boundary is misjudged.
  double cut = beta_upper_quantile(level, pair.beta_a, pair.beta_b) * (1.0 - 1e-6);
  if (pair.null_kind == NullKind::ChiSquare) cut = std::min(cut, pair.e_threshold);
  return std::max(cut, 0.0);
}

double raw_log10_p(const PairResult& pair, double e, double cut, const SimulatedNull* sim) {
  if (sim) return sim->log10_sf(e);
  return e >= cut ? log10_beta_sf(e, pair.beta_a, pair.beta_b) : kScreenedOut;
}

// The edge's own verdict where it does not depend on the family: the chi-square rule and --sigma.
bool significant_alone(const PairResult& pair, double e, double log10_p, double log10_sigma_level) {
  if (pair.null_kind == NullKind::ChiSquare) return e >= pair.e_threshold;
  return log10_p <= log10_sigma_level;
}

}  // namespace

const SimulatedNull& NullLawCache::simulated(const PairResult& pair,
                                             const SignificanceOptions& options) {
  auto& sim = simulations_[{pair.c, pair.z_u, pair.z_v}];
  if (!sim)
    sim = std::make_unique<SimulatedNull>(pair.c, pair.z_u, pair.z_v, options.simulation_draws,
                                          options.seed);
  return *sim;
}

EdgeCandidates test_pair(PairResult& pair, const Eigen::MatrixXd& E,
                         const SignificanceOptions& options, NullLawCache& null_laws,
                         const EdgeNormalisers* normalisers) {
  choose_null_law(pair, options);
  const bool testable = pair.null_kind != NullKind::Untestable;
  const EdgeNormalisers* n = normalisers;
  if (n != nullptr && (n->norm2.cols() != E.cols() ||
                       (!n->group_of_to.empty() &&
                        static_cast<Eigen::Index>(n->group_of_to.size()) != E.rows())))
    throw std::invalid_argument("test_pair: normalisers for " + std::to_string(n->norm2.cols()) +
                                " x " + std::to_string(n->group_of_to.size()) + " neurons, E is " +
                                std::to_string(E.rows()) + " x " + std::to_string(E.cols()));
  auto norm2 = [&](Eigen::Index j, Eigen::Index i) {
    return n->norm2(n->group_of_to.empty() ? 0 : n->group_of_to[static_cast<std::size_t>(j)], i);
  };
  // Edges whose producer neuron sends nothing to the consumer neuron's channels: E is exactly 0
  // and carries no test (spec section 7).
  auto silent = [&](Eigen::Index j, Eigen::Index i) { return n != nullptr && !(norm2(j, i) > 0.0); };
  std::int64_t silent_edges = 0;
  if (n != nullptr)
    for (Eigen::Index i = 0; i < E.cols(); ++i)
      for (Eigen::Index j = 0; j < E.rows(); ++j) silent_edges += silent(j, i);
  pair.edges_tested = testable ? static_cast<std::int64_t>(E.size()) - silent_edges : 0;
  EdgeCandidates out;
  if (!testable && !options.all_edges) return out;
  const SimulatedNull* sim =
      pair.null_kind == NullKind::Simulated ? &null_laws.simulated(pair, options) : nullptr;
  const double cut = testable ? exact_from(pair, options) : 0.0;
  const double log10_alpha = std::log10(options.alpha);
  const double log10_sigma_level = options.sigma ? std::log10(sigma_level(options)) : 0.0;
  for (Eigen::Index i = 0; i < E.cols(); ++i) {
    for (Eigen::Index j = 0; j < E.rows(); ++j) {
      const bool untestable = silent(j, i);
      if (untestable && !options.all_edges) continue;
      const double e = E(j, i);
      // The statistic the null law applies to: E, or E / norm2 (at most 1 but for rounding).
      const double x = n != nullptr && n->divide && !untestable ? std::min(1.0, e / norm2(j, i)) : e;
      const double log10_p = testable && !untestable ? raw_log10_p(pair, x, cut, sim) : 0.0;
      // q >= p for every correction, so p > alpha can never become significant.
      const bool candidate =
          options.all_edges ||
          (options.sigma || pair.null_kind == NullKind::ChiSquare
               ? significant_alone(pair, x, log10_p, log10_sigma_level)
               : log10_p <= log10_alpha);
      if (!candidate) continue;
      out.to_neuron.push_back(j);
      out.from_neuron.push_back(i);
      out.e.push_back(e);
      out.log10_p.push_back(log10_p);
      if (n != nullptr) {
        out.untestable.push_back(untestable ? 1 : 0);
        out.statistic.push_back(x);
      }
    }
  }
  if (n != nullptr && silent_edges == 0) out.untestable.clear();
  if (n != nullptr && !n->divide) out.statistic.clear();
  return out;
}

void report_edges(std::vector<PairResult>& pairs, const std::vector<EdgeCandidates>& candidates,
                  const SignificanceOptions& options) {
  if (candidates.size() != pairs.size())
    throw std::invalid_argument("report_edges: candidates of " + std::to_string(candidates.size()) +
                                " pairs for " + std::to_string(pairs.size()));
  auto testable = [&](std::size_t l) { return pairs[l].null_kind != NullKind::Untestable; };
  // Adjusted q over the family: every tested edge of the network, or each pair on its own.
  // The testable candidates' log10 p of pair l, and where each candidate's q will be.
  auto tested_p = [&](std::size_t l) {
    std::vector<double> p;
    for (std::size_t k = 0; k < candidates[l].size(); ++k)
      if (candidates[l].testable(k)) p.push_back(candidates[l].log10_p[k]);
    return p;
  };
  std::vector<std::vector<double>> log10_q(pairs.size());  // per testable candidate
  if (options.fdr_scope == FdrScope::Pair) {
    for (std::size_t l = 0; l < pairs.size(); ++l)
      if (testable(l))
        log10_q[l] =
            adjust_log10_candidates(tested_p(l), pairs[l].edges_tested, options.correction);
  } else {
    std::vector<double> family;
    std::int64_t family_size = 0;
    for (std::size_t l = 0; l < pairs.size(); ++l) {
      if (!testable(l)) continue;
      const std::vector<double> p = tested_p(l);
      family.insert(family.end(), p.begin(), p.end());
      family_size += pairs[l].edges_tested;
    }
    const std::vector<double> adjusted =
        adjust_log10_candidates(family, family_size, options.correction);
    std::size_t offset = 0;
    for (std::size_t l = 0; l < pairs.size(); ++l) {
      if (!testable(l)) continue;
      const std::size_t k = tested_p(l).size();
      log10_q[l].assign(adjusted.begin() + offset, adjusted.begin() + offset + k);
      offset += k;
    }
  }

  const double log10_alpha = std::log10(options.alpha);
  const double log10_sigma_level = options.sigma ? std::log10(sigma_level(options)) : 0.0;
  for (std::size_t l = 0; l < pairs.size(); ++l) {
    PairResult& pair = pairs[l];
    const EdgeCandidates& mine = candidates[l];
    pair.edges.clear();
    pair.significant = 0;
    std::size_t q_index = 0;
    for (std::size_t k = 0; k < mine.size(); ++k) {
      EdgeRecord edge;
      edge.to_neuron = mine.to_neuron[k];
      edge.from_neuron = mine.from_neuron[k];
      edge.e = mine.e[k];
      edge.testable = mine.testable(k);
      if (testable(l) && edge.testable) {
        edge.log10_p = mine.log10_p[k];
        edge.log10_q = log10_q[l][q_index++];
        if (pair.null_kind == NullKind::ChiSquare || options.sigma)
          edge.significant = significant_alone(pair, mine.x(k), edge.log10_p, log10_sigma_level);
        else
          edge.significant = edge.log10_q <= log10_alpha;
      }
      if (edge.significant) ++pair.significant;
      if (edge.significant || options.all_edges) pair.edges.push_back(edge);
    }
  }
}

void test_edges(std::vector<PairResult>& pairs, const SignificanceOptions& options) {
  NullLawCache null_laws;
  std::vector<EdgeCandidates> candidates;
  for (PairResult& pair : pairs) candidates.push_back(test_pair(pair, pair.E, options, null_laws));
  report_edges(pairs, candidates, options);
}

}  // namespace svr
