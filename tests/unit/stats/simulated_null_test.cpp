// SimulatedNull: the reduced sampler against the literal definition and against the Beta law.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "svr/stats/pvalues.hpp"

namespace {

// The definition of the spec, drawn literally: u, v Gaussian then normalised, A[a][p] = u[a z_u + p].
std::vector<double> naive_sample(std::int64_t c, std::int64_t z_u, std::int64_t z_v, int draws,
                                 std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal;
  std::vector<double> out;
  Eigen::MatrixXd A(c, z_u), B(c, z_v);
  for (int d = 0; d < draws; ++d) {
    Eigen::VectorXd u(c * z_u), v(c * z_v);
    for (auto& x : u) x = normal(engine);
    for (auto& x : v) x = normal(engine);
    u.normalize();
    v.normalize();
    for (std::int64_t a = 0; a < c; ++a) {
      for (std::int64_t p = 0; p < z_u; ++p) A(a, p) = u(a * z_u + p);
      for (std::int64_t q = 0; q < z_v; ++q) B(a, q) = v(a * z_v + q);
    }
    out.push_back((A.transpose() * B).squaredNorm());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Two-sample Kolmogorov-Smirnov statistic of two sorted samples.
double ks_statistic(const std::vector<double>& x, const std::vector<double>& y) {
  std::size_t i = 0, j = 0;
  double d = 0.0;
  while (i < x.size() && j < y.size()) {
    const double t = std::min(x[i], y[j]);
    while (i < x.size() && x[i] <= t) ++i;
    while (j < y.size() && y[j] <= t) ++j;
    d = std::max(d, std::fabs(static_cast<double>(i) / x.size() - static_cast<double>(j) / y.size()));
  }
  return d;
}

TEST(SimulatedNull, MatchesTheLiteralDefinition) {
  // Covers both reductions: k = z_min < c, and k = c <= z_min; and z_u > z_v (roles swapped).
  struct Case {
    std::int64_t c, z_u, z_v;
  };
  const int n = 100000;
  for (const auto& k : {Case{6, 3, 4}, Case{3, 4, 5}, Case{5, 5, 2}, Case{4, 4, 4}, Case{7, 1, 3}}) {
    const svr::SimulatedNull null(k.c, k.z_u, k.z_v, n, 11);
    const auto reference = naive_sample(k.c, k.z_u, k.z_v, n, 12);
    // KS critical value for two samples of n at significance 1e-4: sqrt(-ln(5e-5)/2) sqrt(2/n)
    // = 0.0100; seeds are fixed, so this is a deterministic check with a justified threshold.
    EXPECT_LT(ks_statistic(null.sorted_sample(), reference), 0.0100)
        << "c=" << k.c << " z_u=" << k.z_u << " z_v=" << k.z_v;
  }
}

TEST(SimulatedNull, MeanIsOneOverC) {
  for (auto [c, z_u, z_v] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{8, 3, 5},
                             {64, 9, 49}, {2, 7, 3}}) {
    const svr::SimulatedNull null(c, z_u, z_v, 200000, 5);
    const auto& s = null.sorted_sample();
    double mean = 0.0, sq = 0.0;
    for (double e : s) mean += e;
    mean /= s.size();
    for (double e : s) sq += (e - mean) * (e - mean);
    const double standard_error = std::sqrt(sq / (s.size() - 1) / s.size());
    // E[E] = tr(E[A A^T] E[B B^T]) = tr(I/c I/c) = 1/c exactly; 5 standard errors.
    EXPECT_NEAR(mean, 1.0 / c, 5.0 * standard_error) << "c=" << c;
    EXPECT_GE(s.front(), 0.0);
    EXPECT_LE(s.back(), 1.0);
  }
}

TEST(SimulatedNull, ReproducibleWithTheSameSeed) {
  const svr::SimulatedNull a(16, 9, 25, 20000, 42), b(16, 9, 25, 20000, 42), c(16, 9, 25, 20000, 43);
  EXPECT_EQ(a.sorted_sample(), b.sorted_sample());
  EXPECT_NE(a.sorted_sample(), c.sorted_sample());
  EXPECT_EQ(a.draws(), 20000);
}

TEST(SimulatedNull, OneSidedPositionsFollowTheBetaLaw) {
  // z_v = 1 (and the mirror z_u = 1): E ~ Beta(z/2, (c z - z)/2).
  const int n = 400000;
  for (auto [c, z_u, z_v] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{16, 4, 1},
                             {16, 1, 4}, {100, 1, 9}}) {
    const svr::SimulatedNull null(c, z_u, z_v, n, 7);
    const std::int64_t z = std::max(z_u, z_v);
    const auto beta = svr::beta_null_params(c, z);
    const double mean = 1.0 / c;
    for (double e : {0.5 * mean, mean, 2.0 * mean, 3.0 * mean, 4.0 * mean}) {
      const double p = std::pow(10.0, svr::log10_beta_sf(e, beta.a, beta.b));
      const double p_mc = std::pow(10.0, null.log10_sf(e));
      // 5 binomial standard errors of the Monte Carlo estimate.
      EXPECT_NEAR(p_mc, p, 5.0 * std::sqrt(p * (1 - p) / n) + 1.0 / n)
          << "c=" << c << " z=" << z << " e=" << e;
    }
  }
}

TEST(SimulatedNull, SurvivalFunctionIsFlooredAndCounts) {
  const svr::SimulatedNull null(8, 2, 3, 1000, 1);
  EXPECT_EQ(null.log10_sf(0.0), 0.0);
  EXPECT_EQ(null.log10_sf(1.0 + 1e-9), -3.0);  // floored at 1 / draws
  const auto& s = null.sorted_sample();
  EXPECT_NEAR(null.log10_sf(s[900]), std::log10(100.0 / 1000.0), 1e-12);  // s[900..999] >= s[900]
  // c = 1: E = ||a||^2 ||b||^2 = 1 always.
  const svr::SimulatedNull one(1, 3, 4, 100, 1);
  for (double e : one.sorted_sample()) EXPECT_NEAR(e, 1.0, 1e-12);
  EXPECT_THROW(svr::SimulatedNull(0, 1, 1, 10, 1), std::invalid_argument);
}

}  // namespace
