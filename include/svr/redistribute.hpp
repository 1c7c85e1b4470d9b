#pragma once
// Generic redistribution of a dense matrix between the placements svr uses on one process grid:
// block-cyclic (a DistributedMatrix on the grid) or whole on one grid rank. Each source entry
// (i, j) goes to target entry (row_map(i), col_map(j)), so one routine covers "whole on a rank ->
// grid", "grid -> whole on a rank" (a gather), a change of block size, and row/column
// selections and permutations (e.g. the position-major reordering of the edge weights).
//
// Why not pdgemr2d: it copies contiguous submatrices only, so the position-strided rows of a
// conv factor would need one call per row, and it cannot address a matrix held whole by a rank
// that is not on a grid context of its own. Here both sides compute who sends what from the
// block-cyclic index maps and enumerate entries in the same deterministic order (by source
// column, then source row), so a single MPI_Alltoallv of packed values (no indices) does it.
#include <Eigen/Dense>
#include <cstdint>
#include <functional>

#include "svr/distributed_matrix.hpp"
#include "svr/process_grid.hpp"

namespace svr {

// A global index of the source -> the global index it takes in the target, or -1 to drop it.
// Must be a pure function (every rank evaluates it and must get the same answer) and injective
// on the indices it keeps. An empty std::function is the identity.
using IndexMap = std::function<std::int64_t(std::int64_t)>;

// The source side: the leading rows x cols block (rows, cols: the same on every rank) of either
// `distributed` (a matrix on the grid passed to redistribute, set on every grid rank), or a
// column-major array held whole by grid rank `owner` (data, leading dimension `ld` and
// `data_cols` columns; needed on the owner only). A leading block lets a --max-rank truncation
// or a partly used factor take part without a copy.
struct RedistributionSource {
  const DistributedMatrix* distributed = nullptr;
  const double* data = nullptr;
  std::int64_t ld = 0;
  std::int64_t data_cols = 0;
  int owner = -1;
  std::int64_t rows = 0;
  std::int64_t cols = 0;

  // The whole of m, or its leading rows x cols block.
  static RedistributionSource of(const DistributedMatrix& m);
  static RedistributionSource of(const DistributedMatrix& m, std::int64_t rows, std::int64_t cols);
  // `m` may be nullptr except on `owner`.
  static RedistributionSource whole(const Eigen::MatrixXd* m, int owner, std::int64_t rows,
                                    std::int64_t cols);
};

// The target side, same conventions. Target entries that no source entry maps to keep their
// values.
struct RedistributionTarget {
  DistributedMatrix* distributed = nullptr;
  double* data = nullptr;
  std::int64_t ld = 0;
  std::int64_t data_cols = 0;
  int owner = -1;
  std::int64_t rows = 0;
  std::int64_t cols = 0;

  static RedistributionTarget of(DistributedMatrix& m);
  static RedistributionTarget whole(Eigen::MatrixXd* m, int owner, std::int64_t rows,
                                    std::int64_t cols);
};

// Collective over grid.comm() (no-op on a rank outside the grid). Copies source entry (i, j) to
// target entry (row_map(i), col_map(j)) for every kept pair. Each rank computes its send and
// receive counts from the index maps alone; both are cross-checked with one MPI_Alltoall before
// the single MPI_Alltoallv. Memory: a send buffer of the entries this rank sends and a receive
// buffer of those it receives (O(local size); the whole matrix only on a whole side's owner).
// Throws std::invalid_argument on every rank alike for a bad placement or map (out of range, not
// injective, different on different ranks), svr::Error for an MPI failure, and when one rank
// would send or receive 2^31 or more values (MPI's int counts).
void redistribute(const ProcessGrid& grid, const RedistributionSource& from,
                  const RedistributionTarget& to, const IndexMap& row_map = {},
                  const IndexMap& col_map = {});

// Collective over the grid: the leading rows x cols block of `m` whole on grid rank `dest`,
// 0x0 elsewhere. Only `dest` ever holds more than its own share.
Eigen::MatrixXd gather_leading(const DistributedMatrix& m, std::int64_t rows, std::int64_t cols,
                               int dest);

}  // namespace svr
