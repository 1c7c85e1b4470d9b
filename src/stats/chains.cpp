// Dominant connections: the best chains of significant edges by dynamic programming over the
// layered graph, in O(nodes + edges) rather than by enumerating paths (spec section 5).
#include "svr/stats/chains.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>

namespace svr {
namespace {

struct Best {
  std::int64_t length = 0;  // edges in the best chain ending here
  double weakest = -std::numeric_limits<double>::infinity();
  double pred_weakest = -std::numeric_limits<double>::infinity();
  std::int64_t pred = -1;   // neuron of the previous layer, -1 at a chain start
};

// Is the chain via candidate `c` better than the current `b`? Total order: longer, smaller weakest
// edge, predecessor with the smaller weakest edge, smaller predecessor index. It does not depend
// on the order of the edges in the input.
bool better(const Best& c, const Best& b) {
  if (c.length != b.length) return c.length > b.length;
  if (c.weakest != b.weakest) return c.weakest < b.weakest;
  if (c.pred_weakest != b.pred_weakest) return c.pred_weakest < b.pred_weakest;
  return c.pred >= 0 && (b.pred < 0 || c.pred < b.pred);
}

}  // namespace

std::vector<ChainResult> top_chains(const std::vector<std::int64_t>& layer_sizes,
                                    const std::vector<std::vector<SignificantEdge>>& edges, int k) {
  const std::size_t n_layers = layer_sizes.size();
  if (n_layers == 0 && edges.empty()) return {};
  if (edges.size() + 1 != n_layers) {
    throw std::invalid_argument("top_chains: need one edge list per layer pair (" +
                                std::to_string(n_layers) + " layers, " +
                                std::to_string(edges.size()) + " edge lists)");
  }
  std::vector<std::vector<Best>> best(n_layers);
  std::vector<std::vector<char>> has_out(n_layers);
  for (std::size_t l = 0; l < n_layers; ++l) {
    if (layer_sizes[l] < 0) throw std::invalid_argument("top_chains: negative layer size");
    best[l].resize(static_cast<std::size_t>(layer_sizes[l]));
    has_out[l].assign(static_cast<std::size_t>(layer_sizes[l]), 0);
  }
  for (std::size_t l = 0; l + 1 < n_layers; ++l) {
    for (const auto& e : edges[l]) {
      if (e.from < 0 || e.from >= layer_sizes[l] || e.to < 0 || e.to >= layer_sizes[l + 1] ||
          std::isnan(e.log10_p)) {
        throw std::invalid_argument("top_chains: edge (" + std::to_string(e.to) + ", " +
                                    std::to_string(e.from) + ") of pair " + std::to_string(l) +
                                    " is out of range or has a NaN log10 p");
      }
      const Best& from = best[l][static_cast<std::size_t>(e.from)];
      Best candidate;
      candidate.length = from.length + 1;
      candidate.weakest = std::max(from.weakest, e.log10_p);
      candidate.pred_weakest = from.weakest;
      candidate.pred = e.from;
      Best& to = best[l + 1][static_cast<std::size_t>(e.to)];
      if (better(candidate, to)) to = candidate;
      has_out[l][static_cast<std::size_t>(e.from)] = 1;
    }
  }

  std::vector<ChainResult> chains;
  for (std::size_t l = 0; l < n_layers; ++l) {
    for (std::size_t n = 0; n < best[l].size(); ++n) {
      const Best& b = best[l][n];
      if (has_out[l][n] || b.length < 2) continue;
      ChainResult chain;
      chain.start_layer = static_cast<int>(l - static_cast<std::size_t>(b.length));
      chain.weakest_log10_p = b.weakest;
      chain.neurons.assign(static_cast<std::size_t>(b.length) + 1, 0);
      std::int64_t node = static_cast<std::int64_t>(n);
      for (std::size_t step = 0; step <= static_cast<std::size_t>(b.length); ++step) {
        const std::size_t layer = l - step;
        chain.neurons[static_cast<std::size_t>(b.length) - step] = node;
        node = best[layer][static_cast<std::size_t>(node)].pred;
      }
      chains.push_back(std::move(chain));
    }
  }
  auto rank = [](const ChainResult& x, const ChainResult& y) {
    const auto lx = x.neurons.size(), ly = y.neurons.size();
    return std::tie(ly, x.weakest_log10_p, x.start_layer, x.neurons) <
           std::tie(lx, y.weakest_log10_p, y.start_layer, y.neurons);
  };
  const std::size_t keep = std::min(chains.size(), static_cast<std::size_t>(std::max(k, 0)));
  std::partial_sort(chains.begin(), chains.begin() + static_cast<std::ptrdiff_t>(keep),
                    chains.end(), rank);
  chains.resize(keep);
  return chains;
}

}  // namespace svr
