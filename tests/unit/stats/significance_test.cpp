// The significance split of the distributed reduction (candidates on the pair owner, correction
// on rank 0) against the correction over every edge.
#include "svr/stats/significance.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>

#include "svr/stats/corrections.hpp"
#include "svr/stats/pvalues.hpp"

namespace svr {
namespace {

// Pairs with Beta null laws (z = 1 on both sides) and E that has both chance-level entries and
// strong ones, plus one untestable pair (c = 1).
std::vector<PairResult> random_pairs(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const std::vector<std::int64_t> c = {8, 1, 12, 6};
  const std::vector<Eigen::Index> r = {9, 7, 11, 6, 5};
  std::vector<PairResult> pairs;
  for (std::size_t l = 0; l < c.size(); ++l) {
    PairResult pair;
    pair.from_layer = static_cast<int>(l);
    pair.to_layer = pair.from_layer + 1;
    pair.c = c[l];
    pair.E.resize(r[l + 1], r[l]);
    for (Eigen::Index k = 0; k < pair.E.size(); ++k) {
      const double u = unit(rng);
      // Mostly near the null mean 1/c, some strong edges, a few exact ties.
      double e = u < 0.15 ? 0.5 + 0.5 * unit(rng) : std::pow(unit(rng), 3.0) * 2.0 / c[l];
      if (u > 0.95 && k > 0) e = pair.E.data()[k - 1];
      pair.E.data()[k] = std::min(e, 1.0);
    }
    pairs.push_back(pair);
  }
  return pairs;
}

struct Expected {
  double log10_p, log10_q;
  bool significant;
};

// The correction over every tested edge, from the definitions (no screening, no candidates).
std::vector<std::vector<Expected>> full_family(const std::vector<PairResult>& pairs,
                                               const SignificanceOptions& o) {
  std::vector<std::vector<double>> p(pairs.size());
  for (std::size_t l = 0; l < pairs.size(); ++l) {
    if (pairs[l].c <= 1) continue;
    const BetaParams beta = beta_null_params(pairs[l].c, 1);
    for (Eigen::Index i = 0; i < pairs[l].E.cols(); ++i)
      for (Eigen::Index j = 0; j < pairs[l].E.rows(); ++j)
        p[l].push_back(log10_beta_sf(pairs[l].E(j, i), beta.a, beta.b));
  }
  std::vector<std::vector<double>> q(pairs.size());
  if (o.fdr_scope == FdrScope::Pair) {
    for (std::size_t l = 0; l < pairs.size(); ++l) q[l] = adjust_log10(p[l], o.correction);
  } else {
    std::vector<double> all;
    for (const auto& v : p) all.insert(all.end(), v.begin(), v.end());
    const std::vector<double> adjusted = adjust_log10(all, o.correction);
    std::size_t at = 0;
    for (std::size_t l = 0; l < pairs.size(); ++l)
      for (std::size_t k = 0; k < p[l].size(); ++k) q[l].push_back(adjusted[at++]);
  }
  std::vector<std::vector<Expected>> out(pairs.size());
  for (std::size_t l = 0; l < pairs.size(); ++l)
    for (std::size_t k = 0; k < p[l].size(); ++k)
      out[l].push_back({p[l][k], q[l][k], q[l][k] <= std::log10(o.alpha)});
  return out;
}

TEST(ReduceSignificance, CandidatesGiveTheFullFamilysSignificantEdges) {
  std::size_t significant_seen = 0;
  for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    for (FdrScope scope : {FdrScope::Network, FdrScope::Pair}) {
      for (Correction correction : {Correction::BH, Correction::BY, Correction::Holm,
                                    Correction::Bonferroni, Correction::None}) {
        for (bool all_edges : {false, true}) {
          SignificanceOptions o;
          o.fdr_scope = scope;
          o.correction = correction;
          o.all_edges = all_edges;
          o.alpha = 0.05;
          std::vector<PairResult> pairs = random_pairs(seed);
          const auto expected = full_family(pairs, o);
          // The owner's part on each pair, then rank 0's part from the candidates alone.
          NullLawCache laws;
          std::vector<EdgeCandidates> candidates;
          std::size_t travelled = 0;
          for (PairResult& pair : pairs) {
            candidates.push_back(test_pair(pair, pair.E, o, laws));
            travelled += candidates.back().size();
          }
          std::size_t all = 0;
          for (const PairResult& pair : pairs) all += static_cast<std::size_t>(pair.E.size());
          if (!all_edges) EXPECT_LT(travelled, all / 2);  // the point of candidates
          report_edges(pairs, candidates, o);
          for (std::size_t l = 0; l < pairs.size(); ++l) {
            const PairResult& pair = pairs[l];
            if (pair.c <= 1) {
              EXPECT_EQ(pair.null_kind, NullKind::Untestable);
              EXPECT_EQ(pair.significant, 0);
              EXPECT_EQ(pair.edges.size(),
                        all_edges ? static_cast<std::size_t>(pair.E.size()) : 0u);
              continue;
            }
            std::int64_t significant = 0;
            for (const Expected& e : expected[l]) significant += e.significant;
            EXPECT_EQ(pair.significant, significant) << "pair " << l;
            EXPECT_EQ(pair.edges_tested, pair.E.size());
            for (const EdgeRecord& edge : pair.edges) {
              const Expected& e = expected[l][static_cast<std::size_t>(
                  edge.from_neuron * pair.E.rows() + edge.to_neuron)];
              EXPECT_EQ(edge.significant, e.significant);
              EXPECT_EQ(edge.e, pair.E(edge.to_neuron, edge.from_neuron));
              EXPECT_NEAR(edge.log10_p, e.log10_p, 1e-12 * std::max(1.0, std::abs(e.log10_p)));
              if (all_edges || edge.significant)
                EXPECT_NEAR(edge.log10_q, e.log10_q, 1e-12 * std::max(1.0, std::abs(e.log10_q)));
              significant_seen += edge.significant;
            }
            if (!all_edges) EXPECT_EQ(pair.edges.size(), static_cast<std::size_t>(significant));
          }
        }
      }
    }
  }
  EXPECT_GT(significant_seen, 100u);  // the data must produce significant edges
}

// The pipeline's path: screen_pair (exact p deferred), narrow_candidates (exact p only at or
// below the correction's fixed-point level), report_edges. The significant edges and their p
// and q are those of the correction over the whole family.
TEST(ReduceSignificance, NarrowedCandidatesGiveTheFullFamilysSignificantEdges) {
  const FamilySum one_process = [](const std::function<std::int64_t()>& local) { return local(); };
  std::size_t significant_seen = 0;
  for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u, 6u}) {
    for (FdrScope scope : {FdrScope::Network, FdrScope::Pair}) {
      for (Correction correction : {Correction::BH, Correction::BY, Correction::Holm,
                                    Correction::Bonferroni, Correction::None}) {
        for (double alpha : {0.05, 1e-4}) {
          SignificanceOptions o;
          o.fdr_scope = scope;
          o.correction = correction;
          o.alpha = alpha;
          std::vector<PairResult> pairs = random_pairs(seed);
          const auto expected = full_family(pairs, o);
          NullLawCache laws;
          std::vector<EdgeCandidates> candidates;
          std::vector<std::size_t> owned;
          std::size_t deferred = 0, within_alpha = 0;
          for (std::size_t l = 0; l < pairs.size(); ++l) {
            candidates.push_back(screen_pair(pairs[l], pairs[l].E, o, laws));
            owned.push_back(l);
            for (std::size_t k = 0; k < candidates[l].size(); ++k)
              deferred += candidates[l].deferred(k);
            for (const Expected& e : expected[l]) within_alpha += e.log10_p <= std::log10(alpha);
          }
          EXPECT_GE(deferred, within_alpha);  // the screen misses no edge with p <= alpha
          EXPECT_THROW(report_edges(pairs, candidates, o), std::invalid_argument);
          narrow_candidates(pairs, candidates, owned, o, one_process);
          std::size_t kept = 0;
          for (const EdgeCandidates& c : candidates) {
            kept += c.size();
            for (std::size_t k = 0; k < c.size(); ++k) EXPECT_FALSE(c.deferred(k));
          }
          report_edges(pairs, candidates, o);
          std::int64_t significant_total = 0;
          for (std::size_t l = 0; l < pairs.size(); ++l) {
            const PairResult& pair = pairs[l];
            std::int64_t significant = 0;
            for (const Expected& e : expected[l]) significant += e.significant;
            const std::string where = "seed " + std::to_string(seed) + " " + to_string(scope) +
                                      " " + to_string(correction) + " alpha " +
                                      std::to_string(alpha) + " pair " + std::to_string(l);
            EXPECT_EQ(pair.significant, significant) << where;
            ASSERT_EQ(pair.edges.size(), static_cast<std::size_t>(significant)) << where;
            significant_total += significant;
            for (const EdgeRecord& edge : pair.edges) {
              const Expected& e = expected[l][static_cast<std::size_t>(
                  edge.from_neuron * pair.E.rows() + edge.to_neuron)];
              EXPECT_TRUE(e.significant) << where;
              EXPECT_NEAR(edge.log10_p, e.log10_p, 1e-12 * std::max(1.0, std::abs(e.log10_p)));
              EXPECT_NEAR(edge.log10_q, e.log10_q, 1e-12 * std::max(1.0, std::abs(e.log10_q)));
            }
          }
          significant_seen += static_cast<std::size_t>(significant_total);
          // Correction::None needs every p <= alpha; the others need fewer.
          if (correction == Correction::None) EXPECT_EQ(kept, within_alpha);
          else EXPECT_LE(kept, within_alpha);
        }
      }
    }
  }
  EXPECT_GT(significant_seen, 500u);  // the data must produce significant edges
}

// Under the null (E of random unit vectors' overlaps drawn from the Beta law itself), about
// alpha of the edges pass the screen, and BH's fixed point leaves almost none to evaluate.
TEST(ReduceSignificance, NarrowingOnANullFamilyLeavesFewExactPValues) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  const std::int64_t c = 64;
  std::vector<PairResult> pairs(3);
  for (std::size_t l = 0; l < pairs.size(); ++l) {
    pairs[l].from_layer = static_cast<int>(l);
    pairs[l].to_layer = static_cast<int>(l) + 1;
    pairs[l].c = c;
    pairs[l].E.resize(60, 50);
    // E = (g_1^2) / sum g^2 with c Gaussians: Beta(1/2, (c - 1)/2) exactly.
    for (Eigen::Index k = 0; k < pairs[l].E.size(); ++k) {
      double first = 0.0, total = 0.0;
      for (std::int64_t a = 0; a < c; ++a) {
        const double g = normal(rng);
        if (a == 0) first = g * g;
        total += g * g;
      }
      pairs[l].E.data()[k] = first / total;
    }
  }
  SignificanceOptions o;  // BH over the network, alpha 0.05
  NullLawCache laws;
  std::vector<EdgeCandidates> candidates;
  std::size_t screened = 0;
  for (PairResult& pair : pairs) {
    candidates.push_back(screen_pair(pair, pair.E, o, laws));
    screened += candidates.back().size();
  }
  const double m = 3.0 * 60 * 50;
  EXPECT_NEAR(static_cast<double>(screened) / m, 0.05, 0.01);
  std::int64_t calls = 0;
  const double level = narrowed_level(o.correction, o.alpha, 9000, [&](double at) {
    ++calls;
    std::int64_t n = 0;
    for (std::size_t l = 0; l < pairs.size(); ++l) n += count_within(pairs[l], candidates[l], at);
    return n;
  });
  EXPECT_LT(level, 1e-4);  // alpha * K / m shrinks by about alpha per step
  EXPECT_GE(calls, 2);
  narrow_candidates(pairs, candidates, {0, 1, 2}, o,
                    [](const std::function<std::int64_t()>& local) { return local(); });
  std::size_t kept = 0;
  for (const EdgeCandidates& cand : candidates) kept += cand.size();
  EXPECT_LE(kept, 2u);
  report_edges(pairs, candidates, o);
  for (const PairResult& pair : pairs) EXPECT_EQ(pair.significant, 0);
}

}  // namespace
}  // namespace svr
