// adjacency.safetensors (--save-adjacency): the full edge-weight matrix E of every pair.
#include <nlohmann/json.hpp>

#include "result_checks.hpp"
#include "svr/core/error.hpp"
#include "svr/io/safetensors_writer.hpp"
#include "svr/output/adjacency.hpp"

namespace svr {

namespace {

using Json = nlohmann::ordered_json;

std::string tensor_name(std::size_t k) { return "pair" + std::to_string(k) + ".E"; }

std::map<std::string, std::string> adjacency_metadata(const SvrResult& r, Method method) {
  Json names = Json::array();
  for (const LayerResult& layer : r.layers) names.push_back(layer.name);
  Json pairs = Json::array();
  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    const PairResult& pair = r.pairs[k];
    pairs.push_back({{"tensor", tensor_name(k)},
                     {"from_layer", pair.from_layer},
                     {"to_layer", pair.to_layer},
                     {"c", pair.c},
                     {"z", pair.z}});
  }
  const auto dump = [](const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
  };
  std::map<std::string, std::string> metadata{
      {"format", "svr-adjacency"},   {"schema_version", "1"}, {"model", r.model_name},
      {"method", to_string(method)}, {"layers", dump(names)}, {"pairs", dump(pairs)}};
  output::add_first_neurons(metadata, r);
  return metadata;
}

}  // namespace

std::vector<double> adjacency_data(const Eigen::MatrixXd& E) {
  std::vector<double> data(static_cast<std::size_t>(E.size()));
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      data.data(), E.rows(), E.cols()) = E;
  return data;
}

AdjacencyLayout adjacency_layout(const SvrResult& r, Method method) {
  const std::string path = "adjacency.safetensors";
  AdjacencyLayout layout;
  std::vector<ArraySlot> slots;
  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    const PairResult& pair = r.pairs[k];
    if (pair.from_layer < 0 || pair.to_layer >= static_cast<int>(r.layers.size()))
      throw OutputError(path + ": pair " + std::to_string(k) + " has no layers (internal error)");
    layout.rows.push_back(r.layers[pair.to_layer].sigma.size());
    layout.cols.push_back(r.layers[pair.from_layer].sigma.size());
    slots.push_back({tensor_name(k), {layout.rows.back(), layout.cols.back()}});
  }
  SafetensorsLayout file = safetensors_layout(path, slots, adjacency_metadata(r, method));
  layout.head = std::move(file.head);
  layout.offsets = std::move(file.offsets);
  layout.file_size = file.file_size;
  return layout;
}

void write_adjacency(const std::string& path, const SvrResult& r, Method method) {
  output::check_edges(r, path);
  std::vector<NamedArray> arrays;
  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    const PairResult& pair = r.pairs[k];
    const std::string name = tensor_name(k);
    const Eigen::Index rows = r.layers[pair.to_layer].sigma.size();
    const Eigen::Index cols = r.layers[pair.from_layer].sigma.size();
    if (pair.E.rows() != rows || pair.E.cols() != cols) {
      throw OutputError(path + ": " + name + " is " + std::to_string(pair.E.rows()) + " x " +
                        std::to_string(pair.E.cols()) + ", expected " + std::to_string(rows) +
                        " x " + std::to_string(cols) + " (internal error)");
    }
    arrays.push_back({name, {rows, cols}, adjacency_data(pair.E)});
  }
  write_safetensors(path, arrays, adjacency_metadata(r, method));
}

}  // namespace svr
