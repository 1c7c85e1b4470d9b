// adjust_log10_candidates (the distributed reduction's correction, which sees only the p-values at
// or below alpha and the family size) against adjust_log10 on the whole family.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "svr/stats/corrections.hpp"

namespace {

using svr::Correction;

constexpr Correction kAll[] = {Correction::BH, Correction::BY, Correction::Holm,
                               Correction::Bonferroni, Correction::None};

// A family with what real runs produce: many p near 1 (screened edges, log10 p = 0), exact ties,
// p = 0 (log10 p = -inf), and a spread of tiny values far below 1e-308.
std::vector<double> random_family(std::mt19937_64& rng, std::size_t n) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> log10_p;
  for (std::size_t i = 0; i < n; ++i) {
    const double u = unit(rng);
    if (u < 0.05) {
      log10_p.push_back(-std::numeric_limits<double>::infinity());
    } else if (u < 0.25) {
      log10_p.push_back(0.0);
    } else if (u < 0.35 && !log10_p.empty()) {
      log10_p.push_back(log10_p[static_cast<std::size_t>(unit(rng) * log10_p.size())]);  // a tie
    } else if (u < 0.6) {
      log10_p.push_back(-400.0 * unit(rng));
    } else {
      log10_p.push_back(-3.0 * unit(rng));  // p in (0.001, 1]: around every alpha
    }
  }
  return log10_p;
}

TEST(AdjustLog10Candidates, EqualsTheFullFamilyForEveryCandidateWithQAtMostAlpha) {
  std::mt19937_64 rng(20240611);
  std::size_t compared = 0, significant = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t n = 1 + static_cast<std::size_t>(rng() % 400);
    const std::vector<double> family = random_family(rng, n);
    for (double alpha : {0.05, 0.01, 0.2, 1e-5}) {
      const double log10_alpha = std::log10(alpha);
      std::vector<double> candidates;
      std::vector<std::size_t> where;
      for (std::size_t i = 0; i < n; ++i)
        if (family[i] <= log10_alpha) candidates.push_back(family[i]), where.push_back(i);
      // The candidates in another order than the family's, as they arrive from the ranks.
      std::vector<std::size_t> order(candidates.size());
      for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
      std::shuffle(order.begin(), order.end(), rng);
      std::vector<double> shuffled;
      for (std::size_t k : order) shuffled.push_back(candidates[k]);
      for (Correction correction : kAll) {
        const std::vector<double> full = svr::adjust_log10(family, correction);
        const std::vector<double> q =
            svr::adjust_log10_candidates(shuffled, static_cast<std::int64_t>(n), correction);
        ASSERT_EQ(q.size(), shuffled.size());
        for (std::size_t k = 0; k < order.size(); ++k) {
          const double exact = full[where[order[k]]];
          // The decision is the same for every candidate...
          EXPECT_EQ(q[k] <= log10_alpha, exact <= log10_alpha)
              << "trial " << trial << " alpha " << alpha << " candidate " << k;
          // ...and the value is bit for bit the same wherever it can be significant.
          if (exact <= log10_alpha) {
            EXPECT_EQ(q[k], exact) << "trial " << trial << " alpha " << alpha;
            ++significant;
          }
          ++compared;
        }
        // Every edge left out has q > alpha in the full family: it can never be significant.
        for (std::size_t i = 0; i < n; ++i)
          if (family[i] > log10_alpha) EXPECT_GT(full[i], log10_alpha);
      }
    }
  }
  // The random families must exercise both outcomes, or the test proves nothing.
  EXPECT_GT(significant, 1000u);
  EXPECT_GT(compared, significant + 1000u);
}

TEST(AdjustLog10Candidates, HolmBonferroniAndNoneAreExactForEveryCandidate) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 100; ++trial) {
    const std::vector<double> family = random_family(rng, 1 + rng() % 200);
    std::vector<double> sorted = family;
    std::sort(sorted.begin(), sorted.end());
    // Any cut that keeps ties together: every value at or below the cut is a candidate.
    const double cut = sorted[rng() % sorted.size()];
    std::vector<double> candidates;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < family.size(); ++i)
      if (family[i] <= cut) candidates.push_back(family[i]), where.push_back(i);
    for (Correction correction : {Correction::Holm, Correction::Bonferroni, Correction::None}) {
      const std::vector<double> full = svr::adjust_log10(family, correction);
      const std::vector<double> q = svr::adjust_log10_candidates(
          candidates, static_cast<std::int64_t>(family.size()), correction);
      for (std::size_t k = 0; k < candidates.size(); ++k) EXPECT_EQ(q[k], full[where[k]]);
    }
  }
}

TEST(AdjustLog10Candidates, TheWholeFamilyAsCandidatesIsAdjustLog10) {
  std::mt19937_64 rng(11);
  const std::vector<double> family = random_family(rng, 500);
  for (Correction correction : kAll) {
    EXPECT_EQ(svr::adjust_log10_candidates(family, 500, correction),
              svr::adjust_log10(family, correction));
  }
}

TEST(AdjustLog10Candidates, TheFamilySizeMatters) {
  // One candidate p = 0.01 of a family of 10: BH and Bonferroni q = 0.1, Holm 0.1.
  const std::vector<double> one = {-2.0};
  for (Correction correction : {Correction::BH, Correction::Holm, Correction::Bonferroni})
    EXPECT_NEAR(svr::adjust_log10_candidates(one, 10, correction)[0], -1.0, 1e-15);
  EXPECT_EQ(svr::adjust_log10_candidates(one, 10, Correction::None)[0], -2.0);
  EXPECT_TRUE(svr::adjust_log10_candidates({}, 10, Correction::BH).empty());
}

TEST(AdjustLog10Candidates, RejectsMoreCandidatesThanTheFamilyAndBadValues) {
  EXPECT_THROW(svr::adjust_log10_candidates({-2.0, -3.0}, 1, Correction::BH),
               std::invalid_argument);
  EXPECT_THROW(svr::adjust_log10_candidates({0.5}, 3, Correction::BH), std::invalid_argument);
  EXPECT_THROW(svr::adjust_log10_candidates({std::nan("")}, 3, Correction::Holm),
               std::invalid_argument);
}

}  // namespace
