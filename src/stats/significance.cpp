#include "svr/stats/significance.hpp"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <limits>
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
// log10 p of a screened candidate whose exact p waits for narrow_candidates.
constexpr double kDeferred = std::numeric_limits<double>::quiet_NaN();

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

namespace {

// Both screen_pair and test_pair: with `defer`, the exact p of a Beta-law candidate waits for
// narrow_candidates.
EdgeCandidates screen_edges(PairResult& pair, const Eigen::MatrixXd& E,
                            const SignificanceOptions& options, NullLawCache& null_laws,
                            const EdgeNormalisers* normalisers, bool defer) {
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
  // exact_from gives a cut > 0 only for these (a Beta law, neither --all-edges nor --sigma).
  const bool defer_beta = defer && pair.null_kind == NullKind::Beta && cut > 0.0;
  for (Eigen::Index i = 0; i < E.cols(); ++i) {
    for (Eigen::Index j = 0; j < E.rows(); ++j) {
      const bool untestable = silent(j, i);
      if (untestable && !options.all_edges) continue;
      const double e = E(j, i);
      // The statistic the null law applies to: E, or E / norm2 (at most 1 but for rounding).
      const double x = n != nullptr && n->divide && !untestable ? std::min(1.0, e / norm2(j, i)) : e;
      double log10_p = kDeferred;
      bool candidate = false;
      if (defer_beta) {
        candidate = x >= cut;  // below: p > alpha, never significant
      } else {
        log10_p = testable && !untestable ? raw_log10_p(pair, x, cut, sim) : 0.0;
        // q >= p for every correction, so p > alpha can never become significant.
        candidate = options.all_edges ||
                    (options.sigma || pair.null_kind == NullKind::ChiSquare
                         ? significant_alone(pair, x, log10_p, log10_sigma_level)
                         : log10_p <= log10_alpha);
      }
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

// The statistic from which a Beta-law edge has p <= level (with a margin below it, so that no
// edge is missed by the quantile's rounding); +inf for level 0: only x >= 1 (p = 0) reaches it.
double statistic_cut(const PairResult& pair, double level) {
  if (level <= 0.0) return 1.0;
  if (level >= 1.0) return 0.0;
  return beta_upper_quantile(level, pair.beta_a, pair.beta_b) * (1.0 - 1e-6);
}

// statistic_cut for the pair's deferred candidates; 0 (and no quantile computed) if none is.
double deferred_cut(const PairResult& pair, const EdgeCandidates& candidates, double level) {
  for (std::size_t k = 0; k < candidates.size(); ++k)
    if (candidates.deferred(k)) return statistic_cut(pair, level);
  return 0.0;
}

// log10 p <= log10 level, with room for the rounding of the logarithms (keeping an extra
// candidate is harmless, missing one is not).
bool within(double log10_p, double level) {
  if (level <= 0.0) return log10_p == -std::numeric_limits<double>::infinity();
  return log10_p <= std::log10(level) + 1e-12 * std::max(1.0, std::fabs(std::log10(level)));
}

}  // namespace

EdgeCandidates test_pair(PairResult& pair, const Eigen::MatrixXd& E,
                         const SignificanceOptions& options, NullLawCache& null_laws,
                         const EdgeNormalisers* normalisers) {
  return screen_edges(pair, E, options, null_laws, normalisers, false);
}

EdgeCandidates screen_pair(PairResult& pair, const Eigen::MatrixXd& E,
                           const SignificanceOptions& options, NullLawCache& null_laws,
                           const EdgeNormalisers* normalisers) {
  return screen_edges(pair, E, options, null_laws, normalisers, true);
}

std::int64_t count_within(const PairResult& pair, const EdgeCandidates& candidates, double level) {
  if (pair.null_kind == NullKind::Untestable) return 0;
  const double cut = deferred_cut(pair, candidates, level);
  std::int64_t count = 0;
  for (std::size_t k = 0; k < candidates.size(); ++k) {
    if (!candidates.testable(k)) continue;
    count += candidates.deferred(k) ? candidates.x(k) >= cut : within(candidates.log10_p[k], level);
  }
  return count;
}

void finish_candidates(const PairResult& pair, EdgeCandidates& c, double level) {
  const double cut = deferred_cut(pair, c, level);
  std::size_t kept = 0;
  for (std::size_t k = 0; k < c.size(); ++k) {
    if (c.deferred(k)) {
      if (!(c.x(k) >= cut)) continue;
      c.log10_p[k] = log10_beta_sf(c.x(k), pair.beta_a, pair.beta_b);
    }
    if (c.testable(k) && !within(c.log10_p[k], level)) continue;
    c.to_neuron[kept] = c.to_neuron[k];
    c.from_neuron[kept] = c.from_neuron[k];
    c.e[kept] = c.e[k];
    c.log10_p[kept] = c.log10_p[k];
    if (!c.untestable.empty()) c.untestable[kept] = c.untestable[k];
    if (!c.statistic.empty()) c.statistic[kept] = c.statistic[k];
    ++kept;
  }
  c.to_neuron.resize(kept);
  c.from_neuron.resize(kept);
  c.e.resize(kept);
  c.log10_p.resize(kept);
  if (!c.untestable.empty()) c.untestable.resize(kept);
  if (!c.statistic.empty()) c.statistic.resize(kept);
}

void narrow_candidates(const std::vector<PairResult>& pairs,
                       std::vector<EdgeCandidates>& candidates,
                       const std::vector<std::size_t>& owned, const SignificanceOptions& options,
                       const FamilySum& sum) {
  if (candidates.size() != pairs.size())
    throw std::invalid_argument("narrow_candidates: candidates of " +
                                std::to_string(candidates.size()) + " pairs for " +
                                std::to_string(pairs.size()));
  // Every candidate is final already: every edge is reported, or each edge decides alone.
  if (options.all_edges || options.sigma) return;
  auto testable = [&](std::size_t l) { return pairs[l].null_kind != NullKind::Untestable; };
  if (options.fdr_scope == FdrScope::Pair) {
    for (std::size_t l : owned) {
      if (!testable(l)) continue;
      const double level =
          narrowed_level(options.correction, options.alpha, pairs[l].edges_tested,
                         [&](double at) { return count_within(pairs[l], candidates[l], at); });
      finish_candidates(pairs[l], candidates[l], level);
    }
    return;
  }
  const std::int64_t family_size = sum([&] {
    std::int64_t n = 0;
    for (std::size_t l : owned)
      if (testable(l)) n += pairs[l].edges_tested;
    return n;
  });
  const double level =
      narrowed_level(options.correction, options.alpha, family_size, [&](double at) {
        return sum([&] {
          std::int64_t n = 0;
          for (std::size_t l : owned) n += count_within(pairs[l], candidates[l], at);
          return n;
        });
      });
  for (std::size_t l : owned)
    if (testable(l)) finish_candidates(pairs[l], candidates[l], level);
}

std::vector<double> tested_log10_p(const EdgeCandidates& candidates) {
  std::vector<double> p;
  for (std::size_t k = 0; k < candidates.size(); ++k)
    if (candidates.testable(k)) p.push_back(candidates.log10_p[k]);
  return p;
}

void report_edges(std::vector<PairResult>& pairs, const std::vector<EdgeCandidates>& candidates,
                  const SignificanceOptions& options) {
  if (candidates.size() != pairs.size())
    throw std::invalid_argument("report_edges: candidates of " + std::to_string(candidates.size()) +
                                " pairs for " + std::to_string(pairs.size()));
  for (const EdgeCandidates& c : candidates)
    for (std::size_t k = 0; k < c.size(); ++k)
      if (c.deferred(k))
        throw std::invalid_argument("report_edges: a candidate's p is deferred (narrow_candidates "
                                    "was not run)");
  auto testable = [&](std::size_t l) { return pairs[l].null_kind != NullKind::Untestable; };
  // Adjusted q over the family: every tested edge of the network, or each pair on its own.
  // The testable candidates' log10 p of pair l, and where each candidate's q will be.
  auto tested_p = [&](std::size_t l) { return tested_log10_p(candidates[l]); };
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

  for (std::size_t l = 0; l < pairs.size(); ++l)
    pairs[l].edges = final_edges(pairs[l], candidates[l], log10_q[l], options);
}

std::vector<EdgeRecord> final_edges(PairResult& pair, const EdgeCandidates& candidates,
                                    const std::vector<double>& log10_q,
                                    const SignificanceOptions& options) {
  const bool testable_pair = pair.null_kind != NullKind::Untestable;
  std::size_t tested = 0;
  for (std::size_t k = 0; k < candidates.size(); ++k) tested += candidates.testable(k) ? 1 : 0;
  if (log10_q.size() != (testable_pair ? tested : 0))
    throw std::invalid_argument("final_edges: " + std::to_string(log10_q.size()) +
                                " adjusted values for " + std::to_string(tested) +
                                " tested candidates");
  const double log10_alpha = std::log10(options.alpha);
  const double log10_sigma_level = options.sigma ? std::log10(sigma_level(options)) : 0.0;
  std::vector<EdgeRecord> edges;
  pair.significant = 0;
  std::size_t q_index = 0;
  for (std::size_t k = 0; k < candidates.size(); ++k) {
    EdgeRecord edge;
    edge.to_neuron = candidates.to_neuron[k];
    edge.from_neuron = candidates.from_neuron[k];
    edge.e = candidates.e[k];
    edge.testable = candidates.testable(k);
    if (testable_pair && edge.testable) {
      edge.log10_p = candidates.log10_p[k];
      edge.log10_q = log10_q[q_index++];
      if (pair.null_kind == NullKind::ChiSquare || options.sigma)
        edge.significant =
            significant_alone(pair, candidates.x(k), edge.log10_p, log10_sigma_level);
      else
        edge.significant = edge.log10_q <= log10_alpha;
    }
    if (edge.significant) ++pair.significant;
    if (edge.significant || options.all_edges) edges.push_back(edge);
  }
  return edges;
}

void test_edges(std::vector<PairResult>& pairs, const SignificanceOptions& options) {
  NullLawCache null_laws;
  std::vector<EdgeCandidates> candidates;
  std::vector<std::size_t> all(pairs.size());
  for (std::size_t l = 0; l < pairs.size(); ++l) {
    all[l] = l;
    candidates.push_back(screen_pair(pairs[l], pairs[l].E, options, null_laws));
  }
  narrow_candidates(pairs, candidates, all, options,
                    [](const std::function<std::int64_t()>& local) { return local(); });
  report_edges(pairs, candidates, options);
}

}  // namespace svr
