#pragma once
// The local half of distributed_edge_weights' column method (docs/algorithms.md, "Edge weights
// of a distributed pair"): on a grid of one process row every rank holds whole columns of a
// factor X, so with the other factor Y copied to every rank, each rank computes the columns of
// E (or E^T) that belong to its columns of X, with no communication. Private to src/linalg/.
#include <cstdint>

#include "svr/linalg/distributed_matrix.hpp"

namespace svr::column_edges {

// A column-major matrix held whole by every rank (the copied factor), not owned.
struct View {
  const double* data = nullptr;
  std::int64_t ld = 1, rows = 0, cols = 0;
};

// The bytes every rank spends on a copy of a c z x cols factor: the copy, and when z > 1 its
// position-major rearrangement as well.
double copy_bytes(std::int64_t rows, std::int64_t cols, std::int64_t z);

// M(k, j) += sum_{p < z_x, q < z_y} (sum_{a < c} Y(a z_y + q, k) X(a z_x + p, j))^2 for the
// local columns j of M. X is c z_x x (at least M.cols()) on a grid of one process row, M is
// Y.cols x M.cols() on the same grid with X's block, so that M's local column l is X's local
// column l. Local: no communication. Works in chunks of at most 256 columns and 32 MiB of
// buffers.
void accumulate(const DistributedMatrix& X, std::int64_t z_x, const View& Y, std::int64_t z_y,
                std::int64_t c, DistributedMatrix& M);

}  // namespace svr::column_edges
