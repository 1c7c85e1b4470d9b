// intensity, internal_dims, entropy, clusters, near_kernel and the path metric.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

#include "svr/stats/measures.hpp"

namespace {

Eigen::MatrixXd random_unit_interval(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  Eigen::MatrixXd M(rows, cols);
  for (Eigen::Index i = 0; i < M.size(); ++i) M.data()[i] = uniform(engine);
  return M;
}

TEST(Intensity, HandExample) {
  // c = 2. Column 0: 2E-1 = 0.8, -0.8, -1 -> best prefix 0.8. Column 1: -0.8, 0.2, -0.4 -> all
  // prefixes negative -> 0. Column 2: 0, 0, -1 -> 0. Column 3: 0.2, 0.2, 0 -> 0.4.
  Eigen::MatrixXd E(3, 4);
  E << 0.9, 0.1, 0.5, 0.6,
       0.1, 0.6, 0.5, 0.6,
       0.0, 0.3, 0.0, 0.5;
  const auto t = svr::intensity(E, 2);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_NEAR(t[0], 1.0, 1e-15);
  EXPECT_EQ(t[1], 0.0);
  EXPECT_EQ(t[2], 0.0);
  EXPECT_NEAR(t[3], 0.5, 1e-15);
}

TEST(Intensity, MatchesDirectComputationAndAllZero) {
  const auto E = random_unit_interval(7, 5, 3);
  const std::int64_t c = 3;
  std::vector<double> t(5, 0.0);
  for (int i = 0; i < 5; ++i)
    for (int k = 0; k < 7; ++k) t[i] = std::max(t[i], (c * E.col(i).head(k + 1).array() - 1.0).sum());
  const double t_max = *std::max_element(t.begin(), t.end());
  const auto got = svr::intensity(E, c);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(got[i], t[i] / t_max, 1e-14);
  for (double v : svr::intensity(Eigen::MatrixXd::Constant(4, 3, 0.1), 2)) EXPECT_EQ(v, 0.0);
}

TEST(InternalDims, IdentityExamplesAndTies) {
  // E = I_3: C[j, i] = min(j, i) + 1. c = 4: diagonal values 3, 4, 3 -> (2, 2).
  EXPECT_EQ(svr::internal_dims(Eigen::MatrixXd::Identity(3, 3), 4).to, 2);
  EXPECT_EQ(svr::internal_dims(Eigen::MatrixXd::Identity(3, 3), 4).from, 2);
  // c = 3: (0,0) and (1,1) both give 2 -> first in row-major order.
  const auto d = svr::internal_dims(Eigen::MatrixXd::Identity(3, 3), 3);
  EXPECT_EQ(d.to, 1);
  EXPECT_EQ(d.from, 1);
  EXPECT_EQ(svr::internal_dims(Eigen::MatrixXd(0, 0), 3).to, 0);
}

TEST(InternalDims, MatchesDirectComputation) {
  const Eigen::MatrixXd E = random_unit_interval(6, 9, 8) / 3.0;  // not auto: Eigen expression
  const std::int64_t c = 5;
  double best = -1e300;
  std::int64_t bj = 0, bi = 0;
  for (int j = 0; j < 6; ++j)
    for (int i = 0; i < 9; ++i) {
      const double v = c * E.topLeftCorner(j + 1, i + 1).sum() - (j + 1.0) * (i + 1.0);
      if (v > best + 1e-12) best = v, bj = j + 1, bi = i + 1;
    }
  const auto d = svr::internal_dims(E, c);
  EXPECT_EQ(d.to, bj);
  EXPECT_EQ(d.from, bi);
}

TEST(Entropy, HandExample) {
  Eigen::MatrixXd E(2, 2);
  E << 0.5, 0.0, 0.25, 0.25;
  const auto h = svr::entropy(E);
  // -(0.5 ln 0.5 + 2 * 0.25 ln 0.25) = 1.5 ln 2, normalised by ln 4.
  EXPECT_NEAR(h.h, 1.5 * std::log(2.0), 1e-15);
  EXPECT_NEAR(h.normalized, 0.75, 1e-15);
  const auto one = svr::entropy(Eigen::MatrixXd::Constant(1, 1, 0.3));
  EXPECT_NEAR(one.h, -0.3 * std::log(0.3), 1e-15);
  EXPECT_EQ(one.normalized, 0.0);
  EXPECT_EQ(svr::entropy(Eigen::MatrixXd::Zero(3, 3)).h, 0.0);
}

TEST(Clusters, ConsecutiveWithinTolerance) {
  Eigen::VectorXd s(8);
  s << 10.0, 10.0, 10.0 * (1 - 5e-9), 5.0, 5.0 - 1e-6, 5.0 - 2e-6, 1.0, 0.0;
  // tol = 1e-7: the first three merge; 5 and 5 - 1e-6 do not; 0 is its own cluster.
  EXPECT_EQ(svr::clusters(s), (std::vector<int>{0, 0, 0, 1, 2, 3, 4, 5}));
  // With rel_tol = 2e-7 (tol 2e-6), the chain 5, 5 - 1e-6, 5 - 2e-6 is one cluster.
  EXPECT_EQ(svr::clusters(s, 2e-7), (std::vector<int>{0, 0, 0, 1, 1, 1, 2, 3}));
  EXPECT_EQ(svr::clusters(Eigen::VectorXd::Zero(3)), (std::vector<int>{0, 0, 0}));
  EXPECT_TRUE(svr::clusters(Eigen::VectorXd()).empty());
}

TEST(NearKernel, RelativeToLargest) {
  Eigen::VectorXd s(5);
  s << 10.0, 0.2, 0.1, 0.09, 0.0;
  EXPECT_EQ(svr::near_kernel(s, 1e-2), (std::vector<bool>{false, false, true, true, true}));
}

TEST(BottomValues, MeasuredAgainstTheLayersLargest) {
  // --min-rank keeps 0.2, 0.1, 0.09, 0.0 of a layer whose s_max is 10: relative to the kept
  // largest (0.2), none would be near-kernel and 1e-8 * 0.2 would split what 1e-8 * 10 joins.
  Eigen::VectorXd s(4);
  s << 0.2, 0.1, 0.09, 0.0;
  EXPECT_EQ(svr::near_kernel(s, 1e-2, 10.0), (std::vector<bool>{false, true, true, true}));
  EXPECT_EQ(svr::near_kernel(s, 1e-2), (std::vector<bool>{false, false, false, true}));
  Eigen::VectorXd close(3);
  close << 0.2, 0.2 - 5e-8, 0.1;
  EXPECT_EQ(svr::clusters(close, 1e-8, 10.0), (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(svr::clusters(close, 1e-8), (std::vector<int>{0, 1, 2}));
}

TEST(PathMetric, MatchesDirectComputation) {
  std::vector<Eigen::VectorXd> s = {Eigen::Vector3d(3.0, 2.0, 0.5), Eigen::Vector2d(4.0, 1.0),
                                    Eigen::Vector4d(2.0, 1.0, 1.0, 0.1)};
  std::vector<Eigen::MatrixXd> E = {random_unit_interval(2, 3, 1), random_unit_interval(4, 2, 2)};
  const double direct = (E[1] * (s[1].cwiseProduct(E[0] * s[0]))).cwiseProduct(s[2]).sum();
  EXPECT_NEAR(svr::log10_path_metric(s, E), std::log10(direct), 1e-14);
  // One layer: sum of its singular values.
  EXPECT_NEAR(svr::log10_path_metric({s[0]}, {}), std::log10(5.5), 1e-15);
}

TEST(PathMetric, FortyLayersWithoutOverflowOrUnderflow) {
  // s_l = 1e20 everywhere, E_l = 0.2 on 5 x 5: x stays constant after each E, so the sum is
  // 5 * (1e20)^41, far beyond double; and 5 * (1e-20)^41 far below.
  const int layers = 41;
  for (double scale : {1e20, 1e-20}) {
    std::vector<Eigen::VectorXd> s(layers, Eigen::VectorXd::Constant(5, scale));
    std::vector<Eigen::MatrixXd> E(layers - 1, Eigen::MatrixXd::Constant(5, 5, 0.2));
    EXPECT_NEAR(svr::log10_path_metric(s, E), layers * std::log10(scale) + std::log10(5.0), 1e-10);
  }
  // Random case: scaling every s by 1e20 adds 20 per layer to the result.
  std::vector<Eigen::VectorXd> s;
  std::vector<Eigen::MatrixXd> E;
  for (int l = 0; l < layers; ++l) s.push_back(random_unit_interval(4 + l % 3, 1, 100 + l).col(0));
  for (int l = 0; l + 1 < layers; ++l) E.push_back(random_unit_interval(s[l + 1].size(), s[l].size(), 200 + l) / 4.0);
  const double base = svr::log10_path_metric(s, E);
  double direct = 0.0;
  {
    Eigen::VectorXd x = Eigen::VectorXd::Ones(s[0].size());
    for (int l = 0; l + 1 < layers; ++l) x = E[l] * x.cwiseProduct(s[l]);
    direct = x.cwiseProduct(s.back()).sum();
  }
  ASSERT_GT(direct, 0.0);  // representable without rescaling at this size
  EXPECT_NEAR(base, std::log10(direct), 1e-12);
  for (auto& v : s) v *= 1e20;
  EXPECT_NEAR(svr::log10_path_metric(s, E), base + 20.0 * layers, 1e-9);
}

TEST(PathMetric, ZeroSumAndShapeErrors) {
  std::vector<Eigen::VectorXd> s = {Eigen::Vector2d(0.0, 0.0), Eigen::Vector2d(1.0, 1.0)};
  std::vector<Eigen::MatrixXd> E = {Eigen::MatrixXd::Ones(2, 2)};
  EXPECT_EQ(svr::log10_path_metric(s, E), -std::numeric_limits<double>::infinity());
  // E that kills everything.
  s[0] << 1.0, 1.0;
  E[0].setZero();
  EXPECT_EQ(svr::log10_path_metric(s, E), -std::numeric_limits<double>::infinity());
  // Indicator variant (s replaced by s > 0): counts weighted paths.
  E[0].setConstant(0.5);
  EXPECT_NEAR(svr::log10_path_metric(s, E), std::log10(2.0), 1e-15);
  EXPECT_THROW(svr::log10_path_metric(s, {}), std::invalid_argument);
  EXPECT_THROW(svr::log10_path_metric(s, {Eigen::MatrixXd::Ones(3, 2)}), std::invalid_argument);
}

}  // namespace
