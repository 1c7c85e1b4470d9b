#pragma once
// Edge weights of a pair whose factors live on different ranks or on a ScaLAPACK grid: the
// distributed counterpart of edge_weights (edges.hpp), so that no rank ever needs the whole
// factor of a layer that was factored on a grid.
#include <Eigen/Dense>
#include <cstdint>

#include "svr/distributed_matrix.hpp"
#include "svr/process_grid.hpp"

namespace svr {

// Where one factor (U of layer l, or V of layer l+1) lives: whole on one rank (a LAPACK layer)
// or block-cyclic on a grid (a ScaLAPACK layer). Only the leading `cols` columns take part,
// so a --max-rank truncation needs no copy.
struct FactorPlacement {
  const DistributedMatrix* distributed = nullptr;  // set on every grid rank for a grid factor
  const Eigen::MatrixXd* whole = nullptr;          // set on `owner` for a whole factor
  int owner = -1;                                  // grid rank holding `whole`; -1 if distributed
  std::int64_t rows = 0;                           // c z_u for U_from, c z_v for V_to
  std::int64_t cols = 0;                           // neurons used: r(l) for U, r(l+1) for V
};

// Collective over the grid's communicator. E[j, i] = sum_{p < z_u, q < z_v}
// (sum_{a < c} V_to(a z_v + q, j) U_from(a z_u + p, i))^2, r_to x r_from, returned whole on grid
// rank `dest` and 0x0 elsewhere. Throws std::invalid_argument (on every rank alike) for shapes
// that do not match c, z_u, z_v.
Eigen::MatrixXd distributed_edge_weights(const ProcessGrid& grid, const FactorPlacement& U_from,
                                         const FactorPlacement& V_to, std::int64_t c,
                                         std::int64_t z_u, std::int64_t z_v, int dest,
                                         std::int64_t block);

}  // namespace svr
