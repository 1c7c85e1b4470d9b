#pragma once
// Shared helpers of the MPI tests: world rank/size, a reproducible pseudo-random matrix that
// every rank can evaluate entry by entry, and the grids to try at the current process count.
#include <mpi.h>

#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "svr/parallel/grid_shape.hpp"

namespace svr_test {

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline int world_size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// Entry (i, j) of a full-rank pseudo-random matrix in [-1, 1) (splitmix64 of the position).
inline double random_entry(std::int64_t i, std::int64_t j, std::uint64_t seed = 1) {
  std::uint64_t z = (static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ull) ^
                    (static_cast<std::uint64_t>(j) * 0xC2B2AE3D27D4EB4Full) ^ (seed << 32);
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

inline Eigen::MatrixXd random_matrix(std::int64_t rows, std::int64_t cols,
                                     std::uint64_t seed = 1) {
  Eigen::MatrixXd m(rows, cols);
  for (std::int64_t j = 0; j < cols; ++j)
    for (std::int64_t i = 0; i < rows; ++i) m(i, j) = random_entry(i, j, seed);
  return m;
}

// The shapes to exercise with every rank of the world: near-square, 1xP, Px1 (and 2x2 is the
// near-square shape at 4 ranks).
inline std::vector<svr::GridShape> world_shapes() {
  const int p = world_size();
  std::vector<svr::GridShape> shapes{svr::near_square_shape(p)};
  if (p > 1) {
    shapes.push_back({1, p});
    shapes.push_back({p, 1});
  }
  // near_square(2) = 1x2 and near_square(3) = 1x3 repeat 1xP: drop duplicates.
  std::vector<svr::GridShape> unique;
  for (const auto& s : shapes) {
    bool seen = false;
    for (const auto& u : unique) seen = seen || (u.rows == s.rows && u.cols == s.cols);
    if (!seen) unique.push_back(s);
  }
  return unique;
}

inline std::string shape_name(svr::GridShape s) {
  return std::to_string(s.rows) + "x" + std::to_string(s.cols);
}

}  // namespace svr_test
