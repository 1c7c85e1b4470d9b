#pragma once
// Consistency checks and small derived values shared by the writers. A failed check is a bug in
// the pipeline, reported as an OutputError naming the file being written rather than as a crash
// or a silently wrong file. Private to svr_output.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "svr/core/results.hpp"

namespace svr::output {

// Every per-neuron vector (cluster, near_kernel, intensity) has one entry per singular value.
void check_nodes(const SvrResult& r, const std::string& path);
// Every pair joins two existing consecutive layers and every edge names existing neurons.
void check_edges(const SvrResult& r, const std::string& path);
// The same for pair k with `edges` (its own, or on its owner every edge of it: --all-edges).
void check_pair_edges(const SvrResult& r, std::size_t k, const std::vector<EdgeRecord>& edges,
                      const std::string& path);

// The number of kept neuron i in the layer's full spectrum (i + first_neuron; --min-rank), as
// every output file names neurons.
std::int64_t neuron_id(const LayerResult& layer, std::int64_t i);
// With --min-rank: metadata["first_neurons"], the JSON array of every layer's first_neuron (the
// full-spectrum number of its first kept neuron); nothing when every layer starts at 0.
void add_first_neurons(std::map<std::string, std::string>& metadata, const SvrResult& r);
// s / s_max, and 0 (not 0/0) for an all-zero layer (s_max == 0).
double sigma_rel(double s, double s_max);

// GraphML node id: "l<layer>n<neuron>".
std::string node_id(std::int64_t layer, std::int64_t neuron);

}  // namespace svr::output
