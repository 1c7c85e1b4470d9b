// adjust_log10 against worked examples (hand computed, checked with numpy re-implementations of
// statsmodels' multipletests).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "svr/stats/corrections.hpp"

namespace {

using svr::Correction;

std::vector<double> log10_of(const std::vector<double>& p) {
  std::vector<double> out;
  for (double v : p) out.push_back(std::log10(v));
  return out;
}

void expect_q(const std::vector<double>& log10_q, const std::vector<double>& q, double tol) {
  ASSERT_EQ(log10_q.size(), q.size());
  for (std::size_t i = 0; i < q.size(); ++i) {
    EXPECT_NEAR(std::pow(10.0, log10_q[i]), q[i], tol) << "index " << i;
    EXPECT_LE(log10_q[i], 0.0);
  }
}

// p with a tie (0.04 twice). Sorted: 0.005, 0.01, 0.03, 0.04, 0.04, 0.5 (n = 6).
//   BH   (n/m) p: 0.03, 0.03, 0.06, 0.06, 0.048, 0.5 -> running min from the end
//        0.03, 0.03, 0.048, 0.048, 0.048, 0.5
//   BY   BH * (1 + 1/2 + ... + 1/6 = 2.45), capped at 1
//   Holm (n-m+1) p: 0.03, 0.05, 0.12, 0.12, 0.08, 0.5 -> running max 0.03, 0.05, 0.12, 0.12, 0.12, 0.5
//   Bonferroni 6 p capped at 1
// /usr/bin/python3 (numpy): bh [0.03, 0.048, 0.048, 0.03, 0.048, 0.5],
//   by [0.0735, 0.1176, 0.1176, 0.0735, 0.1176, 1.0], holm [0.05, 0.12, 0.12, 0.03, 0.12, 0.5]
const std::vector<double> kP = {0.01, 0.04, 0.03, 0.005, 0.04, 0.5};

TEST(AdjustLog10, BenjaminiHochberg) {
  expect_q(svr::adjust_log10(log10_of(kP), Correction::BH), {0.03, 0.048, 0.048, 0.03, 0.048, 0.5},
           1e-15);
}

TEST(AdjustLog10, BenjaminiYekutieli) {
  expect_q(svr::adjust_log10(log10_of(kP), Correction::BY),
           {0.0735, 0.1176, 0.1176, 0.0735, 0.1176, 1.0}, 1e-15);
}

TEST(AdjustLog10, Holm) {
  expect_q(svr::adjust_log10(log10_of(kP), Correction::Holm), {0.05, 0.12, 0.12, 0.03, 0.12, 0.5},
           1e-15);
}

TEST(AdjustLog10, Bonferroni) {
  expect_q(svr::adjust_log10(log10_of(kP), Correction::Bonferroni),
           {0.06, 0.24, 0.18, 0.03, 0.24, 1.0}, 1e-15);
}

TEST(AdjustLog10, NoneIsIdentity) {
  const auto lp = log10_of(kP);
  EXPECT_EQ(svr::adjust_log10(lp, Correction::None), lp);
}

TEST(AdjustLog10, TiesGetExactlyEqualQ) {
  // Three-way tie in the middle and a tie at the top.
  const std::vector<double> lp = {-2.0, -5.0, -2.0, -1.0, -2.0, -5.0, -0.3};
  for (auto c : {Correction::BH, Correction::BY, Correction::Holm, Correction::Bonferroni,
                 Correction::None}) {
    const auto q = svr::adjust_log10(lp, c);
    EXPECT_EQ(q[0], q[2]);
    EXPECT_EQ(q[0], q[4]);
    EXPECT_EQ(q[1], q[5]);
  }
  // BH by hand (n = 7): ranks 1-2 at 1e-5 -> min((7/2) 1e-5, ...) = 3.5e-5; ranks 3-5 at 1e-2 ->
  // (7/5) 1e-2 = 0.014; rank 6 at 0.1 -> 7/6 * 0.1; rank 7 at 10^-0.3 -> 0.501...
  expect_q(svr::adjust_log10(lp, Correction::BH),
           {0.014, 3.5e-5, 0.014, 0.7 / 6, 0.014, 3.5e-5, std::pow(10.0, -0.3)}, 1e-15);
  // Holm by hand: ranks 1-2: max(7, 6) 1e-5 = 7e-5; ranks 3-5: 5e-2; rank 6: 2 * 0.1 = 0.2;
  // rank 7: 10^-0.3.
  expect_q(svr::adjust_log10(lp, Correction::Holm),
           {0.05, 7e-5, 0.05, 0.2, 0.05, 7e-5, std::pow(10.0, -0.3)}, 1e-15);
}

TEST(AdjustLog10, PValuesFarBelowDoubleRange) {
  // p = 1e-700 (twice), 1e-3, 10^-0.5; n = 4.
  const std::vector<double> lp = {-700.0, -3.0, -700.0, -0.5};  // p = 1e-700 is 0 as a double
  const double l2 = std::log10(2.0), l3 = std::log10(3.0), l4 = std::log10(4.0);
  const auto bh = svr::adjust_log10(lp, Correction::BH);
  // Ranks 1, 2 tie: min(4/1, 4/2) * 1e-700 = 2e-700; rank 3: (4/3) 1e-3; rank 4: 10^-0.5.
  EXPECT_NEAR(bh[0], -700.0 + l2, 1e-12);
  EXPECT_NEAR(bh[2], -700.0 + l2, 1e-12);
  EXPECT_NEAR(bh[1], -3.0 + l4 - l3, 1e-12);
  EXPECT_NEAR(bh[3], -0.5, 1e-12);
  const auto by = svr::adjust_log10(lp, Correction::BY);
  const double lh = std::log10(1.0 + 1.0 / 2 + 1.0 / 3 + 1.0 / 4);
  EXPECT_NEAR(by[0], -700.0 + l2 + lh, 1e-12);
  EXPECT_NEAR(by[1], -3.0 + l4 - l3 + lh, 1e-12);
  EXPECT_NEAR(by[3], -0.5 + lh, 1e-12);  // 10^-0.5 * 2.083 = 0.659, not capped
  const auto holm = svr::adjust_log10(lp, Correction::Holm);
  // Ranks 1, 2: max(4, 3) 1e-700; rank 3: 2e-3; rank 4: max(2e-3, 10^-0.5).
  EXPECT_NEAR(holm[0], -700.0 + l4, 1e-12);
  EXPECT_NEAR(holm[2], -700.0 + l4, 1e-12);
  EXPECT_NEAR(holm[1], -3.0 + l2, 1e-12);
  EXPECT_NEAR(holm[3], -0.5, 1e-12);
  const auto bonf = svr::adjust_log10(lp, Correction::Bonferroni);
  EXPECT_NEAR(bonf[0], -700.0 + l4, 1e-12);
  EXPECT_NEAR(bonf[1], -3.0 + l4, 1e-12);
  EXPECT_EQ(bonf[3], 0.0);
}

TEST(AdjustLog10, EdgeCases) {
  EXPECT_TRUE(svr::adjust_log10({}, Correction::BH).empty());
  const double minus_inf = -std::numeric_limits<double>::infinity();
  const auto q = svr::adjust_log10({minus_inf, -1.0}, Correction::BH);
  EXPECT_EQ(q[0], minus_inf);
  EXPECT_NEAR(q[1], -1.0, 1e-15);
  EXPECT_THROW(svr::adjust_log10({0.1}, Correction::BH), std::invalid_argument);
  EXPECT_THROW(svr::adjust_log10({std::nan("")}, Correction::Holm), std::invalid_argument);
  // A single test is its own family: q = p for every correction.
  for (auto c : {Correction::BH, Correction::BY, Correction::Holm, Correction::Bonferroni}) {
    EXPECT_NEAR(svr::adjust_log10({-4.0}, c)[0], -4.0, 1e-15);
  }
}

TEST(ScreeningLevel, ClosedForms) {
  EXPECT_DOUBLE_EQ(svr::screening_level(Correction::None, 0.05, 1000, 10), 0.05);
  EXPECT_DOUBLE_EQ(svr::screening_level(Correction::Bonferroni, 0.05, 1000, 10), 0.05 / 1000);
  EXPECT_DOUBLE_EQ(svr::screening_level(Correction::BH, 0.05, 1000, 10), 0.05 * 10 / 1000);
  EXPECT_DOUBLE_EQ(svr::screening_level(Correction::BY, 0.05, 1000, 10),
                   0.05 * 10 / (1000 * std::log(1001.0)));
  EXPECT_DOUBLE_EQ(svr::screening_level(Correction::Holm, 0.05, 1000, 10), 0.05 / 991);
  EXPECT_EQ(svr::screening_level(Correction::BH, 0.05, 1000, 0), 0.0);
  EXPECT_EQ(svr::screening_level(Correction::Holm, 0.05, 1000, 0), 0.0);
  EXPECT_DOUBLE_EQ(svr::screening_level(Correction::BH, 0.05, 0, 0), 0.05);
  // BY's level is safe: ln(n + 1) <= H_n for every n
  for (std::int64_t n : {1, 2, 3, 10, 1000}) {
    double h = 0.0;
    for (std::int64_t i = 1; i <= n; ++i) h += 1.0 / static_cast<double>(i);
    EXPECT_GE(svr::screening_level(Correction::BY, 0.05, n, n), 0.05 / h * (1 - 1e-15)) << n;
  }
  EXPECT_THROW(svr::screening_level(Correction::BH, 0.0, 10, 1), std::invalid_argument);
  EXPECT_THROW(svr::screening_level(Correction::BH, 0.05, -1, 1), std::invalid_argument);
}

// The fixed point against brute force: on random families, every member significant by the
// full correction has p <= the level, and for BH the level is exactly alpha k / n.
TEST(ScreeningLevel, FixedPointKeepsEverySignificantMember) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = 20 + static_cast<std::size_t>(unit(rng) * 500);
    const double strong = unit(rng) * 0.5;
    std::vector<double> p(n), log10_p(n);
    for (std::size_t i = 0; i < n; ++i) {
      p[i] = unit(rng) < strong ? std::pow(unit(rng), 8.0) * 1e-3 : unit(rng);
      log10_p[i] = std::log10(p[i]);
    }
    for (Correction c : {Correction::BH, Correction::BY, Correction::Holm, Correction::Bonferroni,
                         Correction::None}) {
      const double alpha = 0.05;
      const std::vector<double> q = svr::adjust_log10(log10_p, c);
      const double level = svr::narrowed_level(c, alpha, static_cast<std::int64_t>(n), [&](double at) {
        std::int64_t k = 0;
        for (double x : p) k += x <= at;
        return k;
      });
      EXPECT_LE(level, alpha);
      std::int64_t significant = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (q[i] > std::log10(alpha)) continue;
        ++significant;
        EXPECT_LE(p[i], level) << svr::to_string(c) << " trial " << trial;
      }
      if (c == Correction::BH)
        EXPECT_DOUBLE_EQ(level, alpha * static_cast<double>(significant) / static_cast<double>(n))
            << "trial " << trial;
      // Dropping the members above the level leaves the significant members' q unchanged.
      std::vector<double> kept;
      std::vector<std::size_t> where;
      for (std::size_t i = 0; i < n; ++i)
        if (p[i] <= level) {
          kept.push_back(log10_p[i]);
          where.push_back(i);
        }
      const std::vector<double> kept_q =
          svr::adjust_log10_candidates(kept, static_cast<std::int64_t>(n), c);
      for (std::size_t k = 0; k < kept.size(); ++k)
        if (q[where[k]] <= std::log10(alpha))
          EXPECT_NEAR(kept_q[k], q[where[k]], 1e-12) << svr::to_string(c) << " trial " << trial;
    }
  }
}

}  // namespace
