// The significance of a graph's pairs (significance.hpp, spec section 7): test_pair with
// EdgeNormalisers (E / norm2 or E itself, untestable edges, the consumer group of each neuron),
// report_edges keeping untestable edges out of the family, and the null law's c and z taken
// from null_c / null_z (grouped and depthwise consumers). Expected values from the definitions:
// log10_beta_sf on the statistic written out here, corrections by adjust_log10 and by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "svr/stats/corrections.hpp"
#include "svr/stats/pvalues.hpp"
#include "svr/stats/significance.hpp"

namespace svr {
namespace {

// A pair of r_to x r_from edges on c channels and z positions (svr: z_v = z), with norm2
// per (group, producer neuron) and E <= norm2 (E / ||u_S||^2 <= 1). `silent` producer neurons
// send nothing to group 1: norm2 = 0 there and E = 0 for the consumer neurons of group 1.
struct GraphPair {
  PairResult pair;
  EdgeNormalisers normalisers;
};

GraphPair random_graph_pair(std::uint64_t seed, std::int64_t c, std::int64_t z, Eigen::Index r_to,
                            Eigen::Index r_from, const std::vector<Eigen::Index>& silent) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  GraphPair g;
  g.pair.c = c;
  g.pair.z_u = 1;
  g.pair.z_v = z;
  g.normalisers.norm2.resize(2, r_from);
  for (Eigen::Index i = 0; i < r_from; ++i) {
    g.normalisers.norm2(0, i) = 0.2 + 0.8 * unit(rng);
    g.normalisers.norm2(1, i) = 0.05 + 0.5 * unit(rng);
  }
  for (Eigen::Index i : silent) g.normalisers.norm2(1, i) = 0.0;
  for (Eigen::Index j = 0; j < r_to; ++j) g.normalisers.group_of_to.push_back(j % 3 == 0 ? 1 : 0);
  g.pair.E.resize(r_to, r_from);
  for (Eigen::Index i = 0; i < r_from; ++i)
    for (Eigen::Index j = 0; j < r_to; ++j) {
      const double n2 = g.normalisers.norm2(g.normalisers.group_of_to[static_cast<std::size_t>(j)], i);
      // Mostly chance level (about 1/c of the norm), some strong edges.
      const double share = unit(rng) < 0.2 ? 0.6 + 0.4 * unit(rng) : std::pow(unit(rng), 2) * 2.0 / c;
      g.pair.E(j, i) = n2 * std::min(share, 1.0);
    }
  return g;
}

struct EdgeTruth {
  Eigen::Index j, i;
  bool untestable;
  double x, log10_p;
};

// Every edge, column-major, with its statistic and exact p from the definitions.
std::vector<EdgeTruth> truth(const GraphPair& g, bool divide, double a, double b) {
  std::vector<EdgeTruth> out;
  const Eigen::MatrixXd& E = g.pair.E;
  for (Eigen::Index i = 0; i < E.cols(); ++i)
    for (Eigen::Index j = 0; j < E.rows(); ++j) {
      const int h = g.normalisers.group_of_to.empty()
                        ? 0
                        : g.normalisers.group_of_to[static_cast<std::size_t>(j)];
      const double n2 = g.normalisers.norm2(h, i);
      const bool untestable = n2 == 0.0;
      const double x = divide && !untestable ? std::min(1.0, E(j, i) / n2) : E(j, i);
      out.push_back({j, i, untestable, x, untestable ? 0.0 : log10_beta_sf(x, a, b)});
    }
  return out;
}

TEST(TestPairNormalisers, DivideOrNotWithEveryEdge) {
  // c = 6, z = 2: Beta(1, 5).
  for (const bool divide : {true, false}) {
    GraphPair g = random_graph_pair(1, 6, 2, 7, 5, {1, 3});
    g.normalisers.divide = divide;
    SignificanceOptions o;
    o.all_edges = true;
    NullLawCache laws;
    const EdgeCandidates out = test_pair(g.pair, g.pair.E, o, laws, &g.normalisers);
    EXPECT_EQ(g.pair.null_kind, NullKind::Beta);
    EXPECT_EQ(g.pair.beta_a, 1.0);
    EXPECT_EQ(g.pair.beta_b, 5.0);
    const std::vector<EdgeTruth> want = truth(g, divide, 1.0, 5.0);
    ASSERT_EQ(out.size(), want.size());
    // Consumer neurons 0, 3, 6 are in group 1; producer neurons 1 and 3 send nothing there.
    EXPECT_EQ(g.pair.edges_tested, 35 - 2 * 3);
    ASSERT_EQ(out.untestable.size(), want.size());
    int untestable = 0, changed = 0;
    for (std::size_t k = 0; k < want.size(); ++k) {
      const std::string what = "divide " + std::to_string(divide) + " edge " + std::to_string(k);
      EXPECT_EQ(out.to_neuron[k], want[k].j) << what;
      EXPECT_EQ(out.from_neuron[k], want[k].i) << what;
      EXPECT_EQ(out.e[k], g.pair.E(want[k].j, want[k].i)) << what;
      EXPECT_EQ(out.testable(k), !want[k].untestable) << what;
      EXPECT_EQ(out.x(k), want[k].x) << what;
      EXPECT_NEAR(out.log10_p[k], want[k].log10_p, 1e-12 * std::max(1.0, std::abs(want[k].log10_p)))
          << what;
      untestable += want[k].untestable;
      changed += want[k].x != out.e[k];
    }
    EXPECT_EQ(untestable, 6);
    if (divide) {
      ASSERT_EQ(out.statistic.size(), want.size());
      EXPECT_GT(changed, 20);  // the division matters
    } else {
      EXPECT_TRUE(out.statistic.empty());  // the law applies to E itself
      EXPECT_EQ(changed, 0);
    }
  }
}

TEST(TestPairNormalisers, CandidatesAreTheTestableEdgesAtOrBelowAlpha) {
  for (const bool divide : {true, false}) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
      GraphPair g = random_graph_pair(seed, 8, 3, 20, 12, {0, 5, 7});
      g.normalisers.divide = divide;
      SignificanceOptions o;
      o.alpha = 0.05;
      NullLawCache laws;
      const EdgeCandidates out = test_pair(g.pair, g.pair.E, o, laws, &g.normalisers);
      const double a = 1.5, b = (24.0 - 3.0) / 2.0;
      EXPECT_EQ(g.pair.beta_a, a);
      EXPECT_EQ(g.pair.beta_b, b);
      EXPECT_EQ(g.pair.edges_tested, 240 - 3 * 7);  // 7 consumer neurons of group 1
      std::vector<EdgeTruth> want;
      for (const EdgeTruth& t : truth(g, divide, a, b))
        if (!t.untestable && t.log10_p <= std::log10(o.alpha)) want.push_back(t);
      ASSERT_EQ(out.size(), want.size()) << "divide " << divide << " seed " << seed;
      ASSERT_GT(want.size(), 5u);
      for (std::size_t k = 0; k < want.size(); ++k) {
        EXPECT_EQ(out.to_neuron[k], want[k].j);
        EXPECT_EQ(out.from_neuron[k], want[k].i);
        EXPECT_TRUE(out.testable(k));
        EXPECT_EQ(out.x(k), want[k].x);
        EXPECT_NEAR(out.log10_p[k], want[k].log10_p, 1e-12 * std::abs(want[k].log10_p));
      }
    }
  }
}

TEST(TestPairNormalisers, GroupOfEachConsumerNeuron) {
  // norm2 = 1 for group 0 and 0.25 for group 1; consumer neurons 0 and 2 are in group 1.
  PairResult pair;
  pair.c = 4;
  EdgeNormalisers n;
  n.norm2.resize(2, 2);
  n.norm2 << 1.0, 1.0,
             0.25, 0.25;
  n.group_of_to = {1, 0, 1};
  Eigen::MatrixXd E(3, 2);
  E << 0.2, 0.1,
       0.2, 0.1,
       0.3, 0.0;
  SignificanceOptions o;
  o.all_edges = true;
  NullLawCache laws;
  const EdgeCandidates out = test_pair(pair, E, o, laws, &n);
  // Column-major: (0,0) (1,0) (2,0) (0,1) (1,1) (2,1).
  const std::vector<double> x = {0.8, 0.2, 1.0, 0.4, 0.1, 0.0};  // 0.3 / 0.25 clipped to 1
  ASSERT_EQ(out.size(), 6u);
  for (std::size_t k = 0; k < 6; ++k) {
    EXPECT_DOUBLE_EQ(out.x(k), x[k]) << k;
    if (k != 2) EXPECT_NEAR(out.log10_p[k], log10_beta_sf(x[k], 0.5, 1.5), 1e-12) << k;
  }
  EXPECT_EQ(out.log10_p[2], -std::numeric_limits<double>::infinity());  // x = 1
  // Without group_of_to every neuron is in group 0: E itself (norm2 = 1).
  n.group_of_to.clear();
  const EdgeCandidates flat = test_pair(pair, E, o, laws, &n);
  for (std::size_t k = 0; k < 6; ++k)
    EXPECT_EQ(flat.x(k), E(static_cast<Eigen::Index>(k % 3), static_cast<Eigen::Index>(k / 3)));
  EXPECT_TRUE(flat.untestable.empty());  // no untestable edge at all
  EXPECT_EQ(pair.edges_tested, 6);
  // Sizes that do not match E.
  n.group_of_to = {0, 1};
  EXPECT_THROW(test_pair(pair, E, o, laws, &n), std::invalid_argument);
  n.group_of_to.clear();
  n.norm2.resize(2, 3);
  EXPECT_THROW(test_pair(pair, E, o, laws, &n), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// report_edges: untestable edges are reported (with --all-edges) but are not in the family.

TEST(ReportEdgesGraph, UntestableEdgesStayOutOfTheFamily) {
  for (const Correction correction : {Correction::Bonferroni, Correction::BH, Correction::Holm}) {
    for (const FdrScope scope : {FdrScope::Network, FdrScope::Pair}) {
      for (const bool all_edges : {true, false}) {
        SignificanceOptions o;
        o.correction = correction;
        o.fdr_scope = scope;
        o.all_edges = all_edges;
        GraphPair a = random_graph_pair(11, 6, 4, 9, 6, {0, 2});  // 2 x 3 untestable edges
        GraphPair b = random_graph_pair(12, 5, 3, 8, 7, {});
        b.normalisers.group_of_to.clear();  // ungrouped: every neuron in group 0
        std::vector<PairResult> pairs = {a.pair, b.pair};
        const std::vector<const GraphPair*> graph = {&a, &b};
        NullLawCache laws;
        std::vector<EdgeCandidates> candidates;
        for (std::size_t l = 0; l < 2; ++l)
          candidates.push_back(test_pair(pairs[l], pairs[l].E, o, laws, &graph[l]->normalisers));
        report_edges(pairs, candidates, o);
        // The family from the definitions: the testable edges' exact p.
        // Beta(2, 10) (c = 6, z = 4) and Beta(1.5, 6) (c = 5, z = 3).
        const std::vector<std::vector<EdgeTruth>> want = {truth(a, true, 2.0, 10.0),
                                                          truth(b, true, 1.5, 6.0)};
        std::vector<std::vector<double>> p(2);
        for (std::size_t l = 0; l < 2; ++l)
          for (const EdgeTruth& t : want[l])
            if (!t.untestable) p[l].push_back(t.log10_p);
        EXPECT_EQ(pairs[0].edges_tested, 54 - 6);
        EXPECT_EQ(pairs[1].edges_tested, 56);
        std::vector<std::vector<double>> q(2);
        if (scope == FdrScope::Pair) {
          for (std::size_t l = 0; l < 2; ++l) q[l] = adjust_log10(p[l], correction);
        } else {
          std::vector<double> all = p[0];
          all.insert(all.end(), p[1].begin(), p[1].end());
          const std::vector<double> adjusted = adjust_log10(all, correction);
          q[0].assign(adjusted.begin(), adjusted.begin() + static_cast<std::ptrdiff_t>(p[0].size()));
          q[1].assign(adjusted.begin() + static_cast<std::ptrdiff_t>(p[0].size()), adjusted.end());
        }
        const std::string what = to_string(correction) + " " + to_string(scope) +
                                 (all_edges ? " all edges" : " significant");
        int significant_seen = 0;
        for (std::size_t l = 0; l < 2; ++l) {
          const PairResult& pair = pairs[l];
          // Index of each edge in the testable family of its pair.
          std::vector<int> family_index;
          int next = 0;
          for (const EdgeTruth& t : want[l]) family_index.push_back(t.untestable ? -1 : next++);
          std::int64_t significant = 0;
          for (std::size_t k = 0; k < want[l].size(); ++k)
            if (!want[l][k].untestable && q[l][static_cast<std::size_t>(family_index[k])] <= std::log10(o.alpha))
              ++significant;
          EXPECT_EQ(pair.significant, significant) << what << " pair " << l;
          EXPECT_EQ(pair.edges.size(), all_edges ? want[l].size() : static_cast<std::size_t>(significant))
              << what << " pair " << l;
          for (const EdgeRecord& edge : pair.edges) {
            const auto k = static_cast<std::size_t>(edge.from_neuron * pair.E.rows() + edge.to_neuron);
            const EdgeTruth& t = want[l][k];
            if (t.untestable) {
              EXPECT_FALSE(edge.testable) << what;
              EXPECT_FALSE(edge.significant) << what;
              EXPECT_EQ(edge.e, 0.0) << what;
              EXPECT_EQ(edge.log10_p, 0.0) << what;
              EXPECT_EQ(edge.log10_q, 0.0) << what;
              continue;
            }
            EXPECT_TRUE(edge.testable) << what;
            const double want_q = q[l][static_cast<std::size_t>(family_index[k])];
            EXPECT_NEAR(edge.log10_p, t.log10_p, 1e-12 * std::max(1.0, std::abs(t.log10_p))) << what;
            EXPECT_NEAR(edge.log10_q, want_q, 1e-12 * std::max(1.0, std::abs(want_q))) << what;
            EXPECT_EQ(edge.significant, want_q <= std::log10(o.alpha)) << what;
            significant_seen += edge.significant;
          }
        }
        EXPECT_GE(significant_seen, 8) << what;
        if (correction == Correction::Bonferroni && all_edges) {
          // By hand: q = min(1, n p) with n the testable edges only (48 + 56 in the network, 48
          // in pair 0 alone), which a family counting the 6 untestable edges would not give.
          const double n = scope == FdrScope::Network ? 104.0 : 48.0;
          for (const EdgeRecord& edge : pairs[0].edges)
            if (edge.testable)
              EXPECT_NEAR(edge.log10_q, std::min(0.0, edge.log10_p + std::log10(n)), 1e-12) << what;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The null law's c and z (choose_null_law through test_pair).

PairResult law_pair(std::int64_t c, std::int64_t z_u, std::int64_t z_v, std::int64_t null_c,
                    std::int64_t null_z) {
  PairResult pair;
  pair.c = c;
  pair.z_u = z_u;
  pair.z_v = z_v;
  pair.null_c = null_c;
  pair.null_z = null_z;
  pair.E = Eigen::MatrixXd::Constant(2, 3, 0.3);
  pair.E(1, 2) = 0.9;
  return pair;
}

TEST(NullLawOfAGraphPair, NullCAndNullZ) {
  struct Case {
    const char* what;
    std::int64_t c, z_u, z_v, null_c, null_z;
    double a, b;
  };
  // Beta(z/2, (c z - z)/2) with the law's c and z.
  const Case cases[] = {
      {"ungrouped", 8, 1, 9, 0, 0, 4.5, 31.5},
      {"grouped, 4 channels per group", 8, 1, 9, 4, 9, 4.5, 13.5},
      {"depthwise, 6 producer channels", 6, 1, 9, 6, 1, 0.5, 2.5},
      {"only null_c set", 8, 1, 3, 2, 0, 1.5, 1.5},
  };
  for (const Case& k : cases) {
    PairResult pair = law_pair(k.c, k.z_u, k.z_v, k.null_c, k.null_z);
    SignificanceOptions o;
    o.all_edges = true;
    NullLawCache laws;
    const EdgeCandidates out = test_pair(pair, pair.E, o, laws);
    EXPECT_EQ(pair.null_kind, NullKind::Beta) << k.what;
    EXPECT_EQ(pair.z, k.z_v) << k.what;  // the pair's own z on the tested side
    EXPECT_EQ(pair.beta_a, k.a) << k.what;
    EXPECT_EQ(pair.beta_b, k.b) << k.what;
    EXPECT_EQ(pair.edges_tested, 6) << k.what;
    ASSERT_EQ(out.size(), 6u) << k.what;
    for (std::size_t e = 0; e < 6; ++e)
      EXPECT_NEAR(out.log10_p[e], log10_beta_sf(out.e[e], k.a, k.b),
                  1e-12 * std::max(1.0, std::abs(out.log10_p[e])))
          << k.what;
  }
  // One channel in the law: untestable, whatever c.
  PairResult one = law_pair(8, 1, 9, 1, 1);
  SignificanceOptions o;
  NullLawCache laws;
  EXPECT_EQ(test_pair(one, one.E, o, laws).size(), 0u);
  EXPECT_EQ(one.null_kind, NullKind::Untestable);
  EXPECT_EQ(one.edges_tested, 0);
  // Positions on both sides: simulated, whatever null_c.
  PairResult both = law_pair(4, 2, 3, 4, 3);
  o.simulation_draws = 1000;
  test_pair(both, both.E, o, laws);
  EXPECT_EQ(both.null_kind, NullKind::Simulated);
}

TEST(NullLawOfAGraphPair, ChiSquareRuleUsesTheLawAndTheStatistic) {
  // --sigma 2 on a grouped consumer (law c = 4, z = 9) with E divided by norm2 = 0.5.
  PairResult pair = law_pair(8, 1, 9, 4, 9);
  pair.E << 0.05, 0.10, 0.20,
            0.25, 0.30, 0.45;
  EdgeNormalisers n;
  n.norm2 = Eigen::MatrixXd::Constant(1, 3, 0.5);
  SignificanceOptions o;
  o.sigma = 2.0;
  o.correction = Correction::None;
  o.all_edges = true;
  NullLawCache laws;
  std::vector<PairResult> pairs = {pair};
  std::vector<EdgeCandidates> candidates = {test_pair(pairs[0], pairs[0].E, o, laws, &n)};
  EXPECT_EQ(pairs[0].null_kind, NullKind::ChiSquare);
  const double threshold = chi2_edge_threshold(2.0, 9, 4);
  EXPECT_EQ(pairs[0].e_threshold, threshold);
  EXPECT_NE(threshold, chi2_edge_threshold(2.0, 9, 8));
  EXPECT_EQ(pairs[0].beta_a, 4.5);
  EXPECT_EQ(pairs[0].beta_b, 13.5);
  report_edges(pairs, candidates, o);
  ASSERT_EQ(pairs[0].edges.size(), 6u);
  int significant = 0;
  for (const EdgeRecord& edge : pairs[0].edges) {
    const double x = edge.e / 0.5;
    EXPECT_EQ(edge.significant, x >= threshold) << edge.e;
    significant += edge.significant;
  }
  // The rule splits these edges (on x, not on E).
  EXPECT_GT(significant, 0);
  EXPECT_LT(significant, 6);
  int differs = 0;
  for (const EdgeRecord& edge : pairs[0].edges) differs += (edge.e >= threshold) != (edge.e / 0.5 >= threshold);
  EXPECT_GT(differs, 0);
}

}  // namespace
}  // namespace svr
