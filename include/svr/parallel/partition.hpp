#pragma once
// Which rank computes which layer: a plain value, computed identically on every rank from the
// same layer shapes, so no rank ever has to be told.
#include <cstdint>
#include <vector>

namespace svr {

struct LayerShape {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  // A block-diagonal matrix (a grouped convolution) of `blocks` diagonal blocks: factored block
  // by block on one rank, at the blocks' cost, never on a ScaLAPACK grid.
  std::int64_t blocks = 1;
};

class LayerPartition {
 public:
  // Longest processing time first: layers sorted by SVD cost (rows*cols*min(rows,cols)), each
  // given to the currently least-loaded rank (ties: lower rank, then lower layer index).
  LayerPartition(const std::vector<LayerShape>& layers, int ranks);
  // The same, starting from loads the ranks already carry (initial_load[r], one per rank).
  LayerPartition(const std::vector<LayerShape>& layers, const std::vector<double>& initial_load);

  int owner(std::size_t layer) const { return owner_[layer]; }
  std::vector<std::size_t> layers_of(int rank) const;
  double load_of(int rank) const { return load_[rank]; }
  int ranks() const { return static_cast<int>(load_.size()); }

  static double svd_cost(const LayerShape& shape);

 private:
  std::vector<int> owner_;
  std::vector<double> load_;
};

}  // namespace svr
