// block_diagonal_svd (src/linalg/svd.cpp) against Eigen's SVD of each block and of the whole
// block-diagonal matrix: singular values, their order and groups, vectors zero outside their
// block, ties, truncation and the refusal of blocks that do not divide.
#include <gtest/gtest.h>

#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "svr/linalg/svd.hpp"
#include "svr_test/random_matrix.hpp"

namespace {

using svr::test::random_matrix;

// Only the diagonal blocks of M (what block_diagonal_svd factors).
Eigen::MatrixXd block_part(const Eigen::MatrixXd& M, Eigen::Index blocks) {
  const Eigen::Index r = M.rows() / blocks, c = M.cols() / blocks;
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(M.rows(), M.cols());
  for (Eigen::Index b = 0; b < blocks; ++b) out.block(b * r, b * c, r, c) = M.block(b * r, b * c, r, c);
  return out;
}

// Every property of the result for M with `blocks` blocks (entries outside the blocks ignored).
void expect_block_svd(const Eigen::MatrixXd& M, Eigen::Index blocks, const std::string& what) {
  const Eigen::Index r = M.rows() / blocks, c = M.cols() / blocks, k = std::min(r, c);
  const svr::Spectrum sp = svr::block_diagonal_svd(M, blocks);
  const Eigen::Index total = blocks * k;
  ASSERT_EQ(sp.s.size(), total) << what;
  ASSERT_EQ(sp.U.rows(), M.rows()) << what;
  ASSERT_EQ(sp.U.cols(), total) << what;
  ASSERT_EQ(sp.V.rows(), M.cols()) << what;
  ASSERT_EQ(sp.V.cols(), total) << what;
  ASSERT_EQ(sp.group.size(), static_cast<std::size_t>(total)) << what;

  // The singular values of each block (Eigen) and of the whole block-diagonal matrix.
  std::vector<std::vector<double>> per_block(static_cast<std::size_t>(blocks));
  std::vector<double> merged;
  for (Eigen::Index b = 0; b < blocks; ++b) {
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(M.block(b * r, b * c, r, c));
    for (Eigen::Index i = 0; i < k; ++i) {
      per_block[static_cast<std::size_t>(b)].push_back(svd.singularValues()(i));
      merged.push_back(svd.singularValues()(i));
    }
  }
  std::sort(merged.rbegin(), merged.rend());
  const Eigen::MatrixXd D = block_part(M, blocks);
  // JacobiSVD: Eigen 3.4.0's BDCSVD returns wrong values for some of these matrices (24x16 in 4
  // blocks: 1.7204 for 1.2415; the eigenvalues of D^T D agree with JacobiSVD and the blocks).
  Eigen::JacobiSVD<Eigen::MatrixXd> whole(D);
  const double s_max = merged.front();
  ASSERT_GT(s_max, 0.0) << what;
  const double tol = 1e-12 * s_max;
  for (Eigen::Index i = 0; i < total; ++i) {
    EXPECT_LE(std::abs(sp.s(i) - merged[static_cast<std::size_t>(i)]), tol) << what << " i=" << i;
    if (i < whole.singularValues().size())
      EXPECT_LE(std::abs(sp.s(i) - whole.singularValues()(i)), tol) << what << " i=" << i;
    if (i > 0) EXPECT_LE(sp.s(i), sp.s(i - 1)) << what << " i=" << i;
  }
  // Group k: the block whose own k-th value (in the block's order) this triplet is.
  std::vector<Eigen::Index> next(static_cast<std::size_t>(blocks), 0);
  for (Eigen::Index i = 0; i < total; ++i) {
    const int g = sp.group[static_cast<std::size_t>(i)];
    ASSERT_GE(g, 0) << what;
    ASSERT_LT(g, blocks) << what;
    const auto gb = static_cast<std::size_t>(g);
    ASSERT_LT(next[gb], k) << what;
    EXPECT_LE(std::abs(sp.s(i) - per_block[gb][static_cast<std::size_t>(next[gb])]), tol)
        << what << " i=" << i << " group " << g;
    ++next[gb];
    // Zero outside its block, exactly; a singular triplet of the block inside it.
    for (Eigen::Index row = 0; row < M.rows(); ++row)
      if (row / r != g) EXPECT_EQ(sp.U(row, i), 0.0) << what << " U row " << row << " col " << i;
    for (Eigen::Index col = 0; col < M.cols(); ++col)
      if (col / c != g) EXPECT_EQ(sp.V(col, i), 0.0) << what << " V row " << col << " col " << i;
    const Eigen::MatrixXd block = M.block(g * r, g * c, r, c);
    const Eigen::VectorXd u = sp.U.col(i).segment(g * r, r), v = sp.V.col(i).segment(g * c, c);
    EXPECT_LE((block * v - sp.s(i) * u).cwiseAbs().maxCoeff(), 1e-12 * s_max) << what << " i=" << i;
    EXPECT_LE((block.transpose() * u - sp.s(i) * v).cwiseAbs().maxCoeff(), 1e-12 * s_max)
        << what << " i=" << i;
  }
  // Orthonormal columns, and U diag(s) V^T is the block-diagonal part of M.
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(total, total);
  EXPECT_LE((sp.U.transpose() * sp.U - I).cwiseAbs().maxCoeff(), 1e-12) << what;
  EXPECT_LE((sp.V.transpose() * sp.V - I).cwiseAbs().maxCoeff(), 1e-12) << what;
  EXPECT_LE((sp.U * sp.s.asDiagonal() * sp.V.transpose() - D).cwiseAbs().maxCoeff(), 1e-12 * s_max)
      << what;
}

TEST(BlockDiagonalSvd, MatchesEigenPerBlockAndOnTheWholeMatrix) {
  struct Case {
    Eigen::Index rows, cols, blocks;
  };
  // Wide and tall blocks, one block, many blocks, depthwise-like (one row per block).
  const Case cases[] = {{12, 15, 3}, {15, 12, 3}, {8, 8, 2}, {7, 9, 1}, {6, 54, 6},
                        {24, 16, 4}, {5, 5, 5}, {10, 30, 10}};
  unsigned seed = 1;
  for (const Case& c : cases) {
    // Entries outside the blocks are not zero: they must be ignored.
    const Eigen::MatrixXd M = random_matrix(c.rows, c.cols, seed++);
    expect_block_svd(M, c.blocks,
                     std::to_string(c.rows) + "x" + std::to_string(c.cols) + " in " +
                         std::to_string(c.blocks) + " blocks");
  }
}

TEST(BlockDiagonalSvd, OneBlockIsThinSvd) {
  const Eigen::MatrixXd M = random_matrix(9, 6, 42);
  const svr::Spectrum block = svr::block_diagonal_svd(M, 1);
  const svr::Spectrum thin = svr::thin_svd(M);
  EXPECT_EQ(block.s, thin.s);
  EXPECT_EQ(block.U, thin.U);
  EXPECT_EQ(block.V, thin.V);
  EXPECT_EQ(block.group, std::vector<int>(6, 0));
  EXPECT_TRUE(thin.group.empty());
}

TEST(BlockDiagonalSvd, BlocksInterleaveByValue) {
  // Block 0 = diag(5, 2, 0.5), block 1 = diag(4, 3, 1) (with rotations, so that the SVD has
  // work to do): 5 (0), 4 (1), 3 (1), 2 (0), 1 (1), 0.5 (0).
  const Eigen::MatrixXd Q0 = Eigen::JacobiSVD<Eigen::MatrixXd>(random_matrix(3, 3, 7),
                                                              Eigen::ComputeFullU).matrixU();
  const Eigen::MatrixXd Q1 = Eigen::JacobiSVD<Eigen::MatrixXd>(random_matrix(3, 3, 8),
                                                              Eigen::ComputeFullU).matrixU();
  Eigen::MatrixXd M = Eigen::MatrixXd::Zero(6, 6);
  M.block(0, 0, 3, 3) = Q0 * Eigen::Vector3d(5, 2, 0.5).asDiagonal() * Q1.transpose();
  M.block(3, 3, 3, 3) = Q1 * Eigen::Vector3d(4, 3, 1).asDiagonal() * Q0.transpose();
  const svr::Spectrum sp = svr::block_diagonal_svd(M, 2);
  EXPECT_EQ(sp.group, (std::vector<int>{0, 1, 1, 0, 1, 0}));
  const std::vector<double> s = {5, 4, 3, 2, 1, 0.5};
  for (Eigen::Index i = 0; i < 6; ++i) EXPECT_NEAR(sp.s(i), s[static_cast<std::size_t>(i)], 1e-13 * 5);
  expect_block_svd(M, 2, "interleaved blocks");
}

TEST(BlockDiagonalSvd, TiesGoToTheLowerBlock) {
  // Blocks 0 and 2 identical (the same values bit for bit), block 1 different: every value of
  // block 0 comes right before the same value of block 2.
  const Eigen::MatrixXd A = random_matrix(3, 4, 3), B = random_matrix(3, 4, 4);
  Eigen::MatrixXd M = Eigen::MatrixXd::Zero(9, 12);
  M.block(0, 0, 3, 4) = A;
  M.block(3, 4, 3, 4) = B;
  M.block(6, 8, 3, 4) = A;
  const svr::Spectrum sp = svr::block_diagonal_svd(M, 3);
  ASSERT_EQ(sp.s.size(), 9);
  int tied = 0;
  for (Eigen::Index i = 0; i < 9; ++i) {
    const int g = sp.group[static_cast<std::size_t>(i)];
    if (g == 0) {
      ASSERT_LT(i + 1, 9);
      EXPECT_EQ(sp.s(i + 1), sp.s(i)) << i;
      EXPECT_EQ(sp.group[static_cast<std::size_t>(i + 1)], 2) << i;
      ++tied;
    }
    if (g == 2) {
      ASSERT_GT(i, 0);
      EXPECT_EQ(sp.group[static_cast<std::size_t>(i - 1)], 0) << i;
    }
  }
  EXPECT_EQ(tied, 3);
  // Every value equal (the identity): block order, then each block's own order.
  const svr::Spectrum eye = svr::block_diagonal_svd(Eigen::MatrixXd::Identity(8, 8), 4);
  EXPECT_EQ(eye.group, (std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3}));
  const svr::Spectrum two = svr::block_diagonal_svd(2.0 * Eigen::MatrixXd::Identity(4, 4), 2);
  EXPECT_EQ(two.group, (std::vector<int>{0, 0, 1, 1}));
  expect_block_svd(M, 3, "tied blocks");
}

TEST(BlockDiagonalSvd, MaxRankKeepsTheTopTriplets) {
  const Eigen::MatrixXd M = random_matrix(12, 18, 11);
  const svr::Spectrum full = svr::block_diagonal_svd(M, 3);
  ASSERT_EQ(full.s.size(), 12);
  for (const std::int64_t keep : {1, 5, 11}) {
    const svr::Spectrum top = svr::block_diagonal_svd(M, 3, keep);
    ASSERT_EQ(top.s.size(), keep);
    ASSERT_EQ(top.U.cols(), keep);
    ASSERT_EQ(top.V.cols(), keep);
    ASSERT_EQ(top.U.rows(), 12);
    ASSERT_EQ(top.V.rows(), 18);
    EXPECT_EQ(top.s, full.s.head(keep));
    EXPECT_EQ(top.U, full.U.leftCols(keep));
    EXPECT_EQ(top.V, full.V.leftCols(keep));
    EXPECT_EQ(top.group, std::vector<int>(full.group.begin(), full.group.begin() + keep));
  }
  for (const std::int64_t keep : {12, 13, 100}) {
    const svr::Spectrum all = svr::block_diagonal_svd(M, 3, keep);
    EXPECT_EQ(all.s, full.s);
    EXPECT_EQ(all.group, full.group);
  }
}

TEST(BlockDiagonalSvd, BlocksThatDoNotDivideAreRefused) {
  const Eigen::MatrixXd M = random_matrix(6, 9, 2);
  EXPECT_THROW(svr::block_diagonal_svd(M, 2), std::invalid_argument);  // 9 columns
  EXPECT_THROW(svr::block_diagonal_svd(M, 4), std::invalid_argument);  // neither
  EXPECT_THROW(svr::block_diagonal_svd(random_matrix(5, 10, 2), 2), std::invalid_argument);
  EXPECT_THROW(svr::block_diagonal_svd(M, 0), std::invalid_argument);
  EXPECT_THROW(svr::block_diagonal_svd(M, -3), std::invalid_argument);
  EXPECT_NO_THROW(svr::block_diagonal_svd(M, 3));
}

}  // namespace
