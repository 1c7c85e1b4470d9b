#pragma once
// Matrices with a chosen spectrum for the tests of the SVDs (serial and distributed): the same
// matrix for the same arguments on every rank and platform.
#include <Eigen/Dense>
#include <Eigen/QR>
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

}  // namespace svr::test
