#include "svr/parallel/partition.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace svr {

double LayerPartition::svd_cost(const LayerShape& shape) {
  const double blocks = static_cast<double>(std::max<std::int64_t>(1, shape.blocks));
  const double rows = static_cast<double>(shape.rows) / blocks;
  const double cols = static_cast<double>(shape.cols) / blocks;
  return blocks * rows * cols * std::min(rows, cols);
}

LayerPartition::LayerPartition(const std::vector<LayerShape>& layers, int ranks)
    : LayerPartition(layers,
                     std::vector<double>(static_cast<std::size_t>(std::max(ranks, 0)), 0.0)) {}

LayerPartition::LayerPartition(const std::vector<LayerShape>& layers,
                               const std::vector<double>& initial_load)
    : owner_(layers.size(), 0), load_(initial_load) {
  if (load_.empty()) throw std::invalid_argument("LayerPartition: ranks must be >= 1");
  std::vector<std::size_t> order(layers.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return svd_cost(layers[a]) > svd_cost(layers[b]);
  });
  for (std::size_t layer : order) {
    const auto least = std::min_element(load_.begin(), load_.end());  // first minimum: lowest rank
    owner_[layer] = static_cast<int>(least - load_.begin());
    *least += svd_cost(layers[layer]);
  }
}

std::vector<std::size_t> LayerPartition::layers_of(int rank) const {
  std::vector<std::size_t> mine;
  for (std::size_t layer = 0; layer < owner_.size(); ++layer)
    if (owner_[layer] == rank) mine.push_back(layer);
  return mine;
}

}  // namespace svr
