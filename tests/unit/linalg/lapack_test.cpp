// The typed LAPACK wrappers and the checked integer narrowing.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <limits>

#include "svr/core/error.hpp"
#include "svr/linalg/lapack.hpp"

namespace {

TEST(ToLapackInt, PassesValuesThatFit) {
  EXPECT_EQ(svr::to_lapack_int(0), 0);
  EXPECT_EQ(svr::to_lapack_int(4096), 4096);
  EXPECT_EQ(svr::to_lapack_int(std::numeric_limits<svr::lapack_int>::max()),
            std::numeric_limits<svr::lapack_int>::max());
}

TEST(ToLapackInt, ThrowsOnOverflow) {
  if (sizeof(svr::lapack_int) >= sizeof(std::int64_t)) GTEST_SKIP() << "ILP64 LAPACK";
  const std::int64_t too_big = std::int64_t{std::numeric_limits<svr::lapack_int>::max()} + 1;
  EXPECT_THROW(svr::to_lapack_int(too_big), svr::NumericalError);
  EXPECT_THROW(svr::to_lapack_int(std::int64_t{1} << 40), svr::NumericalError);
  EXPECT_THROW(svr::to_lapack_int(std::numeric_limits<std::int64_t>::min()), svr::NumericalError);
}

TEST(LapackWrappers, GesddAndGesvdAgree) {
  Eigen::MatrixXd M(4, 3);
  M << 1, 2, 3,
       4, 5, 6,
       7, 8, 10,
       -1, 0, 2;
  Eigen::MatrixXd a = M, b = M;
  Eigen::VectorXd s1(3), s2(3);
  Eigen::MatrixXd u1(4, 3), u2(4, 3), vt1(3, 3), vt2(3, 3);
  svr::lapack::gesdd('S', 4, 3, a.data(), 4, s1.data(), u1.data(), 4, vt1.data(), 3);
  svr::lapack::gesvd('S', 'S', 4, 3, b.data(), 4, s2.data(), u2.data(), 4, vt2.data(), 3);
  EXPECT_LE((s1 - s2).cwiseAbs().maxCoeff(), 1e-12 * s1(0));
  EXPECT_LE((u1 * s1.asDiagonal() * vt1 - M).norm(), 1e-12 * M.norm());
  EXPECT_LE((u2 * s2.asDiagonal() * vt2 - M).norm(), 1e-12 * M.norm());
}

TEST(LapackError, MessageNamesRoutineAndInfo) {
  const svr::LapackError error("dgesdd", 3);
  const std::string what = error.what();
  EXPECT_NE(what.find("dgesdd"), std::string::npos);
  EXPECT_NE(what.find("info = 3"), std::string::npos);
  EXPECT_EQ(error.info(), 3);
  // It is a NumericalError, so the application reports it like any numerical failure.
  EXPECT_THROW(throw svr::LapackError("dgesvd", -4), svr::NumericalError);
}

}  // namespace

namespace {

TEST(LapackWrappers, IllegalArgumentThrowsLapackErrorWithNegativeInfo) {
  // lda = 1 < m = 4 is illegal (argument 5 of dgesdd).
  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(4, 3);
  Eigen::VectorXd s(3);
  Eigen::MatrixXd u(4, 3), vt(3, 3);
  try {
    svr::lapack::gesdd('S', 4, 3, a.data(), 1, s.data(), u.data(), 4, vt.data(), 3);
    FAIL() << "no exception";
  } catch (const svr::LapackError& error) {
    EXPECT_LT(error.info(), 0);
    EXPECT_NE(std::string(error.what()).find("dgesdd"), std::string::npos);
  }
}

}  // namespace

namespace {

TEST(LapackWrappers, SyevdDecomposesASymmetricMatrix) {
  Eigen::MatrixXd S(4, 4);
  S << 4, 1, -2, 0.5,
       1, 3, 0, 1,
       -2, 0, 5, -1,
       0.5, 1, -1, 2;
  Eigen::MatrixXd a = S;
  Eigen::VectorXd w(4);
  svr::lapack::syevd('V', 'L', 4, a.data(), 4, w.data());
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> reference(S);
  EXPECT_LE((w - reference.eigenvalues()).cwiseAbs().maxCoeff(), 1e-12 * w.cwiseAbs().maxCoeff());
  for (int i = 0; i < 3; ++i) EXPECT_LE(w(i), w(i + 1));  // ascending
  EXPECT_LE((S * a - a * w.asDiagonal()).norm(), 1e-12 * S.norm());
  EXPECT_LE((a.transpose() * a - Eigen::MatrixXd::Identity(4, 4)).norm(), 1e-12);
}

TEST(LapackWrappers, SyevdRejectsABadLeadingDimension) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Identity(3, 3);
  Eigen::VectorXd w(3);
  try {
    svr::lapack::syevd('V', 'L', 3, a.data(), 2, w.data());
    FAIL() << "no error for lda < n";
  } catch (const svr::LapackError& error) {
    EXPECT_LT(error.info(), 0);
    EXPECT_NE(std::string(error.what()).find("dsyevd"), std::string::npos);
  }
}

}  // namespace
