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
  int pred_layer = -1;      // layer and neuron of the previous node, -1 at a chain start
  std::int64_t pred = -1;
};

// Is the chain via candidate `c` better than the current `b`? Total order: longer, smaller weakest
// edge, predecessor with the smaller weakest edge, predecessor of the smaller (layer, neuron).
// It does not depend on the order of the edges in the input.
bool better(const Best& c, const Best& b) {
  if (c.length != b.length) return c.length > b.length;
  if (c.weakest != b.weakest) return c.weakest < b.weakest;
  if (c.pred_weakest != b.pred_weakest) return c.pred_weakest < b.pred_weakest;
  if (c.pred < 0) return false;
  return b.pred < 0 || std::tie(c.pred_layer, c.pred) < std::tie(b.pred_layer, b.pred);
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
  std::vector<std::pair<int, int>> pairs;
  for (std::size_t l = 0; l + 1 < n_layers; ++l)
    pairs.emplace_back(static_cast<int>(l), static_cast<int>(l + 1));
  return top_chains(layer_sizes, pairs, edges, k);
}

std::vector<ChainResult> top_chains(const std::vector<std::int64_t>& layer_sizes,
                                    const std::vector<std::pair<int, int>>& pairs,
                                    const std::vector<std::vector<SignificantEdge>>& edges, int k) {
  const std::size_t n_layers = layer_sizes.size();
  if (edges.size() != pairs.size())
    throw std::invalid_argument("top_chains: " + std::to_string(edges.size()) +
                                " edge lists for " + std::to_string(pairs.size()) + " pairs");
  std::vector<std::vector<Best>> best(n_layers);
  std::vector<std::vector<char>> has_out(n_layers);
  for (std::size_t l = 0; l < n_layers; ++l) {
    if (layer_sizes[l] < 0) throw std::invalid_argument("top_chains: negative layer size");
    best[l].resize(static_cast<std::size_t>(layer_sizes[l]));
    has_out[l].assign(static_cast<std::size_t>(layer_sizes[l]), 0);
  }
  // A layer's best chains are final once every pair into it is done: pairs by consumer.
  std::vector<std::size_t> order(pairs.size());
  for (std::size_t q = 0; q < order.size(); ++q) order[q] = q;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return pairs[a].second < pairs[b].second;
  });
  for (std::size_t q : order) {
    const auto [from_layer, to_layer] = pairs[q];
    if (from_layer < 0 || to_layer <= from_layer || to_layer >= static_cast<int>(n_layers))
      throw std::invalid_argument("top_chains: pair " + std::to_string(q) + " joins layers " +
                                  std::to_string(from_layer) + " and " + std::to_string(to_layer));
    const auto a = static_cast<std::size_t>(from_layer), b = static_cast<std::size_t>(to_layer);
    for (const auto& e : edges[q]) {
      if (e.from < 0 || e.from >= layer_sizes[a] || e.to < 0 || e.to >= layer_sizes[b] ||
          std::isnan(e.log10_p)) {
        throw std::invalid_argument("top_chains: edge (" + std::to_string(e.to) + ", " +
                                    std::to_string(e.from) + ") of pair " + std::to_string(q) +
                                    " is out of range or has a NaN log10 p");
      }
      const Best& from = best[a][static_cast<std::size_t>(e.from)];
      Best candidate;
      candidate.length = from.length + 1;
      candidate.weakest = std::max(from.weakest, e.log10_p);
      candidate.pred_weakest = from.weakest;
      candidate.pred_layer = from_layer;
      candidate.pred = e.from;
      Best& to = best[b][static_cast<std::size_t>(e.to)];
      if (better(candidate, to)) to = candidate;
      has_out[a][static_cast<std::size_t>(e.from)] = 1;
    }
  }

  std::vector<ChainResult> chains;
  for (std::size_t l = 0; l < n_layers; ++l) {
    for (std::size_t n = 0; n < best[l].size(); ++n) {
      const Best& b = best[l][n];
      if (has_out[l][n] || b.length < 2) continue;
      ChainResult chain;
      chain.weakest_log10_p = b.weakest;
      const auto nodes = static_cast<std::size_t>(b.length) + 1;
      chain.neurons.assign(nodes, 0);
      chain.layers.assign(nodes, 0);
      int layer = static_cast<int>(l);
      std::int64_t node = static_cast<std::int64_t>(n);
      for (std::size_t step = 0; step < nodes; ++step) {
        chain.neurons[nodes - 1 - step] = node;
        chain.layers[nodes - 1 - step] = layer;
        const Best& here = best[static_cast<std::size_t>(layer)][static_cast<std::size_t>(node)];
        layer = here.pred_layer;
        node = here.pred;
      }
      chain.start_layer = chain.layers.front();
      chains.push_back(std::move(chain));
    }
  }
  auto rank = [](const ChainResult& x, const ChainResult& y) {
    const auto lx = x.neurons.size(), ly = y.neurons.size();
    return std::tie(ly, x.weakest_log10_p, x.start_layer, x.layers, x.neurons) <
           std::tie(lx, y.weakest_log10_p, y.start_layer, y.layers, y.neurons);
  };
  const std::size_t keep = std::min(chains.size(), static_cast<std::size_t>(std::max(k, 0)));
  std::partial_sort(chains.begin(), chains.begin() + static_cast<std::ptrdiff_t>(keep),
                    chains.end(), rank);
  chains.resize(keep);
  return chains;
}

}  // namespace svr
