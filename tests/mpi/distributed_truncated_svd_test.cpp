// distributed_krylov_svd and distributed_krylov_bottom_svd against LAPACK's full SVD (thin_svd)
// of the same matrix and against the serial methods, on every grid the process count gives: well
// separated and clustered top values, tall and wide, block sizes that divide nothing; the same
// values on every rank; the give-ups on every rank alike.
#include "svr/linalg/distributed_truncated_svd.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "mpi_test_support.hpp"
#include "svr/core/error.hpp"
#include "svr/linalg/svd.hpp"
#include "svr/linalg/truncated_svd.hpp"
#include "svr_test/spectra.hpp"

using svr::test::geometric;
using svr::test::random_matrix;
using svr::test::with_spectrum;
using svr_test::world_size;

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

svr::TruncatedSvdSettings settings(std::int64_t K, double max_cost = 1e6) {
  svr::TruncatedSvdSettings out;
  out.rank = K;
  out.max_cost = max_cost;  // these matrices are small: the full SVD would be cheaper
  return out;
}

// The top K of A on a grid of all ranks with block size nb, checked on every rank (the values,
// bitwise equal everywhere) and on rank 0 (the gathered vectors) against thin_svd.
void expect_top(const MatrixXd& A, std::int64_t K, std::int64_t nb) {
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  svr::DistributedMatrix M(grid, A.rows(), A.cols(), nb);
  M.fill([&](std::int64_t i, std::int64_t j) { return A(i, j); });
  svr::KrylovGiveUp why;
  const auto got = svr::distributed_krylov_svd(M, settings(K), &why);
  ASSERT_TRUE(got.has_value()) << why.reason;
  const svr::DistributedSpectrum& sp = got->spectrum;
  ASSERT_EQ(sp.s.size(), K);
  EXPECT_EQ(sp.U.rows(), A.rows());
  EXPECT_EQ(sp.U.cols(), K);
  EXPECT_EQ(sp.V.rows(), A.cols());
  EXPECT_EQ(sp.V.cols(), K);
  EXPECT_EQ(sp.U.block(), nb);
  EXPECT_EQ(got->report.method, "scalapack-krylov");
  ASSERT_TRUE(got->report.residual.has_value());
  EXPECT_LE(*got->report.residual, 1e-10);
  // The same values and report on every rank.
  double first = sp.s[0], lowest = 0, highest = 0;
  MPI_Allreduce(&first, &lowest, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&first, &highest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_EQ(lowest, highest);

  const MatrixXd U = sp.U.gather(0), V = sp.V.gather(0);
  if (grid.rank() != 0) return;
  const svr::Spectrum full = svr::thin_svd(A);
  svr::test::expect_top_matches_full(A, U, sp.s, V, *got->report.residual, full.U, full.s, full.V);
}

TEST(DistributedKrylovSvd, SeparatedSpectrumTall) {
  expect_top(with_spectrum(300, 120, geometric(120, 0.97), 11), 10, 7);
}

TEST(DistributedKrylovSvd, SeparatedSpectrumWide) {
  expect_top(with_spectrum(90, 260, geometric(90, 0.95), 13), 7, 5);
}

TEST(DistributedKrylovSvd, GaussianMatrixSlowDecay) {
  expect_top(random_matrix(200, 150, 17), 6, 16);
}

TEST(DistributedKrylovSvd, ClusteredSpectrum) {
  VectorXd s = geometric(100, 0.96);
  s.segment(2, 4).setConstant(s[2]);  // a cluster of 4 inside the top 8
  expect_top(with_spectrum(160, 100, s, 19), 8, 3);
}

TEST(DistributedKrylovSvd, AgreesWithTheSerialMethod) {
  const MatrixXd A = with_spectrum(220, 140, geometric(140, 0.93), 23);
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  svr::DistributedMatrix M(grid, A.rows(), A.cols(), 9);
  M.fill([&](std::int64_t i, std::int64_t j) { return A(i, j); });
  const auto distributed = svr::distributed_krylov_svd(M, settings(12));
  const auto serial = svr::krylov_svd(A, settings(12));
  ASSERT_TRUE(distributed.has_value());
  ASSERT_TRUE(serial.has_value());
  // The same start block and iteration: the same values up to rounding.
  EXPECT_LE((distributed->spectrum.s - serial->spectrum.s).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(DistributedKrylovSvd, GivesUpOnEveryRankAlike) {
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  // Rank 3 < K = 5: zero singular values have no vectors to converge to.
  const MatrixXd low = random_matrix(100, 3, 29) * random_matrix(3, 50, 31);
  svr::DistributedMatrix M(grid, 100, 50, 4);
  M.fill([&](std::int64_t i, std::int64_t j) { return low(i, j); });
  svr::KrylovGiveUp why;
  EXPECT_FALSE(svr::distributed_krylov_svd(M, settings(5), &why).has_value());
  EXPECT_NE(why.reason.find("numerical rank is below 5"), std::string::npos) << why.reason;
  EXPECT_FALSE(why.cost);
  // A budget below two iterations: the cost rule, before any product.
  const MatrixXd A = random_matrix(100, 50, 37);
  M.fill([&](std::int64_t i, std::int64_t j) { return A(i, j); });
  EXPECT_FALSE(svr::distributed_krylov_svd(M, settings(20, 1.0), &why).has_value());
  EXPECT_TRUE(why.cost) << why.reason;
  EXPECT_THROW(svr::distributed_krylov_svd(M, settings(0)), std::invalid_argument);
  EXPECT_THROW(svr::distributed_krylov_svd(M, settings(50)), std::invalid_argument);
  M.fill([](std::int64_t i, std::int64_t j) {
    return i == 7 && j == 3 ? std::numeric_limits<double>::quiet_NaN() : 1.0;
  });
  EXPECT_THROW(svr::distributed_krylov_svd(M, settings(4)), svr::NumericalError);
}

// --precision single: every product with M is a psgemm on float blocks. The residual reaches
// kSingleKrylovTolerance (1e-5 s_max), not the 1e-10 asked for; the values are within float's
// accuracy of the double SVD's but not within double's (the products really ran in float), the
// same bits on every rank; the vectors are orthonormal to float's accuracy. Tall and wide, block
// sizes that divide nothing.
TEST(DistributedKrylovSvd, SinglePrecisionRunsItsProductsInFloat) {
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  for (const MatrixXd& A : {with_spectrum(420, 150, geometric(150, 0.95), 61),
                            MatrixXd(with_spectrum(130, 380, geometric(130, 0.93), 67))}) {
    svr::DistributedMatrix M(grid, A.rows(), A.cols(), 7);
    M.fill([&](std::int64_t i, std::int64_t j) { return A(i, j); });
    svr::TruncatedSvdSettings limits = settings(10);
    limits.precision = svr::SvdPrecision::Single;
    svr::KrylovGiveUp why;
    const auto got = svr::distributed_krylov_svd(M, limits, &why);
    ASSERT_TRUE(got.has_value()) << why.reason;
    EXPECT_EQ(got->report.method, "scalapack-krylov");
    EXPECT_EQ(got->report.precision, "single");
    ASSERT_TRUE(got->report.residual.has_value());
    EXPECT_LE(*got->report.residual, svr::kSingleKrylovTolerance);
    const VectorXd& s = got->spectrum.s;
    double first = s[0], lowest = 0, highest = 0;
    MPI_Allreduce(&first, &lowest, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&first, &highest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    EXPECT_EQ(lowest, highest);
    const svr::Spectrum full = svr::thin_svd(A, 10);
    const double error = (s - full.s).cwiseAbs().maxCoeff() / full.s[0];
    EXPECT_LE(error, 1e-5);
    EXPECT_GE(error, 1e-10);
    const MatrixXd U = got->spectrum.U.gather(0), V = got->spectrum.V.gather(0);
    if (grid.rank() == 0) {
      const MatrixXd I = MatrixXd::Identity(10, 10);
      EXPECT_LE((U.transpose() * U - I).cwiseAbs().maxCoeff(), 1e-5);
      EXPECT_LE((V.transpose() * V - I).cwiseAbs().maxCoeff(), 1e-5);
    }
  }
  // Beyond float's range: refused on every rank, as the single full SVD refuses it.
  svr::DistributedMatrix M(grid, 60, 40, 4);
  const MatrixXd A = random_matrix(60, 40, 71);
  M.fill([&](std::int64_t i, std::int64_t j) { return i == 3 && j == 4 ? 1e39 : A(i, j); });
  svr::TruncatedSvdSettings limits = settings(4);
  limits.precision = svr::SvdPrecision::Single;
  EXPECT_THROW(svr::distributed_krylov_svd(M, limits), svr::NumericalError);
}

// ----- the bottom K (distributed_krylov_bottom_svd) ------------------------------------------

// The bottom K of A against thin_svd's last K: values to 1e-10 s_max (the same on every rank),
// s_max, orthonormal vectors, the true residual relative to s_max, complete clusters as
// projectors.
void expect_bottom(const MatrixXd& A, std::int64_t K, std::int64_t nb) {
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  svr::DistributedMatrix M(grid, A.rows(), A.cols(), nb);
  M.fill([&](std::int64_t i, std::int64_t j) { return A(i, j); });
  svr::KrylovGiveUp why;
  const auto got = svr::distributed_krylov_bottom_svd(M, settings(K), &why);
  ASSERT_TRUE(got.has_value()) << why.reason;
  const svr::DistributedSpectrum& sp = got->spectrum;
  ASSERT_EQ(sp.s.size(), K);
  EXPECT_EQ(sp.U.rows(), A.rows());
  EXPECT_EQ(sp.U.cols(), K);
  EXPECT_EQ(sp.V.rows(), A.cols());
  EXPECT_EQ(sp.V.cols(), K);
  EXPECT_EQ(got->report.method, "scalapack-qr-krylov");
  ASSERT_TRUE(got->report.residual.has_value());
  EXPECT_LE(*got->report.residual, 1e-10);
  double last = sp.s[K - 1], lowest = 0, highest = 0;
  MPI_Allreduce(&last, &lowest, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&last, &highest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_EQ(lowest, highest);

  const svr::Spectrum full = svr::thin_svd(A);
  const Eigen::Index n = full.s.size();
  const double s_max = full.s[0];
  EXPECT_NEAR(got->s_max, s_max, 1e-12 * s_max);
  for (Eigen::Index i = 0; i < K; ++i) {
    EXPECT_LE(std::abs(sp.s[i] - full.s[n - K + i]), 1e-10 * s_max) << "i = " << i;
    if (i > 0) {
      EXPECT_LE(sp.s[i], sp.s[i - 1]);
    }
  }
  const MatrixXd U = sp.U.gather(0), V = sp.V.gather(0);
  if (grid.rank() != 0) return;
  const MatrixXd I = MatrixXd::Identity(K, K);
  EXPECT_LE((U.transpose() * U - I).norm(), 1e-9);
  EXPECT_LE((V.transpose() * V - I).norm(), 1e-9);
  const double residual =
      std::max((A * V - U * sp.s.asDiagonal()).colwise().norm().maxCoeff(),
               (A.transpose() * U - V * sp.s.asDiagonal()).colwise().norm().maxCoeff()) /
      s_max;
  EXPECT_NEAR(residual, *got->report.residual, 1e-13);
  svr::test::expect_cluster_projectors(U, V, full.U, full.s, full.V, n - K);
}

TEST(DistributedKrylovBottomSvd, TallQrFirst) {
  expect_bottom(with_spectrum(260, 110, geometric(110, 0.95), 41), 9, 7);
}

TEST(DistributedKrylovBottomSvd, WideLqFirst) {
  expect_bottom(with_spectrum(80, 230, geometric(80, 0.93), 43), 6, 5);
}

TEST(DistributedKrylovBottomSvd, NearKernelClusterOnASquareMatrix) {
  VectorXd s = geometric(120, 0.98);
  s.tail(5).setConstant(3e-4);
  expect_bottom(with_spectrum(120, 120, s, 47), 6, 16);
}

TEST(DistributedKrylovBottomSvd, NearKernelFarBelowTheRestOfTheBottomK) {
  // Kept values spread by 2e4 on T^-1 (krylov_bottom_svd's test of the same name): converges by
  // T's own residual, square and wide.
  VectorXd s = geometric(120, 0.98);
  s.tail(5) << 2e-3, 1e-3, 1e-7, 1e-7, 1e-7;
  expect_bottom(with_spectrum(120, 120, s, 59), 5, 16);
  expect_bottom(with_spectrum(120, 250, s, 61), 5, 7);
}

TEST(DistributedKrylovBottomSvd, AgreesWithTheSerialMethodAndGivesUpAlike) {
  const MatrixXd A = with_spectrum(200, 90, geometric(90, 0.94), 53);
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  svr::DistributedMatrix M(grid, A.rows(), A.cols(), 4);
  M.fill([&](std::int64_t i, std::int64_t j) { return A(i, j); });
  const auto distributed = svr::distributed_krylov_bottom_svd(M, settings(5));
  const auto serial = svr::krylov_bottom_svd(A, settings(5));
  ASSERT_TRUE(distributed.has_value());
  ASSERT_TRUE(serial.has_value());
  EXPECT_LE((distributed->spectrum.s - serial->spectrum.s).cwiseAbs().maxCoeff(),
            1e-12 * serial->s_max);
  // Rank 30 of 90: zero singular values, on every rank alike.
  const MatrixXd low = random_matrix(200, 30, 59) * random_matrix(30, 90, 61);
  M.fill([&](std::int64_t i, std::int64_t j) { return low(i, j); });
  svr::KrylovGiveUp why;
  EXPECT_FALSE(svr::distributed_krylov_bottom_svd(M, settings(5), &why).has_value());
  EXPECT_NE(why.reason.find("numerically singular"), std::string::npos) << why.reason;
  EXPECT_FALSE(why.cost);
  EXPECT_THROW(svr::distributed_krylov_bottom_svd(M, settings(90)), std::invalid_argument);
}

}  // namespace
