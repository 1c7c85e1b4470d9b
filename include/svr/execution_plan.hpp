#pragma once
// How the SVD of every layer runs: a plain value computed identically on every rank from the
// layer shapes and the options, so no rank has to be told. Small layers are given whole to
// single ranks (LayerPartition, longest processing time first); a layer with
// min(rows, cols) >= scalapack_min_dim is factored by ScaLAPACK on a near-square grid of all
// ranks, the large layers one after the other in layer order.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "svr/grid_shape.hpp"
#include "svr/partition.hpp"

namespace svr {

enum class SvdEngine { Lapack, Scalapack };

struct LayerExecution {
  LayerShape shape;
  double cost = 0.0;   // SVD cost model: rows * cols * min(rows, cols) (LayerPartition::svd_cost)
  double bytes = 0.0;  // doubles of M and its thin factors U, s, V: 8 (rows cols + (rows + cols + 1) r)
  SvdEngine engine = SvdEngine::Lapack;
  int rank = -1;          // Lapack: the rank that reads and factors the whole layer; else -1
  GridShape grid{0, 0};   // Scalapack: the grid (all ranks, grid rank = world rank); else 0x0
};

struct ExecutionPlan {
  int ranks = 1;
  std::int64_t scalapack_min_dim = 0;
  std::int64_t block_size = 0;
  std::vector<LayerExecution> layers;

  // Layers this rank factors alone with LAPACK, in increasing layer order.
  std::vector<std::size_t> lapack_layers_of(int rank) const;
  // Layers factored on a ScaLAPACK grid, in increasing layer order (run in this order).
  std::vector<std::size_t> scalapack_layers() const;
  // Sum of the LAPACK costs given to `rank`.
  double lapack_load_of(int rank) const;
};

// Throws std::invalid_argument for ranks < 1, scalapack_min_dim < 1 or block_size < 1.
ExecutionPlan plan_execution(const std::vector<LayerShape>& shapes, int ranks,
                             std::int64_t scalapack_min_dim, std::int64_t block_size);

// The plan as text for `svr --plan`, one line per layer (names[l] names layer l):
//   "  3/6  features.7.weight  32x288  cost 2.9e+05  0.1 MB  LAPACK on rank 1"
//   "  5/6  classifier.0.weight  4096x25088  cost 4.2e+11  1.6e+03 MB  ScaLAPACK on a 1x2 grid"
// after a header line, and followed by the LAPACK load of every rank.
std::string describe_plan(const ExecutionPlan& plan, const std::vector<std::string>& names);

}  // namespace svr
