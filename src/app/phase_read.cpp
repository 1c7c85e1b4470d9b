#include "svr/app/phase_read.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "svr/core/error.hpp"
#include "svr/core/fault_injection.hpp"
#include "svr/network/topology.hpp"
#include "svr/parallel/memory_budget.hpp"

namespace svr {
namespace {

// Layer results without the factors: the part of the answer that every rank can fill itself.
LayerResult describe_layer(const LayerSpec& spec, const LayerReadOptions& read) {
  const Method method = read.method;
  LayerResult layer;
  layer.name = spec.name;
  layer.kind = spec.kind_name();
  layer.tensor_shape = spec.shape;
  layer.rows = spec.rows(method);
  layer.cols = spec.cols(method);
  layer.groups = static_cast<int>(spec.groups);
  layer.full_rank = spec.groups > 1 ? spec.groups * std::min(layer.rows / spec.groups,
                                                             layer.cols / spec.groups)
                                    : std::min(layer.rows, layer.cols);
  if (spec.bn) layer.folded_bn = spec.bn->prefix;
  if (read.batchnorm == BatchNormMode::Fold) layer.folded_input_scale = spec.input_scale;
  return layer;
}

// --export-topology: the network's topology file, named after where it comes from.
void write_topology_file(const RunPlans& plans, const Options& options) {
  const std::string source =
      plans.network.family.empty() ? options.model_path
                                   : options.model_path + " (" + plans.network.family + ")";
  std::ofstream out(options.export_topology, std::ios::binary | std::ios::trunc);
  out << topology_json(plans.network, source).dump(1) << "\n";
  out.close();
  if (!out)
    throw OutputError(options.export_topology + ": cannot write the topology file (--export-topology)");
}

}  // namespace

RunPlans read_phase(const Options& options, const mpi::Communicator& comm) {
  RunPlans plans;
  // The same number on every rank (collective), so every rank plans the same teams.
  plans.memory_budget = options.execution.memory_per_rank_mb > 0.0
                            ? options.execution.memory_per_rank_mb * 1024.0 * 1024.0
                            : detect_memory_per_rank(comm);
  mpi::agreed(comm, [&] {
    inject_failure_point("read", comm.rank());
    plans.model = open_model(options.model_path);
    add_layout_views(plans.model);
    plans.network = plan_network(plans.model, options.network);
    std::vector<LayerShape> shapes;
    for (const LayerSpec& spec : plans.network.layers)
      shapes.push_back({spec.rows(options.method()), spec.cols(options.method()), spec.groups});
    if (options.min_rank) {
      // A K that no layer's rank exceeds keeps every spectral neuron: surely not what was meant.
      std::int64_t largest = 0;
      for (const LayerShape& shape : shapes)
        largest = std::max(
            largest, shape.blocks * std::min(shape.rows / shape.blocks, shape.cols / shape.blocks));
      if (*options.min_rank >= largest)
        throw InputError("command line: --min-rank " + std::to_string(*options.min_rank) +
                         " is not below the rank of any layer of " + options.model_path +
                         " (the largest is " + std::to_string(largest) +
                         "): it would keep every spectral neuron");
    }
    std::vector<PairLayers> pairs;
    for (const PairSpec& pair : plans.network.pairs) pairs.push_back({pair.from, pair.to});
    GridPolicy policy{options.execution.max_grids,
                      plans.memory_budget,
                      options.execution.min_local_elements,
                      options.execution.split_min_dim,
                      {},
                      options.save_spectra};
    // The teams are sized for what the SVDs keep and work with: the truncated method's K
    // triplets and basis, not the full SVD's (which --full-svd runs before keeping K).
    const std::optional<std::int64_t> K = options.max_rank ? options.max_rank : options.min_rank;
    if (K && !options.full_svd)
      policy.truncation = Truncation{*K, !options.max_rank,
                                     options.max_rank && options.precision == SvdPrecision::Single};
    plans.execution =
        plan_execution(shapes, pairs, comm.size(), options.execution.scalapack_min_dim,
                       options.execution.block_size, policy);
    if (!plans.execution.budget_warning.empty() && options.execution.memory_per_rank_mb > 0.0)
      throw InputError("plan: " + plans.execution.budget_warning +
                       " (--memory-per-rank); run on more ranks or raise the budget");
  });
  mpi::agreed(comm, [&] {
    if (comm.is_root() && !options.export_topology.empty()) write_topology_file(plans, options);
  });
  if (comm.is_root() && !plans.execution.budget_warning.empty())
    std::fprintf(stderr, "svr: warning: %s (detected; --memory-per-rank sets it)\n",
                 plans.execution.budget_warning.c_str());
  return plans;
}

void describe_plans(const RunPlans& plans, const Options& options, SvrResult& result) {
  result.run.input_format = plans.model.format;
  result.run.memory_budget_mb = plans.memory_budget / (1024.0 * 1024.0);
  for (const LayerExecution& how : plans.execution.layers)
    result.run.placements.push_back(
        how.engine == SvdEngine::Lapack
            ? LayerPlacement{"lapack", how.rank, 0, 0, -1}
            : LayerPlacement{"scalapack", how.first_rank, how.grid.rows, how.grid.cols, how.team});
  for (const LayerSpec& spec : plans.network.layers)
    result.layers.push_back(describe_layer(spec, options.network.read));
  result.network.source = plans.network.source;
  result.network.family = plans.network.family;
  if (plans.network.source == "topology") result.network.topology = options.network.topology;
  for (std::size_t l = 0; l < plans.network.pairs.size(); ++l) {
    const PairSpec& geometry = plans.network.pairs[l];
    result.network.graph = result.network.graph || geometry.from != static_cast<int>(l) ||
                           geometry.to != static_cast<int>(l + 1);
    PairResult pair;
    pair.from_layer = geometry.from;
    pair.to_layer = geometry.to;
    pair.map = to_string(geometry.map.kind);
    pair.channels_read = geometry.map.count;
    pair.c = geometry.c;
    pair.z_u = geometry.z_u;
    pair.z_v = geometry.z_v;
    pair.z = options.method() == Method::Svr ? pair.z_v : pair.z_u;
    const PairNull null = pair_null(geometry, options.method());
    if (null.c != pair.c || null.z != pair.z) {
      pair.null_c = null.c;
      pair.null_z = null.z;
    }
    pair.scaled = null.divide;
    result.pairs.push_back(std::move(pair));
  }
}

std::string plan_text(const RunPlans& plans, const Options& options) {
  const NetworkPlan& network = plans.network;
  std::vector<std::string> names, labels;
  for (const LayerSpec& spec : network.layers) names.push_back(spec.name);
  std::map<std::string, int> kinds;
  bool chain = true;
  for (std::size_t k = 0; k < network.pairs.size(); ++k) {
    const PairSpec& pair = network.pairs[k];
    chain = chain && pair.from == static_cast<int>(k) && pair.to == static_cast<int>(k + 1);
    ++kinds[to_string(pair.map.kind)];
    // Which channels a split or concat reads, and where: a head of --attention-heads split.
    const ChannelMap& map = pair.map;
    const std::string where = map.kind == MapKind::Split
                                  ? " [" + std::to_string(map.first) + ", " +
                                        std::to_string(map.first + map.count) + ") at " +
                                        std::to_string(map.offset)
                              : map.kind == MapKind::Concat ? " at " + std::to_string(map.offset)
                                                            : "";
    labels.push_back(names[static_cast<std::size_t>(pair.from)] + " -> " +
                     names[static_cast<std::size_t>(pair.to)] + " (" + to_string(map.kind) + where +
                     ")");
  }
  const std::string shape = chain ? "a chain" : "a graph";
  std::string source =
      network.source == "family"     ? network.family + ", recognised from the names"
      : network.source == "topology" ? shape + " from the topology file " + options.network.topology
      : network.source == "layers"   ? shape + " of the layers of --layers"
      : network.source == "metadata" ? shape + " of the model's svr.layers metadata"
      : network.source == "onnx"     ? shape + " read from the ONNX model"
                                     : shape + " found from the names and shapes";
  std::string counts;
  for (const auto& [kind, n] : kinds) counts += (counts.empty() ? "" : ", ") + kind + " " + std::to_string(n);
  std::string ends;
  for (const std::string& end : network.flow_ends)
    ends += "  the flow from the layers ends at " + end + "\n";
  for (const std::string& out : network.left_out) ends += "  left out: " + out + "\n";
  return "network: " + source + "; " + std::to_string(network.layers.size()) + " layers, " +
         std::to_string(network.pairs.size()) +
         (network.pairs.size() == 1 ? " pair (" : " pairs (") + counts + ")\n" + ends +
         describe_plan(plans.execution, names, chain ? std::vector<std::string>{} : labels);
}

}  // namespace svr
