#pragma once
// Dominant connections (spec sections 5 and 7): maximal chains of significant edges through three
// or more layers along the pairs of the network, found by dynamic programming.
#include <cstdint>
#include <utility>
#include <vector>

#include "svr/core/results.hpp"

namespace svr {

struct SignificantEdge {
  std::int64_t to = 0;    // neuron j of the pair's consumer layer
  std::int64_t from = 0;  // neuron i of the pair's producer layer
  double log10_p = 0;
};

// layer_sizes[l] = r(l); edges[l] = significant edges of pair l (layer l -> l + 1).
// For each node the best chain ending there is the longest, then the one with the smallest weakest
// edge (max log10 p along it); remaining ties prefer the predecessor whose own best chain has the
// smaller weakest edge, then the smaller predecessor index. Candidates are the best chains ending
// at nodes without outgoing significant edge that have >= 2 edges. Returns the top k ranked by
// length (desc), weakest log10 p (asc), start layer (asc), then neuron indices (lexicographic).
// Out-of-range neurons or NaN log10 p throw std::invalid_argument.
std::vector<ChainResult> top_chains(const std::vector<std::int64_t>& layer_sizes,
                                    const std::vector<std::vector<SignificantEdge>>& edges, int k);

// The same along the pairs of a DAG: pairs[q] = (from, to) with from < to, edges[q] its
// significant edges. Layers are processed pair by pair in consumer order; a predecessor tie goes
// to the smaller (layer, neuron). Chains carry their layers; ranked by length, weakest log10 p,
// start layer, layers, neurons. A pair out of range also throws std::invalid_argument.
std::vector<ChainResult> top_chains(const std::vector<std::int64_t>& layer_sizes,
                                    const std::vector<std::pair<int, int>>& pairs,
                                    const std::vector<std::vector<SignificantEdge>>& edges, int k);

}  // namespace svr
