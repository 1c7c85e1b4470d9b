// edge_weights against the literal formula and the identities of orthonormal bases.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <random>
#include <stdexcept>

#include "svr/linalg/edge_weights.hpp"

namespace {

// rows x cols with orthonormal columns (cols <= rows), from the QR of a Gaussian matrix.
Eigen::MatrixXd random_orthonormal(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd G(rows, cols);
  for (Eigen::Index i = 0; i < G.size(); ++i) G.data()[i] = normal(engine);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(G);
  return qr.householderQ() * Eigen::MatrixXd::Identity(rows, cols);
}

// The formula of the spec, loop by loop.
Eigen::MatrixXd naive_edges(const Eigen::MatrixXd& U, const Eigen::MatrixXd& V, std::int64_t c,
                            std::int64_t z_u, std::int64_t z_v) {
  Eigen::MatrixXd E = Eigen::MatrixXd::Zero(V.cols(), U.cols());
  for (Eigen::Index j = 0; j < V.cols(); ++j)
    for (Eigen::Index i = 0; i < U.cols(); ++i)
      for (std::int64_t p = 0; p < z_u; ++p)
        for (std::int64_t q = 0; q < z_v; ++q) {
          double s = 0.0;
          for (std::int64_t a = 0; a < c; ++a) s += V(a * z_v + q, j) * U(a * z_u + p, i);
          E(j, i) += s * s;
        }
  return E;
}

struct Shape {
  std::int64_t c, z_u, z_v, r_from, r_to;
};
const Shape kShapes[] = {
    {5, 1, 1, 5, 4},    // linear -> linear
    {4, 1, 3, 4, 12},   // svr, conv -> conv / conv -> linear
    {3, 2, 1, 3, 3},    // cosvr
    {3, 2, 4, 6, 7},    // cosvr, conv -> linear (both sides carry positions)
    {16, 1, 9, 10, 30},
};

TEST(EdgeWeights, MatchesNaiveTripleLoopAndLiesInUnitInterval) {
  std::uint64_t seed = 1;
  for (const auto& s : kShapes) {
    const auto U = random_orthonormal(s.c * s.z_u, s.r_from, seed++);
    const auto V = random_orthonormal(s.c * s.z_v, s.r_to, seed++);
    const auto E = svr::edge_weights(U, V, s.c, s.z_u, s.z_v);
    ASSERT_EQ(E.rows(), s.r_to);
    ASSERT_EQ(E.cols(), s.r_from);
    EXPECT_LT((E - naive_edges(U, V, s.c, s.z_u, s.z_v)).cwiseAbs().maxCoeff(), 1e-12)
        << "c=" << s.c << " z_u=" << s.z_u << " z_v=" << s.z_v;
    EXPECT_GE(E.minCoeff(), 0.0);
    EXPECT_LE(E.maxCoeff(), 1.0 + 1e-12);
  }
}

TEST(EdgeWeights, InvariantToSignsOfSingularVectors) {
  const auto U = random_orthonormal(3 * 2, 5, 21);
  const auto V = random_orthonormal(3 * 4, 9, 22);
  const auto E = svr::edge_weights(U, V, 3, 2, 4);
  Eigen::MatrixXd U2 = U, V2 = V;
  U2.col(0) *= -1;
  U2.col(3) *= -1;
  V2.col(1) *= -1;
  V2.col(8) *= -1;
  EXPECT_LT((svr::edge_weights(U2, V2, 3, 2, 4) - E).cwiseAbs().maxCoeff(), 1e-15);
}

TEST(EdgeWeights, SquareOrthogonalLinearPairIsDoublyStochastic) {
  // z = 1, U and V orthogonal c x c: E[j, i] = (v_j . u_i)^2 sums to 1 along rows and columns.
  const std::int64_t c = 12;
  const auto E = svr::edge_weights(random_orthonormal(c, c, 3), random_orthonormal(c, c, 4), c, 1, 1);
  EXPECT_LT((E.colwise().sum().array() - 1.0).abs().maxCoeff(), 1e-13);
  EXPECT_LT((E.rowwise().sum().array() - 1.0).abs().maxCoeff(), 1e-13);
}

TEST(EdgeWeights, FullBasesSumToPositionCounts) {
  // With a full orthonormal V, sum_j E[j, i] = sum_{p,q} ||w_pq||^2 where w_pq puts u_i's
  // position-p channels at position q; so the column sums are z_v ||u_i||^2 = z_v. Likewise a full
  // U gives row sums z_u ||v_j||^2 = z_u. (z_u = z_v = 1: both 1, previous test.) Mean E = 1/c.
  struct Case {
    std::int64_t c, z_u, z_v;
  };
  for (const auto& k : {Case{4, 1, 3}, Case{3, 2, 1}, Case{3, 2, 4}}) {
    const auto U = random_orthonormal(k.c * k.z_u, k.c * k.z_u, 31);
    const auto V = random_orthonormal(k.c * k.z_v, k.c * k.z_v, 32);
    const auto E = svr::edge_weights(U, V, k.c, k.z_u, k.z_v);
    EXPECT_LT((E.colwise().sum().array() - static_cast<double>(k.z_v)).abs().maxCoeff(), 1e-12);
    EXPECT_LT((E.rowwise().sum().array() - static_cast<double>(k.z_u)).abs().maxCoeff(), 1e-12);
    EXPECT_NEAR(E.mean(), 1.0 / k.c, 1e-13);
  }
}

TEST(EdgeWeights, ShapeMismatchThrows) {
  const Eigen::MatrixXd U = Eigen::MatrixXd::Identity(4, 4), V = Eigen::MatrixXd::Identity(8, 8);
  EXPECT_THROW(svr::edge_weights(U, V, 4, 1, 3), std::invalid_argument);
  EXPECT_THROW(svr::edge_weights(U, V, 4, 2, 2), std::invalid_argument);
  EXPECT_NO_THROW(svr::edge_weights(U, V, 4, 1, 2));
}

}  // namespace
