// adjacency.safetensors (--save-adjacency): the full edge-weight matrix E of every pair.
#include <nlohmann/json.hpp>

#include "result_checks.hpp"
#include "svr/error.hpp"
#include "svr/safetensors_writer.hpp"
#include "svr/writers.hpp"

namespace svr {

void write_adjacency(const std::string& path, const SvrResult& r, const Options& o) {
  output::check_edges(r, path);
  using Json = nlohmann::ordered_json;
  std::vector<NamedArray> arrays;
  Json names = Json::array();
  for (const LayerResult& layer : r.layers) names.push_back(layer.name);
  Json pairs = Json::array();
  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    const PairResult& pair = r.pairs[k];
    const std::string name = "pair" + std::to_string(k) + ".E";
    const Eigen::Index rows = r.layers[pair.from_layer + 1].sigma.size();
    const Eigen::Index cols = r.layers[pair.from_layer].sigma.size();
    if (pair.E.rows() != rows || pair.E.cols() != cols) {
      throw OutputError(path + ": " + name + " is " + std::to_string(pair.E.rows()) + " x " +
                        std::to_string(pair.E.cols()) + ", expected " + std::to_string(rows) +
                        " x " + std::to_string(cols) + " (internal error)");
    }
    std::vector<double> data(static_cast<std::size_t>(rows * cols));
    Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
        data.data(), rows, cols) = pair.E;
    arrays.push_back({name, {rows, cols}, std::move(data)});
    pairs.push_back({{"tensor", name},
                     {"from_layer", pair.from_layer},
                     {"to_layer", pair.from_layer + 1},
                     {"c", pair.c},
                     {"z", pair.z}});
  }
  const auto dump = [](const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
  };
  write_safetensors(path, arrays,
                    {{"format", "svr-adjacency"},
                     {"schema_version", "1"},
                     {"model", r.model_name},
                     {"method", to_string(o.method)},
                     {"layers", dump(names)},
                     {"pairs", dump(pairs)}});
}

}  // namespace svr
