#pragma once
// Edge weights of a pair whose factors live on different ranks or on a ScaLAPACK grid: the
// distributed counterpart of edge_weights (edges.hpp), so that no rank ever needs the whole
// factor of a layer that was factored on a grid.
#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <vector>

#include "svr/linalg/distributed_matrix.hpp"
#include "svr/linalg/process_grid.hpp"
#include "svr/linalg/redistribute.hpp"

namespace svr {

// Where one factor (U of layer l, or V of layer l+1) lives: whole on one rank (a LAPACK layer),
// block-cyclic on the grid of the computation (a ScaLAPACK layer factored by all its ranks), or
// block-cyclic on a sub-grid of it (a layer factored by one team of ranks; `subgrid` set, and
// `distributed` set only on that team's ranks: nullptr, or a matrix on the team's grid object,
// which is inactive there, on the others). Only the leading `cols` columns take part, so a
// --max-rank truncation needs no copy.
struct FactorPlacement {
  const DistributedMatrix* distributed = nullptr;  // see above
  std::optional<SubgridLayout> subgrid;            // set on every rank for a team's factor
  const Eigen::MatrixXd* whole = nullptr;          // set on `owner` for a whole factor
  int owner = -1;                                  // grid rank holding `whole`; -1 if distributed
  std::int64_t rows = 0;                           // c z_u for U_from, c z_v for V_to
  std::int64_t cols = 0;                           // neurons used: r(l) for U, r(l+1) for V
  // A pair that reads a slice, an offset or a permutation of channels (spec section 7): the
  // factor's own `rows` rows go to the c z rows E uses (row a z + p for channel a at position
  // p; -1: not used). A pure function, the same on every rank. Empty: rows = c z, as they are.
  IndexMap row_map;
};

// How the products of a pair are computed (docs/algorithms.md, "Edge weights of a distributed
// pair"). grid_products: both factors on the grid in position-major order, one pdgemm per
// position pair. automatic: the column method instead when the grid has one process row, one
// factor is dense on the grid itself (no sub-grid, no row map: the stationary factor, whose
// whole columns each rank holds) and the other fits a copy on every rank (at most 256 MiB, twice
// its size when z > 1); each rank then computes the columns of E that its columns of the
// stationary factor give, with local BLAS products and no communication but the copy. When
// both factors qualify, the larger one stays.
enum class EdgeProducts { automatic, grid_products };

// Collective over the grid's communicator (a rank outside the grid gets 0x0 at once).
// E[j, i] = sum_{p < z_u, q < z_v} (sum_{a < c} V_to(a z_v + q, j) U_from(a z_u + p, i))^2,
// r_to x r_from (r = the placements' `cols`), returned whole on grid rank `dest` and 0x0
// elsewhere; the same values as edge_weights on the leading columns, up to rounding.
// How, grid products (src/linalg/distributed_edge_weights.cpp): both factors are redistributed
// (redistribute.hpp) onto the grid in position-major row order with block size `block`, then
// one pdgemm per (p, q) on row blocks, squares accumulated locally, and E redistributed to dest.
// A dense factor already on the grid itself with block `block` is used in place; a factor on a
// sub-grid is always copied (its team's ranks are not all of the grid). Memory per rank: its
// share of the two reordered factors and of two r_to x r_from matrices; only dest holds all of
// E, and a whole factor's owner sends it from its own copy. The column method
// (column_edge_weights.cpp): memory per rank, the copy and its share of E.
// Throws std::invalid_argument on every rank alike for shapes that do not match c, z_u, z_v,
// a bad dest or block, a placement that is neither (or both) distributed and whole, a whole
// matrix that does not fit its placement (checked on the owner, then agreed), a sub-grid that is
// not inside the grid or whose matrix does not match its layout (subgrid_problem, checked on
// every rank, then agreed), or arguments that differ between ranks; svr::Error for an MPI
// failure.
// With u_norm2 set, also the squared norms of the columns of U_from's used rows, summed by
// group (the consumer group its channel reaches, spec section 7): (*u_norm2)(h, i) on `dest`
// sums U'(a, i)^2 over the used rows a with u_row_group[a] = h (z_u must be 1); an empty
// u_row_group puts every row in group 0.
Eigen::MatrixXd distributed_edge_weights(const ProcessGrid& grid, const FactorPlacement& U_from,
                                         const FactorPlacement& V_to, std::int64_t c,
                                         std::int64_t z_u, std::int64_t z_v, int dest,
                                         std::int64_t block, Eigen::MatrixXd* u_norm2 = nullptr,
                                         const std::vector<int>& u_row_group = {},
                                         EdgeProducts products = EdgeProducts::automatic);

// Whether distributed_edge_weights takes the column method for these (valid, agreed) arguments:
// the same answer on every rank. Not collective.
bool uses_column_method(const ProcessGrid& grid, const FactorPlacement& U_from,
                        const FactorPlacement& V_to, std::int64_t c, std::int64_t z_u,
                        std::int64_t z_v, EdgeProducts products = EdgeProducts::automatic);

}  // namespace svr
