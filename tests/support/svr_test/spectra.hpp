#pragma once
// Matrices with a chosen spectrum for the tests of the SVDs (serial and distributed): the same
// matrix for the same arguments on every rank and platform.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <Eigen/QR>
#include <algorithm>
#include <cmath>

#include "svr_test/random_matrix.hpp"

namespace svr::test {

// rows x cols with singular values s (decreasing) and random orthonormal singular vectors (the
// Q factors of random_matrix(rows, r, seed) and random_matrix(cols, r, seed + 1)).
inline Eigen::MatrixXd with_spectrum(Eigen::Index rows, Eigen::Index cols, const Eigen::VectorXd& s,
                                     unsigned seed) {
  const Eigen::Index r = s.size();
  const Eigen::MatrixXd U =
      Eigen::HouseholderQR<Eigen::MatrixXd>(random_matrix(rows, r, seed)).householderQ() *
      Eigen::MatrixXd::Identity(rows, r);
  const Eigen::MatrixXd V =
      Eigen::HouseholderQR<Eigen::MatrixXd>(random_matrix(cols, r, seed + 1)).householderQ() *
      Eigen::MatrixXd::Identity(cols, r);
  return U * s.asDiagonal() * V.transpose();
}

// 1, ratio, ratio^2, ... (n values): well separated for ratio well below 1.
inline Eigen::VectorXd geometric(Eigen::Index n, double ratio) {
  Eigen::VectorXd s(n);
  for (Eigen::Index i = 0; i < n; ++i) s[i] = std::pow(ratio, static_cast<double>(i));
  return s;
}

// Truncated factors U, V (columns first .. first + K - 1 of the full spectrum) against the full
// SVD (U_full, s_full, V_full): for every complete cluster of values within 1e-8 s_max (the
// pipeline's rule) among those columns, the projectors onto the kept vectors equal the full
// SVD's to 1e-6 (the vectors inside a cluster are any basis of it, and a vector's error is about
// residual / gap: these tests' spectra have gaps >= 1e-3 s_max). Clusters cut by the range are
// skipped.
inline void expect_cluster_projectors(const Eigen::MatrixXd& U, const Eigen::MatrixXd& V,
                                      const Eigen::MatrixXd& U_full, const Eigen::VectorXd& s_full,
                                      const Eigen::MatrixXd& V_full, Eigen::Index first) {
  const Eigen::Index K = U.cols(), n = s_full.size();
  const double tol = 1e-8 * s_full[0];
  const auto tied_to_previous = [&](Eigen::Index a) { return s_full[a - 1] - s_full[a] <= tol; };
  const auto projector = [](const Eigen::MatrixXd& F, Eigen::Index from, Eigen::Index w) {
    return Eigen::MatrixXd(F.middleCols(from, w) * F.middleCols(from, w).transpose());
  };
  Eigen::Index start = first;
  while (start > 0 && start < n && tied_to_previous(start)) ++start;
  while (start < first + K) {
    Eigen::Index end = start + 1;
    while (end < n && tied_to_previous(end)) ++end;
    if (end > first + K) break;
    const Eigen::Index w = end - start, at = start - first;
    EXPECT_LE((projector(U, at, w) - projector(U_full, start, w)).norm(), 1e-6)
        << "cluster " << start << "-" << end - 1;
    EXPECT_LE((projector(V, at, w) - projector(V_full, start, w)).norm(), 1e-6)
        << "cluster " << start << "-" << end - 1;
    start = end;
  }
}

// The top K triplets (U, s, V) of A from a truncated method against A's full SVD `full`: the
// values to 1e-10 s_max, orthonormal vectors, the residual the method reported equal to the true
// max(||A v - s u||, ||A^T u - s v||) / s_1 and within 1e-10, complete clusters as projectors.
inline void expect_top_matches_full(const Eigen::MatrixXd& A, const Eigen::MatrixXd& U,
                                    const Eigen::VectorXd& s, const Eigen::MatrixXd& V,
                                    double reported_residual, const Eigen::MatrixXd& U_full,
                                    const Eigen::VectorXd& s_full, const Eigen::MatrixXd& V_full) {
  const Eigen::Index K = s.size();
  for (Eigen::Index i = 0; i < K; ++i)
    EXPECT_LE(std::abs(s[i] - s_full[i]), 1e-10 * s_full[0]) << "i = " << i;
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(K, K);
  EXPECT_LE((U.transpose() * U - I).norm(), 1e-9);
  EXPECT_LE((V.transpose() * V - I).norm(), 1e-9);
  const double residual =
      std::max((A * V - U * s.asDiagonal()).colwise().norm().maxCoeff(),
               (A.transpose() * U - V * s.asDiagonal()).colwise().norm().maxCoeff()) /
      s[0];
  EXPECT_NEAR(residual, reported_residual, 1e-13);
  EXPECT_LE(reported_residual, 1e-10);
  expect_cluster_projectors(U, V, U_full, s_full, V_full, 0);
}

}  // namespace svr::test
