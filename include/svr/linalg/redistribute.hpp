#pragma once
// Generic redistribution of a dense matrix between the placements svr uses on one process grid:
// block-cyclic (a DistributedMatrix on the grid, or on a sub-grid made of a contiguous range of
// its ranks: a team that factored a layer) or whole on one grid rank. Each source entry
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
#include <optional>
#include <string>

#include "svr/linalg/distributed_matrix.hpp"
#include "svr/linalg/process_grid.hpp"

namespace svr {

// A global index of the source -> the global index it takes in the target, or -1 to drop it.
// Must be a pure function (every rank evaluates it and must get the same answer) and injective
// on the indices it keeps. An empty std::function is the identity.
using IndexMap = std::function<std::int64_t(std::int64_t)>;

// A block-cyclic matrix on a sub-grid of the redistribution grid: its processes are grid ranks
// first_rank .. first_rank + shape.size() - 1 of the redistribution grid, in order (row-major:
// sub-grid rank s at (s / shape.cols, s % shape.cols)). Plain values, so a rank outside the
// sub-grid, which has no DistributedMatrix for it, can still describe where its entries are.
struct SubgridLayout {
  GridShape shape{0, 0};
  int first_rank = 0;
  std::int64_t block = 0;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
};

// The layout of m when its grid is ranks first_rank.. of the redistribution grid (m's grid must
// be active where used to build it; the other ranks fill in a SubgridLayout themselves).
SubgridLayout subgrid_layout(const DistributedMatrix& m, int first_rank);

// Why `m` cannot be this rank's part of `layout` on `grid` ("" if it can). Local, not
// collective; assumes the sub-grid range lies inside the grid. Inside the range m must be set,
// on an active grid of layout.shape whose rank is grid.rank() - first_rank, with the layout's
// block, rows and cols; outside it m must be nullptr or on an inactive grid (no entries).
std::string subgrid_problem(const ProcessGrid& grid, const SubgridLayout& layout,
                            const DistributedMatrix* m);

// The source side: the leading rows x cols block (rows, cols: the same on every rank) of either
// `distributed` (a matrix on the grid passed to redistribute, set on every grid rank), or, when
// `subgrid` is set, a matrix with that layout on a sub-grid (`distributed` set on the sub-grid's
// ranks, nullptr elsewhere), or a column-major array held whole by grid rank `owner` (data,
// leading dimension `ld` and `data_cols` columns; needed on the owner only). A leading block
// lets a --max-rank truncation or a partly used factor take part without a copy.
struct RedistributionSource {
  const DistributedMatrix* distributed = nullptr;
  std::optional<SubgridLayout> subgrid;
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
  // The leading rows x cols block of a matrix on a sub-grid; `m` is nullptr on the ranks outside
  // it and set on every rank inside it.
  static RedistributionSource on_subgrid(const DistributedMatrix* m, const SubgridLayout& layout,
                                         std::int64_t rows, std::int64_t cols);
};

// The target side, same conventions. Target entries that no source entry maps to keep their
// values.
struct RedistributionTarget {
  DistributedMatrix* distributed = nullptr;
  std::optional<SubgridLayout> subgrid;
  double* data = nullptr;
  std::int64_t ld = 0;
  std::int64_t data_cols = 0;
  int owner = -1;
  std::int64_t rows = 0;
  std::int64_t cols = 0;

  static RedistributionTarget of(DistributedMatrix& m);
  static RedistributionTarget whole(Eigen::MatrixXd* m, int owner, std::int64_t rows,
                                    std::int64_t cols);
  // The whole of a matrix on a sub-grid (`m`: as for the source).
  static RedistributionTarget on_subgrid(DistributedMatrix* m, const SubgridLayout& layout);
};

// The most values of the source's rows one round of redistribute moves (128 MiB of doubles).
inline constexpr std::int64_t kRedistributePieceDoubles = std::int64_t{1} << 24;

// The source columns of one round: max(1, piece_doubles / source_rows). A round's buffers hold at
// most source_rows times as many values per rank and direction.
std::int64_t redistribute_round_columns(std::int64_t source_rows,
                                        std::int64_t piece_doubles = kRedistributePieceDoubles);

// Collective over grid.comm() (no-op on a rank outside the grid; every grid rank takes part,
// also one outside a side's sub-grid). Copies source entry (i, j) to target entry
// (row_map(i), col_map(j)) for every kept pair. Each rank computes its send and receive counts
// from the index maps alone; the totals are cross-checked with one MPI_Alltoall, then one
// MPI_Alltoallv per round of source columns, max(1, piece_doubles / rows) columns each (the
// same rounds on every rank). Memory: a send and a receive buffer of at most one round's entries
// (at most piece_doubles each, or one column's rows when a column is longer), whatever the
// size of the matrix.
// Throws std::invalid_argument on every rank alike (agreed: mpi::agree) for a bad placement or
// map (out of range, not injective, different on different ranks; a sub-grid not inside the
// grid, a layout that differs between ranks or does not describe the matrix, see
// subgrid_problem) and when one rank would send or receive 2^31 or more values in one round (MPI's
// int counts); svr::Error, agreed, when a rank has no memory for its exchange buffers, and for an
// MPI failure.
void redistribute(const ProcessGrid& grid, const RedistributionSource& from,
                  const RedistributionTarget& to, const IndexMap& row_map = {},
                  const IndexMap& col_map = {},
                  std::int64_t piece_doubles = kRedistributePieceDoubles);

// Collective over the grid: the leading rows x cols block of `m` whole on grid rank `dest`,
// 0x0 elsewhere. Only `dest` ever holds more than its own share.
Eigen::MatrixXd gather_leading(const DistributedMatrix& m, std::int64_t rows, std::int64_t cols,
                               int dest);

}  // namespace svr
