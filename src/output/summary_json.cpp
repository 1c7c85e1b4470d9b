// summary.json: everything about the run that is not per neuron or per edge.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "result_checks.hpp"
#include "svr/output/summary_json.hpp"
#include "svr/output/text_file.hpp"

namespace svr {

namespace {

using Json = nlohmann::ordered_json;

constexpr int kSchemaVersion = 1;

// JSON has no inf or NaN: a non-finite double (e.g. the log10 path metric of a network whose
// paths all vanish, -inf) is written as null, as docs/output-formats.md says.
Json number(double x) { return std::isfinite(x) ? Json(x) : Json(nullptr); }

Json layer_json(std::size_t index, const LayerResult& layer) {
  Json j;
  j["index"] = index;
  j["name"] = layer.name;
  j["kind"] = layer.kind;
  j["tensor_shape"] = layer.tensor_shape;
  j["matrix_shape"] = {layer.rows, layer.cols};
  j["groups"] = layer.groups;
  j["rank"] = layer.full_rank;
  j["kept"] = layer.sigma.size();
  j["first_neuron"] = layer.first_neuron;
  const bool empty = layer.sigma.size() == 0;
  j["s_max"] = empty ? Json(nullptr) : number(layer.largest_singular_value());
  j["s_min"] = empty ? Json(nullptr) : number(layer.sigma.minCoeff());
  j["near_kernel_count"] = layer.near_kernel_count();
  j["folded_bn"] = layer.folded_bn.empty() ? Json(nullptr) : Json(layer.folded_bn);
  j["folded_input_scale"] =
      layer.folded_input_scale.empty() ? Json(nullptr) : Json(layer.folded_input_scale);
  Json svd;
  svd["method"] = layer.svd.method.empty() ? Json(nullptr) : Json(layer.svd.method);
  svd["precision"] = layer.svd.precision;
  svd["iterations"] = layer.svd.iterations;
  svd["residual"] = layer.svd.residual ? number(*layer.svd.residual) : Json(nullptr);
  svd["fallback"] = layer.svd.fallback.empty() ? Json(nullptr) : Json(layer.svd.fallback);
  svd["fallback_cost"] = layer.svd.fallback_cost;
  j["svd"] = svd;
  return j;
}

Json null_json(const PairResult& pair) {
  Json j;
  switch (pair.null_kind) {
    case NullKind::Beta:
      j["kind"] = "beta";
      j["a"] = number(pair.beta_a);
      j["b"] = number(pair.beta_b);
      break;
    case NullKind::Untestable:
      j["kind"] = "untestable";
      break;
    case NullKind::Simulated:
      j["kind"] = "simulated";
      j["draws"] = pair.simulation_draws;
      break;
    case NullKind::ChiSquare:
      j["kind"] = "chi2";
      j["e_threshold"] = number(pair.e_threshold);
      break;
  }
  return j;
}

Json pair_json(std::size_t index, const PairResult& pair, const SvrResult& r) {
  Json j;
  j["index"] = index;
  j["from_layer"] = pair.from_layer;
  j["to_layer"] = pair.to_layer;
  j["from_name"] = r.layers[pair.from_layer].name;
  j["to_name"] = r.layers[pair.to_layer].name;
  j["map"] = pair.map;
  j["channels_read"] = pair.channels_read;
  j["c"] = pair.c;
  j["z"] = pair.z;
  j["z_u"] = pair.z_u;
  j["z_v"] = pair.z_v;
  j["null"] = null_json(pair);
  j["edges_tested"] = pair.edges_tested;
  j["significant"] = pair.significant;
  j["edges_reported"] = pair.edges_reported();
  j["internal_dims"] = {{"to", pair.internal_dim_to}, {"from", pair.internal_dim_from}};
  j["entropy"] = number(pair.entropy);
  j["entropy_normalized"] = number(pair.entropy_normalized);
  Json intensity = Json::array();
  for (double x : pair.intensity) intensity.push_back(number(x));
  j["intensity"] = intensity;
  return j;
}

Json chain_json(const ChainResult& chain, const std::vector<LayerResult>& all_layers) {
  Json j;
  const auto length = static_cast<std::int64_t>(chain.neurons.size());
  j["start_layer"] = chain.start_layer;
  std::vector<int> layers;
  for (std::size_t k = 0; k < chain.neurons.size(); ++k) layers.push_back(chain.layer_at(k));
  j["end_layer"] = layers.empty() ? chain.start_layer : layers.back();
  j["length"] = length;
  j["layers"] = layers;
  // As the neurons are numbered in nodes.csv (--min-rank: in the full spectrum).
  std::vector<std::int64_t> neurons;
  for (std::size_t k = 0; k < chain.neurons.size(); ++k) {
    const auto l = static_cast<std::size_t>(chain.layer_at(k));
    neurons.push_back(l < all_layers.size() ? output::neuron_id(all_layers[l], chain.neurons[k])
                                            : chain.neurons[k]);
  }
  j["neurons"] = neurons;
  j["weakest_log10_p"] = number(chain.weakest_log10_p);
  return j;
}

Json run_json(const RunInfo& run) {
  Json j;
  j["version"] = run.version;
  j["build"] = {{"version", run.build.version},   {"git_commit", run.build.git_commit},
                {"compiler", run.build.compiler}, {"build_type", run.build.build_type},
                {"mpi", run.build.mpi},           {"blas", run.build.blas},
                {"lapack", run.build.lapack},     {"scalapack", run.build.scalapack},
                {"slepc", run.build.slepc}};
  j["command_line"] = run.command_line;
  j["input_sha256"] = run.input_sha256;
  j["input_format"] = run.input_format;
  j["ranks"] = run.ranks;
  Json phases = Json::object();
  for (const auto& [name, seconds] : run.phase_totals()) phases[name] = number(seconds);
  j["seconds_per_phase"] = phases;
  j["peak_memory_mb"] = number(run.peak_memory_mb);
  Json per_rank = Json::array();
  for (double mb : run.peak_memory_mb_per_rank) per_rank.push_back(number(mb));
  j["peak_memory_mb_per_rank"] = per_rank;
  if (!run.placements.empty()) {
    Json layers = Json::array();
    for (const LayerPlacement& p : run.placements) {
      Json where;
      where["engine"] = p.engine;
      where["rank"] = p.rank;
      if (p.engine == "scalapack") {
        where["team"] = p.team;
        where["grid"] = Json::array({p.grid_rows, p.grid_cols});
      }
      layers.push_back(where);
    }
    j["execution"] = Json{{"memory_budget_mb", number(run.memory_budget_mb)}, {"layers", layers}};
  }
  return j;
}

}  // namespace

void write_summary_json(const std::string& path, const SvrResult& r,
                        const nlohmann::ordered_json& options, Method method) {
  output::check_edges(r, path);
  Json j;
  j["schema_version"] = kSchemaVersion;
  j["model"] = r.model_name;
  j["method"] = to_string(method);
  Json network{{"kind", r.network.graph ? "graph" : "chain"}, {"source", r.network.source}};
  if (!r.network.family.empty()) network["family"] = r.network.family;
  if (!r.network.topology.empty()) network["topology"] = r.network.topology;
  j["network"] = network;
  j["options"] = options;
  j["layers"] = Json::array();
  for (std::size_t l = 0; l < r.layers.size(); ++l)
    j["layers"].push_back(layer_json(l, r.layers[l]));
  // The multiple-testing family is the edges that were computed: with --max-rank or --min-rank,
  // only those between kept neurons (the per-edge null does not change).
  std::int64_t truncated = 0, bottom = 0;
  for (const LayerResult& layer : r.layers) {
    truncated += layer.sigma.size() < layer.full_rank;
    bottom += layer.first_neuron > 0;
  }
  j["tested_family"] =
      truncated == 0 ? "every testable edge between the layers' spectral neurons"
                     : "every testable edge between the kept spectral neurons (" +
                           std::to_string(truncated) + " of " + std::to_string(r.layers.size()) +
                           (bottom > 0 ? " layers kept only their bottom singular triplets, "
                                         "--min-rank)"
                                       : " layers kept only their top singular triplets, "
                                         "--max-rank)");
  j["pairs"] = Json::array();
  for (std::size_t k = 0; k < r.pairs.size(); ++k)
    j["pairs"].push_back(pair_json(k, r.pairs[k], r));
  j["path_metric"] = {{"log10_weighted", number(r.log10_path_metric)},
                      {"log10_unweighted", number(r.log10_path_metric_unweighted)}};
  j["top_chains"] = Json::array();
  for (const ChainResult& chain : r.chains) j["top_chains"].push_back(chain_json(chain, r.layers));
  j["run"] = run_json(r.run);

  output::TextFile file(path);
  // Invalid UTF-8 in a tensor name must not abort the run: replace it (U+FFFD).
  file.write(j.dump(2, ' ', false, Json::error_handler_t::replace));
  file.write("\n");
  file.close();
}

}  // namespace svr
