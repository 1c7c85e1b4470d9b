// The typed BLAS wrapper: products against Eigen, the degenerate sizes the reference BLAS
// would reject, and argument checks that must throw instead of reaching xerbla (which aborts).
#include "svr/linalg/blas.hpp"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <limits>
#include <stdexcept>

#include "svr/core/error.hpp"
#include "svr/linalg/lapack.hpp"

namespace {

using svr::blas::gemm;

TEST(BlasGemm, MatchesEigenForEveryTransposition) {
  const Eigen::MatrixXd A = Eigen::MatrixXd::Random(7, 5);  // 7 x 5
  const Eigen::MatrixXd B = Eigen::MatrixXd::Random(7, 4);  // 7 x 4
  const Eigen::MatrixXd Bt = B.transpose();                 // 4 x 7
  Eigen::MatrixXd C = Eigen::MatrixXd::Constant(5, 4, 2.0);
  // C := 0.5 A^T B + 3 C
  gemm('T', 'N', 5, 4, 7, 0.5, A.data(), 7, B.data(), 7, 3.0, C.data(), 5);
  EXPECT_LE((C - (0.5 * A.transpose() * B + Eigen::MatrixXd::Constant(5, 4, 6.0))).norm(), 1e-13);
  Eigen::MatrixXd D(5, 4);
  gemm('T', 'T', 5, 4, 7, 1.0, A.data(), 7, Bt.data(), 4, 0.0, D.data(), 5);
  EXPECT_LE((D - A.transpose() * B).norm(), 1e-13);
  const Eigen::MatrixXd At = A.transpose();  // 5 x 7
  Eigen::MatrixXd F(5, 4);
  gemm('N', 'N', 5, 4, 7, 1.0, At.data(), 5, B.data(), 7, 0.0, F.data(), 5);
  EXPECT_LE((F - At * B).norm(), 1e-13);
}

TEST(BlasGemm, LeadingDimensionsSelectSubmatrices) {
  // A 3 x 2 block inside a 6 x 4 array (lda 6), written into rows 1.. of a 5 x 3 array.
  const Eigen::MatrixXd big = Eigen::MatrixXd::Random(6, 4);
  const Eigen::MatrixXd B = Eigen::MatrixXd::Random(2, 3);
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(5, 3);
  gemm('N', 'N', 3, 3, 2, 1.0, big.data(), 6, B.data(), 2, 0.0, out.data() + 1, 5);
  EXPECT_LE((out.block(1, 0, 3, 3) - big.topLeftCorner(3, 2) * B).norm(), 1e-13);
  EXPECT_EQ(out.row(0).norm(), 0.0);
  EXPECT_EQ(out.row(4).norm(), 0.0);
}

TEST(BlasGemm, EmptyInnerDimensionGivesBetaTimesC) {
  // k = 0: no product at all; lda = ldb = 1 is what the BLAS needs for an empty A or B.
  Eigen::MatrixXd C = Eigen::MatrixXd::Constant(3, 2, 5.0);
  gemm('T', 'N', 3, 2, 0, 1.0, nullptr, 1, nullptr, 1, 0.0, C.data(), 3);
  EXPECT_EQ(C.norm(), 0.0);
  Eigen::MatrixXd D = Eigen::MatrixXd::Constant(3, 2, 5.0);
  gemm('N', 'N', 3, 2, 0, 1.0, nullptr, 3, nullptr, 1, 2.0, D.data(), 3);
  EXPECT_EQ(D, Eigen::MatrixXd::Constant(3, 2, 10.0));
  gemm('N', 'N', 0, 0, 4, 1.0, nullptr, 1, nullptr, 4, 0.0, nullptr, 1);  // nothing to do
}

TEST(BlasGemm, RejectsWhatTheBlasWouldAbortOn) {
  double x[16] = {};
  EXPECT_THROW(gemm('X', 'N', 2, 2, 2, 1.0, x, 2, x, 2, 0.0, x, 2), std::invalid_argument);
  EXPECT_THROW(gemm('N', 'C', 2, 2, 2, 1.0, x, 2, x, 2, 0.0, x, 2), std::invalid_argument);
  EXPECT_THROW(gemm('N', 'N', -1, 2, 2, 1.0, x, 2, x, 2, 0.0, x, 2), std::invalid_argument);
  EXPECT_THROW(gemm('N', 'N', 3, 2, 2, 1.0, x, 2, x, 2, 0.0, x, 3), std::invalid_argument);  // lda
  EXPECT_THROW(gemm('T', 'N', 2, 2, 3, 1.0, x, 2, x, 3, 0.0, x, 2), std::invalid_argument);  // lda
  EXPECT_THROW(gemm('N', 'N', 2, 2, 3, 1.0, x, 2, x, 2, 0.0, x, 2), std::invalid_argument);  // ldb
  EXPECT_THROW(gemm('N', 'T', 2, 3, 2, 1.0, x, 2, x, 2, 0.0, x, 2), std::invalid_argument);  // ldb
  EXPECT_THROW(gemm('N', 'N', 2, 2, 2, 1.0, x, 2, x, 2, 0.0, x, 1), std::invalid_argument);  // ldc
  EXPECT_THROW(gemm('N', 'N', 2, 2, 2, 1.0, x, 0, x, 2, 0.0, x, 2), std::invalid_argument);
}

TEST(BlasGemm, SizesBeyondTheLibraryIntegerThrowBeforeTheCall) {
  if (sizeof(svr::lapack_int) >= sizeof(std::int64_t)) GTEST_SKIP() << "ILP64 BLAS";
  const std::int64_t huge = std::int64_t{std::numeric_limits<svr::lapack_int>::max()} + 1;
  double x[1] = {0.0};
  // Checked narrowing: never a silent wrap-around into a small, wrong product.
  EXPECT_THROW(gemm('T', 'N', 1, 1, huge, 1.0, x, huge, x, huge, 0.0, x, 1), svr::NumericalError);
}

TEST(BlasGemmOfEigenMatrices, EveryTransposeAgainstEigen) {
  const Eigen::MatrixXd A = Eigen::MatrixXd::Random(5, 3), B = Eigen::MatrixXd::Random(5, 4);
  const Eigen::MatrixXd C = Eigen::MatrixXd::Random(4, 3), D = Eigen::MatrixXd::Random(3, 5);
  EXPECT_LE((gemm('T', A, 'N', B) - A.transpose() * B).norm(), 1e-14);
  EXPECT_LE((gemm('N', A, 'T', C) - A * C.transpose()).norm(), 1e-14);
  EXPECT_LE((gemm('T', B, 'T', D) - B.transpose() * D.transpose()).norm(), 1e-14);
  // The output is resized and overwritten, whatever it held.
  Eigen::MatrixXd out = Eigen::MatrixXd::Constant(9, 9, 7.0);
  gemm('N', B.transpose(), 'N', A, out);
  EXPECT_EQ(out.rows(), 4);
  EXPECT_EQ(out.cols(), 3);
  EXPECT_LE((out - B.transpose() * A).norm(), 1e-14);
}

TEST(BlasGemmOfEigenMatrices, SinglePrecisionIsSgemm) {
  // Float operands: products of float accuracy (not double's: the sgemm really ran in float).
  const Eigen::MatrixXf A = Eigen::MatrixXf::Random(40, 30), B = Eigen::MatrixXf::Random(40, 20);
  const Eigen::MatrixXf C = Eigen::MatrixXf::Random(20, 30);
  const Eigen::MatrixXd exact = A.cast<double>().transpose() * B.cast<double>();
  const double error = (gemm('T', A, 'N', B).cast<double>() - exact).cwiseAbs().maxCoeff();
  EXPECT_LE(error, 1e-5);
  EXPECT_GT(error, 1e-12);
  EXPECT_LE((gemm('N', A, 'T', C) - A * C.transpose()).norm(), 1e-4);
  EXPECT_EQ(gemm('N', Eigen::MatrixXf(3, 0), 'N', Eigen::MatrixXf(0, 2)),
            Eigen::MatrixXf::Zero(3, 2));
  EXPECT_THROW(gemm('N', Eigen::MatrixXf(3, 2), 'N', Eigen::MatrixXf(3, 2)), std::invalid_argument);
  EXPECT_THROW(gemm('X', A, 'N', B), std::invalid_argument);
}

TEST(BlasGemmOfEigenMatrices, EmptyAndMismatchedOperands) {
  // An empty inner dimension gives zeros; an empty outer one an empty matrix.
  const Eigen::MatrixXd zeros = gemm('N', Eigen::MatrixXd(3, 0), 'N', Eigen::MatrixXd(0, 2));
  EXPECT_EQ(zeros, Eigen::MatrixXd::Zero(3, 2));
  EXPECT_EQ(gemm('T', Eigen::MatrixXd(4, 0), 'N', Eigen::MatrixXd(4, 2)).rows(), 0);
  EXPECT_THROW(gemm('N', Eigen::MatrixXd(3, 2), 'N', Eigen::MatrixXd(3, 2)), std::invalid_argument);
}

}  // namespace
