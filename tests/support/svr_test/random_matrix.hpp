#pragma once
// A reproducible Gaussian matrix for the serial linear-algebra tests.
#include <Eigen/Dense>
#include <random>

namespace svr::test {

// rows x cols of N(0, 1), filled column by column from a 64-bit Mersenne twister seeded `seed`.
inline Eigen::MatrixXd random_matrix(Eigen::Index rows, Eigen::Index cols, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j)
    for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = normal(rng);
  return m;
}

}  // namespace svr::test
