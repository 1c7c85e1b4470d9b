// thin_svd against Eigen's own SVDs, plus the properties the pipeline relies on.
#include "svr/linalg/svd.hpp"

#include <gtest/gtest.h>

#include <Eigen/SVD>
#include <cmath>
#include <stdexcept>

#include "svr/core/error.hpp"
#include "svr_test/random_matrix.hpp"

namespace {

using svr::test::random_matrix;

// Everything a thin SVD promises, checked against an independent Eigen SVD.
void expect_valid_svd(const Eigen::MatrixXd& M, const svr::Spectrum& sp) {
  const Eigen::Index r = std::min(M.rows(), M.cols());
  ASSERT_EQ(sp.s.size(), r);
  ASSERT_EQ(sp.U.rows(), M.rows());
  ASSERT_EQ(sp.U.cols(), r);
  ASSERT_EQ(sp.V.rows(), M.cols());
  ASSERT_EQ(sp.V.cols(), r);

  Eigen::JacobiSVD<Eigen::MatrixXd> jacobi(M);
  Eigen::BDCSVD<Eigen::MatrixXd> bdc(M);
  const double s_max = std::max(sp.s(0), 1e-300);
  for (Eigen::Index i = 0; i < r; ++i) {
    EXPECT_LE(std::abs(sp.s(i) - jacobi.singularValues()(i)), 1e-10 * s_max) << "i = " << i;
    EXPECT_LE(std::abs(sp.s(i) - bdc.singularValues()(i)), 1e-10 * s_max) << "i = " << i;
    EXPECT_GE(sp.s(i), 0.0);
    if (i > 0) {
      EXPECT_LE(sp.s(i), sp.s(i - 1));
    }
  }
  const Eigen::MatrixXd rebuilt = sp.U * sp.s.asDiagonal() * sp.V.transpose();
  EXPECT_LE((rebuilt - M).norm(), 1e-12 * std::max(1.0, M.norm()));
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(r, r);
  EXPECT_LE((sp.U.transpose() * sp.U - I).norm(), 1e-12 * static_cast<double>(r));
  EXPECT_LE((sp.V.transpose() * sp.V - I).norm(), 1e-12 * static_cast<double>(r));
}

TEST(ThinSvd, TallMatrix) {
  const Eigen::MatrixXd M = random_matrix(40, 13, 1);
  expect_valid_svd(M, svr::thin_svd(M));
}

TEST(ThinSvd, WideMatrix) {
  const Eigen::MatrixXd M = random_matrix(9, 57, 2);
  expect_valid_svd(M, svr::thin_svd(M));
}

TEST(ThinSvd, SquareMatrix) {
  const Eigen::MatrixXd M = random_matrix(31, 31, 3);
  expect_valid_svd(M, svr::thin_svd(M));
}

TEST(ThinSvd, RankDeficientMatrix) {
  // Rank 3 in a 20 x 15 matrix: 12 singular values are zero up to rounding.
  const Eigen::MatrixXd M = random_matrix(20, 3, 4) * random_matrix(3, 15, 5);
  const svr::Spectrum sp = svr::thin_svd(M);
  expect_valid_svd(M, sp);
  for (Eigen::Index i = 3; i < sp.s.size(); ++i) EXPECT_LE(sp.s(i), 1e-12 * sp.s(0));
  EXPECT_GT(sp.s(2), 1e-3 * sp.s(0));
}

TEST(ThinSvd, SingleRowMatrix) {
  const Eigen::MatrixXd M = random_matrix(1, 17, 6);
  const svr::Spectrum sp = svr::thin_svd(M);
  expect_valid_svd(M, sp);
  EXPECT_NEAR(sp.s(0), M.norm(), 1e-12 * M.norm());
}

TEST(ThinSvd, SingleColumnMatrix) {
  const Eigen::MatrixXd M = random_matrix(11, 1, 7);
  expect_valid_svd(M, svr::thin_svd(M));
}

TEST(ThinSvd, LargeMatrixUsesDivideAndConquer) {
  // Above LAPACK's crossover (25) gesdd really divides and conquers.
  const Eigen::MatrixXd M = random_matrix(260, 190, 13);
  expect_valid_svd(M, svr::thin_svd(M));
}

TEST(ThinSvd, KnownSingularValues) {
  // diag(3, 2) rotated on both sides: singular values exactly 3 and 2.
  const double c = std::cos(0.3), s = std::sin(0.3);
  Eigen::Matrix2d Q1, Q2;
  Q1 << c, -s, s, c;
  Q2 << s, c, -c, s;
  const Eigen::MatrixXd M = Q1 * Eigen::Vector2d(2.0, 3.0).asDiagonal() * Q2;
  const svr::Spectrum sp = svr::thin_svd(M);
  EXPECT_NEAR(sp.s(0), 3.0, 1e-14);
  EXPECT_NEAR(sp.s(1), 2.0, 1e-14);
}

TEST(ThinSvd, TruncationKeepsTopTriplets) {
  const Eigen::MatrixXd M = random_matrix(30, 20, 8);
  const svr::Spectrum full = svr::thin_svd(M);
  const svr::Spectrum top = svr::thin_svd(M, 5);
  ASSERT_EQ(top.s.size(), 5);
  ASSERT_EQ(top.U.rows(), 30);
  ASSERT_EQ(top.U.cols(), 5);
  ASSERT_EQ(top.V.rows(), 20);
  ASSERT_EQ(top.V.cols(), 5);
  for (Eigen::Index i = 0; i < 5; ++i) {
    EXPECT_NEAR(top.s(i), full.s(i), 1e-12 * full.s(0));
    // Same subspace: |<u_top, u_full>| = 1 (distinct singular values here).
    EXPECT_NEAR(std::abs(top.U.col(i).dot(full.U.col(i))), 1.0, 1e-10);
    EXPECT_NEAR(std::abs(top.V.col(i).dot(full.V.col(i))), 1.0, 1e-10);
  }
}

TEST(ThinSvd, TruncationIsNoOpWhenRankIsSmall) {
  const Eigen::MatrixXd M = random_matrix(6, 4, 9);
  EXPECT_EQ(svr::thin_svd(M, 4).s.size(), 4);
  EXPECT_EQ(svr::thin_svd(M, 128).s.size(), 4);
}

TEST(KeepBottom, KeepsTheLastTripletsAndTheirGroups) {
  const Eigen::MatrixXd M = random_matrix(30, 20, 8);
  const svr::Spectrum full = svr::thin_svd(M);
  svr::Spectrum bottom = full;
  bottom.group.assign(20, 0);
  for (int k = 0; k < 20; ++k) bottom.group[static_cast<std::size_t>(k)] = k % 3;
  svr::keep_bottom(bottom, 6);
  ASSERT_EQ(bottom.s.size(), 6);
  EXPECT_EQ(bottom.s, full.s.tail(6));
  EXPECT_EQ(bottom.U, full.U.rightCols(6));
  EXPECT_EQ(bottom.V, full.V.rightCols(6));
  EXPECT_EQ(bottom.group, (std::vector<int>{14 % 3, 15 % 3, 16 % 3, 17 % 3, 18 % 3, 19 % 3}));
  svr::keep_bottom(bottom, 50);  // fewer than asked: unchanged
  EXPECT_EQ(bottom.s.size(), 6);
  EXPECT_THROW(svr::keep_bottom(bottom, 0), std::invalid_argument);
}

TEST(ThinSvd, RejectsNonPositiveMaxRank) {
  const Eigen::MatrixXd M = random_matrix(3, 3, 10);
  EXPECT_THROW(svr::thin_svd(M, 0), svr::Error);
}

TEST(ThinSvd, ZeroMatrixGivesZeroSpectrumWithoutNaN) {
  const Eigen::MatrixXd M = Eigen::MatrixXd::Zero(7, 5);
  const svr::Spectrum sp = svr::thin_svd(M);
  ASSERT_EQ(sp.s.size(), 5);
  EXPECT_TRUE(sp.s.allFinite());
  EXPECT_TRUE(sp.U.allFinite());
  EXPECT_TRUE(sp.V.allFinite());
  EXPECT_EQ(sp.s.maxCoeff(), 0.0);
  EXPECT_EQ(sp.s.minCoeff(), 0.0);
}

TEST(ThinSvd, NonFiniteInputThrowsNumericalError) {
  Eigen::MatrixXd M = random_matrix(4, 4, 11);
  M(2, 1) = std::nan("");
  EXPECT_THROW(svr::thin_svd(M), svr::NumericalError);
  M(2, 1) = INFINITY;
  EXPECT_THROW(svr::thin_svd(M), svr::NumericalError);
}

// --precision single: sgesdd on a float copy, within float's accuracy of the double SVD (tall
// and wide, the wide one factored as its transpose), and really in float.
TEST(ThinSvd, SinglePrecisionIsWithinFloatAccuracy) {
  for (const auto& [rows, cols] : {std::pair{90, 40}, std::pair{40, 90}}) {
    const Eigen::MatrixXd M = random_matrix(rows, cols, 21);
    const svr::Spectrum d = svr::thin_svd(M);
    const svr::Spectrum f = svr::thin_svd(M, {}, svr::SvdPrecision::Single);
    const Eigen::Index r = std::min(rows, cols);
    ASSERT_EQ(f.s.size(), r);
    ASSERT_EQ(f.U.rows(), rows);
    ASSERT_EQ(f.V.rows(), cols);
    const double error = (f.s - d.s).cwiseAbs().maxCoeff() / d.s(0);
    EXPECT_LE(error, 1e-5) << rows << "x" << cols;
    EXPECT_GE(error, 1e-10) << rows << "x" << cols << ": computed in double?";
    const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(r, r);
    EXPECT_LE((f.U.transpose() * f.U - I).cwiseAbs().maxCoeff(), 1e-5);
    EXPECT_LE((f.V.transpose() * f.V - I).cwiseAbs().maxCoeff(), 1e-5);
    const Eigen::MatrixXd rebuilt = f.U * f.s.asDiagonal() * f.V.transpose();
    EXPECT_LE((rebuilt - M).cwiseAbs().maxCoeff(), 1e-5 * d.s(0));
  }
  // Truncation and the grouped (block-diagonal) SVD take the precision too.
  const Eigen::MatrixXd M = random_matrix(40, 60, 22);
  EXPECT_EQ(svr::thin_svd(M, 5, svr::SvdPrecision::Single).s.size(), 5);
  const svr::Spectrum blocks = svr::block_diagonal_svd(M, 2, {}, svr::SvdPrecision::Single);
  const svr::Spectrum blocks_double = svr::block_diagonal_svd(M, 2);
  EXPECT_LE((blocks.s - blocks_double.s).cwiseAbs().maxCoeff(), 1e-5 * blocks_double.s(0));
  EXPECT_GE((blocks.s - blocks_double.s).cwiseAbs().maxCoeff(), 1e-10 * blocks_double.s(0));
}

TEST(ThinSvd, SinglePrecisionRefusesWhatFloatCannotHold) {
  Eigen::MatrixXd M = random_matrix(6, 4, 23);
  M(1, 2) = 1e39;  // finite in double, infinite in float
  EXPECT_NO_THROW(svr::thin_svd(M));
  try {
    svr::thin_svd(M, {}, svr::SvdPrecision::Single);
    FAIL() << "no error";
  } catch (const svr::NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("--precision double"), std::string::npos) << e.what();
  }
}

TEST(ClusterTolerance, FollowsThePrecision) {
  EXPECT_EQ(svr::cluster_tolerance(svr::SvdPrecision::Double), 1e-8);
  EXPECT_EQ(svr::cluster_tolerance(svr::SvdPrecision::Single), 1e-5);
  EXPECT_STREQ(svr::to_string(svr::SvdPrecision::Single), "single");
  EXPECT_STREQ(svr::to_string(svr::SvdPrecision::Double), "double");
}

}  // namespace
