#pragma once
// How the SVD of every layer runs: a plain value computed identically on every rank from the
// layer shapes and the options, so no rank has to be told. Small layers are given whole to
// single ranks (LayerPartition, longest processing time first); a layer with
// min(rows, cols) >= scalapack_min_dim is factored by ScaLAPACK on a near-square grid of all
// ranks, the large layers one after the other in layer order. Each pair of consecutive layers
// gets an owner rank that ends up with its edge weights E and computes its statistics
// (docs/algorithms.md, "Distributed reduction").
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
  double cost = 0.0;  // SVD cost model: rows * cols * min(rows, cols) (LayerPartition::svd_cost)
  double bytes =
      0.0;  // doubles of M and its thin factors U, s, V: 8 (rows cols + (rows + cols + 1) r)
  SvdEngine engine = SvdEngine::Lapack;
  int rank = -1;         // Lapack: the rank that reads and factors the whole layer; else -1
  GridShape grid{0, 0};  // Scalapack: the grid (all ranks, grid rank = world rank); else 0x0
};

// Who computes the edge weights E of the pair (l, l+1), and how. Both layers LAPACK: the owner
// of one of them computes E serially after receiving the other's factor (the smaller one of
// U_l, V_l+1 travels; none if one rank owns both). A pair touching a ScaLAPACK layer: E by
// distributed_edge_weights on the grid, delivered whole to the owner (the LAPACK layer's rank,
// or, both on the grid, the rank holding the fewest E entries so far).
struct PairExecution {
  int owner = 0;
  bool distributed = false;  // E computed on the ScaLAPACK grid
  int sender = -1;           // both LAPACK: the rank that sends its factor to owner; else -1
  bool sends_u = false;      // sender sends U_l (true) or V_l+1 (false)
  double e_entries = 0.0;    // r(l+1) r(l) without --max-rank: the owner's share of the work
};

struct ExecutionPlan {
  int ranks = 1;
  std::int64_t scalapack_min_dim = 0;
  std::int64_t block_size = 0;
  std::vector<LayerExecution> layers;
  std::vector<PairExecution> pairs;  // pairs[l] joins layers l and l+1

  // Pairs whose E ends up on `rank`, in increasing pair order.
  std::vector<std::size_t> pairs_of(int rank) const;

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
// after a header line, and followed by the LAPACK load of every rank and one line per pair:
//   "  pair 2/5  E 32x16 on rank 1 (LAPACK; U of layer 2 from rank 0)"
std::string describe_plan(const ExecutionPlan& plan, const std::vector<std::string>& names);

}  // namespace svr
