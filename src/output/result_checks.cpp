#include "result_checks.hpp"

#include "svr/core/error.hpp"

namespace svr::output {

namespace {

[[noreturn]] void inconsistent(const std::string& path, const std::string& problem) {
  throw OutputError(path + ": inconsistent result (internal error): " + problem);
}

void check_size(const std::string& path, const LayerResult& layer, const char* what,
                std::size_t size) {
  if (static_cast<std::int64_t>(size) != layer.sigma.size()) {
    inconsistent(path, "layer '" + layer.name + "' has " + std::to_string(layer.sigma.size()) +
                           " singular values but " + std::to_string(size) + " " + what);
  }
}

}  // namespace

void check_nodes(const SvrResult& r, const std::string& path) {
  for (const LayerResult& layer : r.layers) {
    check_size(path, layer, "cluster ids", layer.cluster.size());
    check_size(path, layer, "near-kernel flags", layer.near_kernel.size());
    check_size(path, layer, "intensities", layer.intensity.size());
    if (!layer.group.empty()) check_size(path, layer, "groups", layer.group.size());
  }
}

void check_pair_edges(const SvrResult& r, std::size_t k, const std::vector<EdgeRecord>& edges,
                      const std::string& path) {
  const auto n_layers = static_cast<std::int64_t>(r.layers.size());
  const PairResult& pair = r.pairs[k];
  if (pair.from_layer < 0 || pair.to_layer <= pair.from_layer || pair.to_layer >= n_layers) {
    inconsistent(path, "pair " + std::to_string(k) + " joins layers " +
                           std::to_string(pair.from_layer) + " and " +
                           std::to_string(pair.to_layer) + " of " + std::to_string(n_layers));
  }
  const std::int64_t r_from = r.layers[pair.from_layer].sigma.size();
  const std::int64_t r_to = r.layers[pair.to_layer].sigma.size();
  for (const EdgeRecord& edge : edges) {
    if (edge.from_neuron < 0 || edge.from_neuron >= r_from || edge.to_neuron < 0 ||
        edge.to_neuron >= r_to) {
      inconsistent(path, "pair " + std::to_string(k) + " has an edge " +
                             std::to_string(edge.from_neuron) + " -> " +
                             std::to_string(edge.to_neuron) + " outside its " +
                             std::to_string(r_from) + " x " + std::to_string(r_to) + " neurons");
    }
  }
}

void check_edges(const SvrResult& r, const std::string& path) {
  for (std::size_t k = 0; k < r.pairs.size(); ++k) check_pair_edges(r, k, r.pairs[k].edges, path);
}

std::int64_t neuron_id(const LayerResult& layer, std::int64_t i) { return layer.first_neuron + i; }

void add_first_neurons(std::map<std::string, std::string>& metadata, const SvrResult& r) {
  bool any = false;
  std::string list = "[";
  for (std::size_t l = 0; l < r.layers.size(); ++l) {
    any = any || r.layers[l].first_neuron > 0;
    list += (l ? "," : "") + std::to_string(r.layers[l].first_neuron);
  }
  if (any) metadata["first_neurons"] = list + "]";
}

double sigma_rel(double s, double s_max) { return s_max > 0.0 ? s / s_max : 0.0; }

std::string node_id(std::int64_t layer, std::int64_t neuron) {
  return "l" + std::to_string(layer) + "n" + std::to_string(neuron);
}

}  // namespace svr::output
