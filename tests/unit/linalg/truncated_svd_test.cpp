// krylov_svd and truncated_or_full_svd against the full LAPACK SVD (thin_svd) and against
// matrices built with a known spectrum: well separated, clustered, slowly decaying (Gaussian),
// rank deficient; tall and wide.
#include "svr/linalg/truncated_svd.hpp"

#include <gtest/gtest.h>

#include <Eigen/QR>
#include <cmath>
#include <limits>
#include <regex>
#include <stdexcept>

#include "svr/core/error.hpp"
#include "svr/linalg/svd.hpp"
#include "svr_test/random_matrix.hpp"
#include "svr_test/spectra.hpp"

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using svr::test::geometric;
using svr::test::random_matrix;
using svr::test::with_spectrum;

// Everything the truncated result promises, against the full SVD of the same matrix: K values
// to 1e-10 s_max, orthonormal vectors, the residual it reports (and that it is true), and the
// projector onto the span of each complete cluster of equal values among the top K.
void expect_matches_full(const MatrixXd& M, const svr::TruncatedSvdResult& got, Eigen::Index K) {
  const svr::Spectrum full = svr::thin_svd(M);
  const svr::Spectrum& sp = got.spectrum;
  ASSERT_EQ(sp.s.size(), K);
  ASSERT_EQ(sp.U.rows(), M.rows());
  ASSERT_EQ(sp.U.cols(), K);
  ASSERT_EQ(sp.V.rows(), M.cols());
  ASSERT_EQ(sp.V.cols(), K);
  const double s_max = full.s[0];
  for (Eigen::Index i = 0; i < K; ++i) {
    EXPECT_LE(std::abs(sp.s[i] - full.s[i]), 1e-10 * s_max) << "i = " << i;
    if (i > 0) EXPECT_LE(sp.s[i], sp.s[i - 1]);
  }
  const MatrixXd I = MatrixXd::Identity(K, K);
  EXPECT_LE((sp.U.transpose() * sp.U - I).norm(), 1e-9);
  EXPECT_LE((sp.V.transpose() * sp.V - I).norm(), 1e-9);
  ASSERT_TRUE(got.report.residual.has_value());
  EXPECT_LE(*got.report.residual, 1e-10);
  EXPECT_NEAR(svr::svd_residual(M, sp), *got.report.residual, 1e-14);

  svr::test::expect_cluster_projectors(sp.U, sp.V, full.U, full.s, full.V, 0);
}

svr::TruncatedSvdResult krylov(const MatrixXd& M, std::int64_t K) {
  svr::KrylovGiveUp why;
  // No cost limit: these tests are about accuracy (CostLimit tests the limit).
  auto result = svr::krylov_svd(M, {K, 1e-10, 400, std::numeric_limits<double>::infinity()}, &why);
  if (!result) ADD_FAILURE() << "krylov_svd gave up: " << why.reason;
  return result ? *result : svr::TruncatedSvdResult{};
}

TEST(KrylovSvd, SeparatedSpectrumTall) {
  const MatrixXd M = with_spectrum(300, 120, geometric(120, 0.97), 11);
  const auto got = krylov(M, 10);
  expect_matches_full(M, got, 10);
  EXPECT_EQ(got.report.method, "lapack-krylov");
  EXPECT_GT(got.report.iterations, 0);
}

TEST(KrylovSvd, SeparatedSpectrumWide) {
  const MatrixXd M = with_spectrum(90, 400, geometric(90, 0.95), 13);
  expect_matches_full(M, krylov(M, 7), 7);
}

TEST(KrylovSvd, GaussianMatrixSlowDecay) {
  // Marchenko-Pastur: the top values crowd together, the hard case for a Krylov method.
  const MatrixXd M = random_matrix(300, 120, 17);
  expect_matches_full(M, krylov(M, 12), 12);
  const MatrixXd wide = random_matrix(100, 400, 19);
  expect_matches_full(wide, krylov(wide, 15), 15);
}

TEST(KrylovSvd, ClusteredSpectrum) {
  // Clusters of exactly equal values: 3 at the top, 4 in the middle of the wanted range and 3
  // ending exactly at K = 12 (values 9-11).
  VectorXd s = geometric(80, 0.96);
  s.segment(0, 3).setConstant(2.0);
  s.segment(5, 4).setConstant(s[5]);
  s.segment(9, 3).setConstant(s[9]);
  const MatrixXd M = with_spectrum(200, 80, s, 23);
  expect_matches_full(M, krylov(M, 12), 12);
}

TEST(KrylovSvd, ClusterCutByK) {
  // K = 6 cuts a cluster of 4 (values 4-7): the kept values are right and the kept vectors lie
  // in the cluster's span, as the full SVD's truncation does.
  VectorXd s = geometric(60, 0.9);
  s.segment(4, 4).setConstant(s[4]);
  const MatrixXd M = with_spectrum(150, 60, s, 29);
  const auto got = krylov(M, 6);
  expect_matches_full(M, got, 6);
  const svr::Spectrum full = svr::thin_svd(M);
  const MatrixXd cluster_u = full.U.middleCols(4, 4);
  const MatrixXd outside = got.spectrum.U.middleCols(4, 2) -
                           cluster_u * (cluster_u.transpose() * got.spectrum.U.middleCols(4, 2));
  EXPECT_LE(outside.norm(), 1e-8);
}

TEST(KrylovSvd, RankBelowKGivesUp) {
  const MatrixXd M = random_matrix(100, 3, 31) * random_matrix(3, 50, 37);
  svr::KrylovGiveUp why;
  EXPECT_FALSE(svr::krylov_svd(M, {5, 1e-10, 400}, &why).has_value());
  EXPECT_NE(why.reason.find("numerical rank is below 5"), std::string::npos) << why.reason;
  EXPECT_FALSE(why.cost);
  const svr::TruncatedSvdResult fell_back = svr::truncated_or_full_svd(M, 5);
  EXPECT_EQ(fell_back.report.method, "lapack-full");
  EXPECT_EQ(fell_back.report.fallback, why.reason);
  EXPECT_EQ(fell_back.report.fallback_cost, why.cost);
  EXPECT_EQ(fell_back.spectrum.s.size(), 5);
}

TEST(KrylovSvd, ZeroMatrixGivesUp) {
  svr::KrylovGiveUp why;
  const double no_limit = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(
      svr::krylov_svd(MatrixXd::Zero(40, 30), {4, 1e-10, 400, no_limit}, &why).has_value());
  EXPECT_EQ(why.reason, "the matrix is zero");
  EXPECT_FALSE(why.cost);
}

TEST(KrylovSvd, IterationLimitFallsBackToTheFullSvd) {
  const MatrixXd M = random_matrix(400, 200, 41);
  svr::KrylovGiveUp why;
  EXPECT_FALSE(svr::krylov_svd(M, {20, 1e-10, 1}, &why).has_value());
  EXPECT_NE(why.reason.find("after 1 iterations"), std::string::npos) << why.reason;
  // The residual in scientific notation (std::to_string wrote a small one as 0.000000).
  EXPECT_TRUE(std::regex_search(why.reason,
                                std::regex("the residual is still [1-9]\\.[0-9]e[-+][0-9]+ after")))
      << why.reason;
  EXPECT_FALSE(why.cost);
  const svr::TruncatedSvdResult fell_back = svr::truncated_or_full_svd(M, 20, {0, 1e-10, 1});
  EXPECT_EQ(fell_back.report.method, "lapack-full");
  EXPECT_EQ(fell_back.report.fallback, why.reason);
  EXPECT_EQ(fell_back.report.fallback_cost, why.cost);
  const svr::Spectrum full = svr::thin_svd(M, 20);
  EXPECT_EQ(fell_back.spectrum.s, full.s);  // the same routine, bit for bit
}

// --precision single: the fallback is the single-precision full SVD, and says so; the Krylov
// method itself stays in double.
TEST(KrylovSvd, SinglePrecisionFallsBackToTheSingleFullSvd) {
  const MatrixXd M = random_matrix(400, 200, 41);
  svr::TruncatedSvdSettings limits{0, 1e-10, 1};
  limits.precision = svr::SvdPrecision::Single;
  const svr::TruncatedSvdResult fell_back = svr::truncated_or_full_svd(M, 20, limits);
  EXPECT_EQ(fell_back.report.method, "lapack-full");
  EXPECT_EQ(fell_back.report.precision, "single");
  EXPECT_EQ(fell_back.spectrum.s, svr::thin_svd(M, 20, svr::SvdPrecision::Single).s);
}

// A truncated result of --precision single computed in float: its report, its values within
// float's accuracy of the double SVD's `expected` (1e-5 s_max) but not within double's (above
// `floor`, so the method really ran in float), and orthonormal vectors to float's accuracy.
void expect_in_float(const svr::SvdReport& report, const char* method, const svr::Spectrum& got,
                     const VectorXd& expected, double s_max, double floor) {
  EXPECT_EQ(report.method, method);
  EXPECT_EQ(report.precision, "single");
  ASSERT_TRUE(report.residual.has_value());
  EXPECT_LE(*report.residual, svr::kSingleKrylovTolerance);
  ASSERT_EQ(got.s.size(), expected.size());
  const double error = (got.s - expected).cwiseAbs().maxCoeff() / s_max;
  EXPECT_LE(error, 1e-5);
  EXPECT_GE(error, floor);
  const MatrixXd I = MatrixXd::Identity(got.s.size(), got.s.size());
  EXPECT_LE((got.U.transpose() * got.U - I).cwiseAbs().maxCoeff(), 1e-5);
  EXPECT_LE((got.V.transpose() * got.V - I).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(KrylovSvd, SinglePrecisionRunsInFloatToItsTolerance) {
  // sgemm on float blocks: the residual reaches kSingleKrylovTolerance (1e-5 s_max), not the
  // 1e-10 asked for, and the values are within float's accuracy of the double SVD's, but not
  // within double's (the method really ran in float).
  for (const MatrixXd& M : {with_spectrum(500, 160, geometric(160, 0.95), 47),
                            MatrixXd(with_spectrum(140, 450, geometric(140, 0.93), 53))}) {
    svr::TruncatedSvdSettings limits{12, 1e-10, 400, std::numeric_limits<double>::infinity()};
    limits.precision = svr::SvdPrecision::Single;
    svr::KrylovGiveUp why;
    const auto got = svr::krylov_svd(M, limits, &why);
    ASSERT_TRUE(got.has_value()) << why.reason;
    const svr::Spectrum full = svr::thin_svd(M, 12);
    expect_in_float(got->report, "lapack-krylov", got->spectrum, full.s, full.s(0), 1e-10);
  }
  // Beyond float's range: refused in one line, as the single full SVD refuses it.
  MatrixXd huge = random_matrix(60, 40, 59);
  huge(3, 4) = 1e39;
  svr::TruncatedSvdSettings limits{4, 1e-10, 400};
  limits.precision = svr::SvdPrecision::Single;
  EXPECT_THROW(svr::krylov_svd(huge, limits), svr::NumericalError);
}

TEST(KrylovSvd, CostLimit) {
  // A Gaussian matrix's crowded top values need more work than a tenth of the full SVD.
  const MatrixXd M = random_matrix(1000, 400, 43);
  svr::KrylovGiveUp why;
  EXPECT_FALSE(svr::krylov_svd(M, {9, 1e-10, 400, 0.1}, &why).has_value());
  EXPECT_NE(why.reason.find("which cost as much as the full SVD"), std::string::npos) << why.reason;
  EXPECT_TRUE(why.cost);
  EXPECT_THROW(svr::krylov_svd(M, {9, 1e-10, 400, 0.0}), std::invalid_argument);
}

TEST(KrylovSvd, GivesUpEarlyWhenTheRateProjectsMoreThanTheFullSvd) {
  // On this Gaussian matrix the top 20 would take more than the full SVD: the residual's rate
  // over the first iterations says so, long before the cost itself reaches the budget.
  const MatrixXd M = random_matrix(400, 200, 59);
  svr::KrylovGiveUp why;
  EXPECT_FALSE(svr::krylov_svd(M, {20, 1e-10, 400}, &why).has_value());
  EXPECT_NE(why.reason.find("falling at a rate that would cost more than the full SVD"),
            std::string::npos)
      << why.reason;
  EXPECT_NE(why.reason.find("after 3 iterations"), std::string::npos) << why.reason;
  EXPECT_TRUE(why.cost);
  // Without the cost rule it does converge (the decision was the cost's, not a failure).
  expect_matches_full(M, krylov(M, 20), 20);
  const svr::TruncatedSvdResult fell_back = svr::truncated_or_full_svd(M, 20);
  EXPECT_EQ(fell_back.report.method, "lapack-full");
  EXPECT_EQ(fell_back.report.fallback, why.reason);
  EXPECT_EQ(fell_back.report.fallback_cost, why.cost);
}

TEST(KrylovSvd, TooLargeAPartOfTheRankDoesNotStart) {
  // K = 100 of 160: the basis is nearly the whole space after one expansion, and two would
  // cost more than the full SVD.
  const MatrixXd M = random_matrix(400, 160, 67);
  svr::KrylovGiveUp why;
  EXPECT_FALSE(svr::krylov_svd(M, {100, 1e-10, 400}, &why).has_value());
  EXPECT_NE(why.reason.find("K = 100 is too large a part of min(rows, cols) = 160"),
            std::string::npos)
      << why.reason;
  EXPECT_TRUE(why.cost);
  // A generous budget lets it run (and converge: the basis becomes the whole space).
  EXPECT_TRUE(svr::krylov_svd(M, {100, 1e-10, 400, 1e6}, &why).has_value()) << why.reason;
}

TEST(KrylovSvd, DecayingSpectrumStaysWellUnderTheBudget) {
  // Trained layers' top values decay (s_i = (i + 1)^-0.7 here): the default cost rule keeps the
  // Krylov method.
  VectorXd s(400);
  for (Eigen::Index i = 0; i < s.size(); ++i) s[i] = std::pow(static_cast<double>(i) + 1.0, -0.7);
  const MatrixXd M = with_spectrum(2000, 400, s, 61);
  svr::KrylovGiveUp why;
  const auto result = svr::krylov_svd(M, {10, 1e-10, 400}, &why);
  ASSERT_TRUE(result.has_value()) << why.reason;
  expect_matches_full(M, *result, 10);
}

TEST(KrylovSvd, Deterministic) {
  const MatrixXd M = random_matrix(250, 100, 43);
  const auto a = krylov(M, 9);
  const auto b = krylov(M, 9);
  EXPECT_EQ(a.spectrum.s, b.spectrum.s);
  EXPECT_EQ(a.spectrum.U, b.spectrum.U);
  EXPECT_EQ(a.spectrum.V, b.spectrum.V);
  EXPECT_EQ(a.report.iterations, b.report.iterations);
}

TEST(KrylovSvd, BadArguments) {
  const MatrixXd M = random_matrix(30, 20, 47);
  EXPECT_THROW(svr::krylov_svd(M, {0, 1e-10, 10}), std::invalid_argument);
  EXPECT_THROW(svr::krylov_svd(M, {20, 1e-10, 10}), std::invalid_argument);
  EXPECT_THROW(svr::krylov_svd(M, {5, 0.0, 10}), std::invalid_argument);
  MatrixXd bad = M;
  bad(3, 4) = std::nan("");
  EXPECT_THROW(svr::krylov_svd(bad, {5, 1e-10, 10}), svr::NumericalError);
}

TEST(TruncatedOrFullSvd, FullWhenKIsNotBelowTheRank) {
  const MatrixXd M = random_matrix(30, 20, 53);
  for (std::optional<std::int64_t> K :
       {std::optional<std::int64_t>{}, std::optional<std::int64_t>{20},
        std::optional<std::int64_t>{50}}) {
    const svr::TruncatedSvdResult got = svr::truncated_or_full_svd(M, K);
    EXPECT_EQ(got.report.method, "lapack-full");
    EXPECT_TRUE(got.report.fallback.empty());
    EXPECT_EQ(got.spectrum.s, svr::thin_svd(M).s);
  }
}

TEST(TruncatedOrFullSvd, KrylovWhenKIsBelowTheRank) {
  // Large enough for the Krylov method to cost less than the full SVD.
  const MatrixXd M = with_spectrum(1500, 300, geometric(300, 0.9), 59);
  const svr::TruncatedSvdResult got = svr::truncated_or_full_svd(M, 8);
  EXPECT_EQ(got.report.method, "lapack-krylov");
  EXPECT_TRUE(got.report.fallback.empty());
  expect_matches_full(M, got, 8);
}

// ----- the bottom K (krylov_bottom_svd) -----------------------------------------------------

// The bottom K against the full SVD's last K columns: values to 1e-10 s_max (the full SVD's own
// absolute accuracy is ~1e-15 s_max), s_max itself, orthonormal vectors, the true residual
// relative to s_max, and the projector of every complete cluster of equal values (a vector's
// error is about residual / gap, hence 1e-6 for gaps >= 1e-3 s_max).
void expect_matches_full_bottom(const MatrixXd& M, const svr::BottomSvdResult& got,
                                Eigen::Index K) {
  const svr::Spectrum full = svr::thin_svd(M);
  const Eigen::Index n = full.s.size();
  const svr::Spectrum& sp = got.spectrum;
  ASSERT_EQ(sp.s.size(), K);
  ASSERT_EQ(sp.U.rows(), M.rows());
  ASSERT_EQ(sp.U.cols(), K);
  ASSERT_EQ(sp.V.rows(), M.cols());
  ASSERT_EQ(sp.V.cols(), K);
  const double s_max = full.s[0];
  EXPECT_NEAR(got.s_max, s_max, 1e-12 * s_max);
  for (Eigen::Index i = 0; i < K; ++i) {
    EXPECT_LE(std::abs(sp.s[i] - full.s[n - K + i]), 1e-10 * s_max) << "i = " << i;
    if (i > 0) EXPECT_LE(sp.s[i], sp.s[i - 1]);
  }
  const MatrixXd I = MatrixXd::Identity(K, K);
  EXPECT_LE((sp.U.transpose() * sp.U - I).norm(), 1e-9);
  EXPECT_LE((sp.V.transpose() * sp.V - I).norm(), 1e-9);
  ASSERT_TRUE(got.report.residual.has_value());
  EXPECT_LE(*got.report.residual, 1e-10);
  EXPECT_NEAR(svr::svd_residual(M, sp, s_max), *got.report.residual, 1e-14);
  EXPECT_EQ(got.report.method, "lapack-qr-krylov");

  svr::test::expect_cluster_projectors(sp.U, sp.V, full.U, full.s, full.V, n - K);
}

svr::BottomSvdResult bottom(const MatrixXd& M, std::int64_t K) {
  svr::KrylovGiveUp why;
  auto result =
      svr::krylov_bottom_svd(M, {K, 1e-10, 400, std::numeric_limits<double>::infinity()}, &why);
  if (!result) ADD_FAILURE() << "krylov_bottom_svd gave up: " << why.reason;
  return result ? *result : svr::BottomSvdResult{};
}

TEST(KrylovBottomSvd, SeparatedSpectrumTall) {
  const MatrixXd M = with_spectrum(300, 120, geometric(120, 0.95), 71);
  expect_matches_full_bottom(M, bottom(M, 10), 10);
}

TEST(KrylovBottomSvd, SeparatedSpectrumWide) {
  const MatrixXd M = with_spectrum(90, 260, geometric(90, 0.93), 73);
  expect_matches_full_bottom(M, bottom(M, 7), 7);
}

TEST(KrylovBottomSvd, GaussianMatrix) {
  // The smallest values of a Gaussian matrix are its most crowded relative to their size.
  const MatrixXd M = random_matrix(320, 200, 79);
  expect_matches_full_bottom(M, bottom(M, 12), 12);
}

TEST(KrylovBottomSvd, NearKernelCluster) {
  // Batch normalisation's near-kernel: a few values equal and far below the rest. K takes the
  // whole cluster and the value above it.
  VectorXd s = geometric(150, 0.98);
  s.tail(6).setConstant(2e-4);
  const MatrixXd M = with_spectrum(400, 150, s, 83);
  expect_matches_full_bottom(M, bottom(M, 7), 7);
}

TEST(KrylovBottomSvd, NearKernelFarBelowTheRestOfTheBottomK) {
  // A near-kernel at 1e-7 s_max under kept values at 1e-3 and 2e-3: on R^-1 the kept values
  // spread by 2e4, and each triplet's residual relative to its own value cannot fall below about
  // eps (2e4)^2 = 9e-8 (the method stalled there and fell back to the full SVD). R's own
  // residual, which the tolerance is about, converges.
  VectorXd s = geometric(150, 0.98);
  s.tail(5) << 2e-3, 1e-3, 1e-7, 1e-7, 1e-7;
  const MatrixXd M = with_spectrum(300, 150, s, 97);
  const svr::BottomSvdResult got = bottom(M, 5);
  expect_matches_full_bottom(M, got, 5);
  EXPECT_LE(got.report.iterations, 20);
}

TEST(KrylovBottomSvd, SquareMatrixAtEveryK) {
  const MatrixXd M = with_spectrum(120, 120, geometric(120, 0.96), 89);
  for (std::int64_t K : {1, 2, 30, 119}) {
    SCOPED_TRACE(K);
    svr::KrylovGiveUp why;
    const auto got = svr::krylov_bottom_svd(M, {K, 1e-10, 400, 8.0}, &why);
    ASSERT_TRUE(got.has_value()) << why.reason;
    expect_matches_full_bottom(M, *got, K);
  }
}

TEST(KrylovBottomSvd, SingularMatrixGivesUp) {
  // Rank 40 of 60: zero singular values have no unique vectors (the full SVD picks a basis).
  const MatrixXd M = random_matrix(100, 40, 97) * random_matrix(40, 60, 101);
  svr::KrylovGiveUp why;
  const double no_limit = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(svr::krylov_bottom_svd(M, {5, 1e-10, 400, no_limit}, &why).has_value());
  EXPECT_NE(why.reason.find("numerically singular"), std::string::npos) << why.reason;
  EXPECT_FALSE(why.cost);
}

TEST(KrylovBottomSvd, CostsLessThanTheFullSvdOnALongMatrix) {
  // dgeqrf is about 2.5 times cheaper than dgesdd on a long matrix: the default budget (the
  // full SVD's cost) holds, a tenth of it does not.
  const MatrixXd M = with_spectrum(2000, 200, geometric(200, 0.97), 103);
  svr::KrylovGiveUp why;
  const auto got = svr::krylov_bottom_svd(M, {8, 1e-10, 400, 1.0}, &why);
  ASSERT_TRUE(got.has_value()) << why.reason;
  expect_matches_full_bottom(M, *got, 8);
  EXPECT_FALSE(svr::krylov_bottom_svd(M, {8, 1e-10, 400, 0.1}, &why).has_value());
  EXPECT_TRUE(why.cost) << why.reason;
}

TEST(KrylovBottomSvd, SinglePrecisionRunsInFloatToItsTolerance) {
  // sgeqrf, strsm and float blocks on well-conditioned matrices (s_max / s_min about 5): the
  // residual reaches kSingleKrylovTolerance (1e-5 s_max), the values are within float's
  // absolute accuracy of the double SVD's, but not within double's (it really ran in float).
  for (const MatrixXd& M : {with_spectrum(500, 160, geometric(160, 0.99), 113),
                            MatrixXd(with_spectrum(140, 450, geometric(140, 0.988), 127))}) {
    const Eigen::Index K = 6;
    svr::TruncatedSvdSettings limits{K, 1e-10, 400, std::numeric_limits<double>::infinity()};
    limits.precision = svr::SvdPrecision::Single;
    svr::KrylovGiveUp why;
    const auto got = svr::krylov_bottom_svd(M, limits, &why);
    ASSERT_TRUE(got.has_value()) << why.reason;
    const svr::Spectrum full = svr::thin_svd(M);
    EXPECT_NEAR(got->s_max, full.s[0], 1e-5 * full.s[0]);
    EXPECT_EQ(got->spectrum.U.rows(), M.rows());
    EXPECT_EQ(got->spectrum.V.rows(), M.cols());
    expect_in_float(got->report, "lapack-qr-krylov", got->spectrum, full.s.tail(K), full.s[0],
                    1e-12);
  }
  // Ill-conditioned (a near-kernel value at 1e-4 s_max): float's triangular solves cannot reach
  // the tolerance, so the method runs in double, to double's tolerance.
  VectorXd s = geometric(100, 0.97);
  s.tail(3).setConstant(1e-4);
  s[96] = 3e-4;
  const MatrixXd near_kernel = with_spectrum(240, 100, s, 131);
  svr::TruncatedSvdSettings limits{4, 1e-10, 400, std::numeric_limits<double>::infinity()};
  limits.precision = svr::SvdPrecision::Single;
  svr::KrylovGiveUp why;
  const auto in_double = svr::krylov_bottom_svd(near_kernel, limits, &why);
  ASSERT_TRUE(in_double.has_value()) << why.reason;
  EXPECT_EQ(in_double->report.precision, "double");
  expect_matches_full_bottom(near_kernel, *in_double, 4);
  // Beyond float's range: refused in one line.
  MatrixXd huge = random_matrix(60, 40, 137);
  huge(5, 6) = -1e39;
  EXPECT_THROW(svr::krylov_bottom_svd(huge, limits), svr::NumericalError);
}

TEST(KrylovBottomSvd, DeterministicAndBadArguments) {
  const MatrixXd M = with_spectrum(200, 80, geometric(80, 0.9), 107);
  const auto a = bottom(M, 5), b = bottom(M, 5);
  EXPECT_EQ(a.spectrum.s, b.spectrum.s);
  EXPECT_EQ(a.spectrum.U, b.spectrum.U);
  EXPECT_EQ(a.spectrum.V, b.spectrum.V);
  EXPECT_THROW(svr::krylov_bottom_svd(M, {0, 1e-10, 10}), std::invalid_argument);
  EXPECT_THROW(svr::krylov_bottom_svd(M, {80, 1e-10, 10}), std::invalid_argument);
  EXPECT_THROW(svr::krylov_bottom_svd(M, {5, -1.0, 10}), std::invalid_argument);
  MatrixXd bad = M;
  bad(7, 2) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(svr::krylov_bottom_svd(bad, {5, 1e-10, 10}), svr::NumericalError);
}

}  // namespace
