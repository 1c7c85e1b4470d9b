// SLEPc as the engine of the top K (slepc_svd.hpp) against LAPACK's full SVD (thin_svd): on one
// rank (slepc_svd, on every rank at once) and on a grid of all ranks (distributed_slepc_svd: M
// moved to PETSc's row blocks and U, V back), tall and wide, well separated and clustered
// values, block sizes that divide nothing; the same values on every rank; the give-ups (the
// iteration limit, the budget, a rank below K) on every rank alike; the argument checks.
// The plug-in is the build tree's (SVR_SLEPC_PLUGIN, set by svr_add_mpi_test when SLEPc is
// built); without it the tests are skipped.
#include "svr/linalg/slepc_svd.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>

#include "mpi_test_support.hpp"
#include "svr/core/error.hpp"
#include "svr/linalg/redistribute.hpp"
#include "svr/linalg/svd.hpp"
#include "svr_test/spectra.hpp"

using svr::test::geometric;
using svr::test::random_matrix;
using svr::test::with_spectrum;
using svr_test::world_size;

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

// Skips without the plug-in; fails when the build made one (SVR_SLEPC_PLUGIN) that does not load.
#define REQUIRE_SLEPC()                                                               \
  do {                                                                                \
    if (!svr::slepc_plugin().loaded) {                                                \
      if (std::getenv("SVR_SLEPC_PLUGIN") != nullptr)                                 \
        FAIL() << "the SLEPc plug-in does not load: " << svr::slepc_plugin().problem; \
      GTEST_SKIP() << "svr built without SLEPc: " << svr::slepc_plugin().problem;     \
    }                                                                                 \
  } while (0)

svr::TruncatedSvdSettings settings(std::int64_t K, double max_cost = 1e6) {
  svr::TruncatedSvdSettings out;
  out.rank = K;
  out.max_cost = max_cost;  // these matrices are small: the full SVD would be cheaper
  out.engine = svr::TruncatedEngine::Slepc;
  return out;
}

// The same value on every rank.
void expect_same_everywhere(double value) {
  double lowest = 0, highest = 0;
  MPI_Allreduce(&value, &lowest, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&value, &highest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  EXPECT_EQ(lowest, highest);
}

// U, V, s of the top K of A against thin_svd (svr_test/spectra.hpp).
void expect_matches_full(const MatrixXd& A, const MatrixXd& U, const VectorXd& s, const MatrixXd& V,
                         double reported_residual) {
  const svr::Spectrum full = svr::thin_svd(A);
  svr::test::expect_top_matches_full(A, U, s, V, reported_residual, full.U, full.s, full.V);
}

// One rank: every rank solves the same matrix on its own (PETSC_COMM_SELF).
// `method`: lapack-krylov where SLEPc misses a copy of a repeated value and svr's block method
// takes over.
void expect_top_one_rank(const MatrixXd& A, std::int64_t K, const char* method = "lapack-slepc") {
  svr::KrylovGiveUp why;
  const auto got = svr::slepc_svd(A, settings(K), &why);
  ASSERT_TRUE(got.has_value()) << why.reason;
  EXPECT_EQ(got->report.method, method);
  EXPECT_GT(got->report.iterations, 0);
  ASSERT_EQ(got->spectrum.s.size(), K);
  ASSERT_TRUE(got->report.residual.has_value());
  expect_matches_full(A, got->spectrum.U, got->spectrum.s, got->spectrum.V, *got->report.residual);
  expect_same_everywhere(got->spectrum.s[K - 1]);
}

// A grid of all ranks with block size nb; the vectors gathered and checked on rank 0.
void expect_top_on_grid(const MatrixXd& A, std::int64_t K, std::int64_t nb,
                        const char* method = "scalapack-slepc") {
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  svr::DistributedMatrix M(grid, A.rows(), A.cols(), nb);
  M.fill([&](std::int64_t i, std::int64_t j) { return A(i, j); });
  svr::KrylovGiveUp why;
  const auto got = svr::distributed_slepc_svd(M, settings(K), &why);
  ASSERT_TRUE(got.has_value()) << why.reason;
  const svr::DistributedSpectrum& sp = got->spectrum;
  EXPECT_EQ(got->report.method, method);
  ASSERT_EQ(sp.s.size(), K);
  EXPECT_EQ(sp.U.rows(), A.rows());
  EXPECT_EQ(sp.U.cols(), K);
  EXPECT_EQ(sp.V.rows(), A.cols());
  EXPECT_EQ(sp.V.cols(), K);
  EXPECT_EQ(sp.U.block(), nb);
  EXPECT_EQ(sp.V.block(), nb);
  ASSERT_TRUE(got->report.residual.has_value());
  expect_same_everywhere(sp.s[0]);
  expect_same_everywhere(*got->report.residual);
  const MatrixXd U = sp.U.gather(0), V = sp.V.gather(0);
  if (grid.rank() != 0) return;
  expect_matches_full(A, U, sp.s, V, *got->report.residual);
}

TEST(SlepcSvd, SeparatedSpectrumTallOnOneRank) {
  REQUIRE_SLEPC();
  expect_top_one_rank(with_spectrum(300, 120, geometric(120, 0.97), 11), 10);
}

TEST(SlepcSvd, SeparatedSpectrumWideOnOneRank) {
  REQUIRE_SLEPC();
  expect_top_one_rank(with_spectrum(90, 260, geometric(90, 0.95), 13), 7);
}

// An exactly repeated value: Lanczos finds one copy, the check on the deflated operator sees
// the others, and svr's block method delivers all of them.
TEST(SlepcSvd, ClusteredSpectrumOnOneRank) {
  REQUIRE_SLEPC();
  VectorXd s = geometric(100, 0.96);
  s.segment(2, 4).setConstant(s[2]);  // a cluster of 4 inside the top 8
  expect_top_one_rank(with_spectrum(160, 100, s, 19), 8, "lapack-krylov");
}

// Nearly repeated values (1e-6 s_max apart) are distinct to Lanczos: SLEPc keeps them.
TEST(SlepcSvd, NearlyRepeatedValuesOnOneRank) {
  REQUIRE_SLEPC();
  VectorXd s = geometric(100, 0.96);
  for (int i = 3; i < 6; ++i) s[i] = s[2] * (1 - 1e-6 * (i - 2));
  expect_top_one_rank(with_spectrum(160, 100, s, 19), 8);
}

// An orthogonal matrix (every value 1, as an orthogonally initialised layer): any K orthonormal
// vectors are singular vectors, and the values must all be 1.
TEST(SlepcSvd, OrthogonalMatrix) {
  REQUIRE_SLEPC();
  expect_top_one_rank(with_spectrum(80, 80, VectorXd::Ones(80), 67), 5);
  expect_top_on_grid(with_spectrum(80, 80, VectorXd::Ones(80), 67), 5, 6);
}

TEST(SlepcSvd, SeparatedSpectrumTallOnTheGrid) {
  REQUIRE_SLEPC();
  expect_top_on_grid(with_spectrum(300, 120, geometric(120, 0.97), 11), 10, 7);
}

TEST(SlepcSvd, SeparatedSpectrumWideOnTheGrid) {
  REQUIRE_SLEPC();
  expect_top_on_grid(with_spectrum(90, 260, geometric(90, 0.95), 13), 7, 5);
}

TEST(SlepcSvd, GaussianMatrixSlowDecayOnTheGrid) {
  REQUIRE_SLEPC();
  expect_top_on_grid(random_matrix(200, 150, 17), 6, 16);
}

TEST(SlepcSvd, ClusteredSpectrumOnTheGrid) {
  REQUIRE_SLEPC();
  VectorXd s = geometric(100, 0.96);
  s.segment(2, 4).setConstant(s[2]);
  expect_top_on_grid(with_spectrum(160, 100, s, 19), 8, 3, "scalapack-krylov");
}

TEST(SlepcSvd, FewerRowsThanRanksOnTheGrid) {
  REQUIRE_SLEPC();
  // 5 rows over up to 4 ranks: PETSc's row blocks of 2, 2, 1 and 0 rows.
  expect_top_on_grid(with_spectrum(5, 40, geometric(5, 0.6), 59), 2, 2);
}

TEST(SlepcSvd, TheGridAndOneRankAgree) {
  REQUIRE_SLEPC();
  const MatrixXd A = with_spectrum(220, 140, geometric(140, 0.93), 23);
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  svr::DistributedMatrix M(grid, A.rows(), A.cols(), 9);
  M.fill([&](std::int64_t i, std::int64_t j) { return A(i, j); });
  const auto distributed = svr::distributed_slepc_svd(M, settings(12));
  const auto serial = svr::slepc_svd(A, settings(12));
  ASSERT_TRUE(distributed.has_value());
  ASSERT_TRUE(serial.has_value());
  EXPECT_LE((distributed->spectrum.s - serial->spectrum.s).cwiseAbs().maxCoeff(),
            1e-10 * serial->spectrum.s[0]);
}

TEST(SlepcSvd, GivesUpOnEveryRankAlike) {
  REQUIRE_SLEPC();
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  svr::DistributedMatrix M(grid, 100, 50, 4);
  svr::KrylovGiveUp why;
  // Rank 3 < K = 5: zero singular values have no vectors to converge to.
  const MatrixXd low = random_matrix(100, 3, 29) * random_matrix(3, 50, 31);
  M.fill([&](std::int64_t i, std::int64_t j) { return low(i, j); });
  EXPECT_FALSE(svr::distributed_slepc_svd(M, settings(5), &why).has_value());
  EXPECT_NE(why.reason.find("numerical rank is below 5"), std::string::npos) << why.reason;
  EXPECT_FALSE(why.cost);
  why = {};
  EXPECT_FALSE(svr::slepc_svd(low, settings(5), &why).has_value());
  EXPECT_NE(why.reason.find("numerical rank is below 5"), std::string::npos) << why.reason;

  // The iteration limit: not the cost rule, so the caller warns.
  const MatrixXd A = random_matrix(100, 50, 37);
  M.fill([&](std::int64_t i, std::int64_t j) { return A(i, j); });
  svr::TruncatedSvdSettings one_restart = settings(8);
  one_restart.max_iterations = 1;
  why = {};
  EXPECT_FALSE(svr::distributed_slepc_svd(M, one_restart, &why).has_value());
  EXPECT_NE(why.reason.find("the iteration limit"), std::string::npos) << why.reason;
  EXPECT_FALSE(why.cost);
  why = {};
  EXPECT_FALSE(svr::slepc_svd(A, one_restart, &why).has_value());
  EXPECT_NE(why.reason.find("the iteration limit"), std::string::npos) << why.reason;

  // A budget below two iterations: the cost rule, before SLEPc runs.
  why = {};
  EXPECT_FALSE(svr::distributed_slepc_svd(M, settings(20, 1.0), &why).has_value());
  EXPECT_TRUE(why.cost) << why.reason;
  // A Gaussian matrix converges slowly: the cost rule during the run, once the products spent
  // pass the budget, and once the products per converged triplet project past it.
  const MatrixXd slow = random_matrix(400, 300, 41);
  why = {};
  EXPECT_FALSE(svr::slepc_svd(slow, settings(8, 0.5), &why).has_value());
  EXPECT_TRUE(why.cost) << why.reason;
  EXPECT_NE(why.reason.find("cost as much as the full SVD"), std::string::npos) << why.reason;
  why = {};
  EXPECT_FALSE(svr::slepc_svd(slow, settings(8, 1.0), &why).has_value());
  EXPECT_TRUE(why.cost) << why.reason;
  EXPECT_NE(why.reason.find("a rate at which all of them would cost more"), std::string::npos)
      << why.reason;
  EXPECT_TRUE(svr::slepc_svd(slow, settings(8, 8.0)).has_value());

  EXPECT_THROW(svr::distributed_slepc_svd(M, settings(0)), std::invalid_argument);
  EXPECT_THROW(svr::slepc_svd(A, settings(50)), std::invalid_argument);
  M.fill([](std::int64_t i, std::int64_t j) {
    return i == 7 && j == 3 ? std::numeric_limits<double>::quiet_NaN() : 1.0;
  });
  EXPECT_THROW(svr::distributed_slepc_svd(M, settings(4)), svr::NumericalError);
}

// truncated_or_full_svd with the engine left to svr: SLEPc in double when the plug-in loads,
// svr's method in single precision and when asked for.
TEST(SlepcSvd, TheEngineChoice) {
  REQUIRE_SLEPC();
  const MatrixXd A = with_spectrum(200, 120, geometric(120, 0.9), 61);
  svr::TruncatedSvdSettings limits;
  limits.max_cost = 1e6;
  EXPECT_EQ(svr::truncated_or_full_svd(A, 6, limits).report.method, "lapack-slepc");
  limits.engine = svr::TruncatedEngine::Builtin;
  EXPECT_EQ(svr::truncated_or_full_svd(A, 6, limits).report.method, "lapack-krylov");
  limits.engine = svr::TruncatedEngine::Auto;
  limits.precision = svr::SvdPrecision::Single;
  const svr::TruncatedSvdResult single = svr::truncated_or_full_svd(A, 6, limits);
  EXPECT_EQ(single.report.method, "lapack-krylov");
  EXPECT_EQ(single.report.precision, "single");
}

// Room for SLEPc's P x 1 copy on a team: none needed on one rank; on more, the copy and
// redistribute's two buffers of one round (2^24 values, at most the share) next to M's own
// share; no budget or --truncated-svd slepc: always room.
TEST(SlepcSvd, RoomForTheCopyOnATeam) {
  svr::TruncatedSvdSettings automatic;
  svr::TruncatedSvdSettings forced;
  forced.engine = svr::TruncatedEngine::Slepc;
  const std::int64_t rows = 16384, cols = 65536;
  const double M = 8.0 * rows * cols, overhead = 256.0 * 1024 * 1024;
  const double buffers = 2.0 * 8.0 * svr::kRedistributePieceDoubles;  // 256 MiB
  EXPECT_EQ(svr::slepc_copy_bytes_per_rank(rows, cols, 1), 0.0);
  EXPECT_DOUBLE_EQ(svr::slepc_copy_bytes_per_rank(rows, cols, 2), M / 2 + buffers);
  EXPECT_DOUBLE_EQ(svr::slepc_copy_bytes_per_rank(rows, cols, 4), M / 4 + buffers);
  // A small matrix: the buffers hold at most the share.
  EXPECT_DOUBLE_EQ(svr::slepc_copy_bytes_per_rank(100, 60, 3), 3.0 * 8.0 * 2000);
  EXPECT_TRUE(svr::slepc_copy_fits(rows, cols, 1, 1.0, overhead, automatic));
  // 2 ranks: M / 2 + M / 2 + buffers + overhead = M + buffers + overhead.
  EXPECT_TRUE(svr::slepc_copy_fits(rows, cols, 2, M + buffers + overhead, overhead, automatic));
  EXPECT_FALSE(
      svr::slepc_copy_fits(rows, cols, 2, M + buffers + overhead - 1, overhead, automatic));
  EXPECT_TRUE(svr::slepc_copy_fits(rows, cols, 2, M, overhead, forced));
  EXPECT_TRUE(svr::slepc_copy_fits(rows, cols, 2, 0.0, overhead, automatic));
  EXPECT_TRUE(svr::slepc_copy_fits(rows, cols, 8, M / 4 + buffers + overhead, overhead, automatic));
  EXPECT_FALSE(
      svr::slepc_copy_fits(rows, cols, 7, M / 4 + buffers + overhead, overhead, automatic));
}

}  // namespace
