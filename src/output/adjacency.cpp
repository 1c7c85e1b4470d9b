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
  return {{"format", "svr-adjacency"},     {"schema_version", "1"}, {"model", r.model_name},
          {"method", to_string(method)}, {"layers", dump(names)}, {"pairs", dump(pairs)}};
}

}  // namespace

std::vector<double> adjacency_data(const Eigen::MatrixXd& E) {
  std::vector<double> data(static_cast<std::size_t>(E.size()));
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      data.data(), E.rows(), E.cols()) = E;
  return data;
}

// The same bytes as write_safetensors (safetensors_writer.cpp) writes before the data: the
// metadata first, then every array in order, offsets relative to the data section, the JSON
// padded with spaces so that the data starts 8-byte aligned.
AdjacencyLayout adjacency_layout(const SvrResult& r, Method method) {
  AdjacencyLayout layout;
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = adjacency_metadata(r, method);
  std::uint64_t offset = 0;
  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    const PairResult& pair = r.pairs[k];
    if (pair.from_layer < 0 || pair.to_layer >= static_cast<int>(r.layers.size()))
      throw OutputError("adjacency.safetensors: pair " + std::to_string(k) +
                        " has no layers (internal error)");
    const std::int64_t rows = r.layers[pair.to_layer].sigma.size();
    const std::int64_t cols = r.layers[pair.from_layer].sigma.size();
    const std::uint64_t bytes = 8 * static_cast<std::uint64_t>(rows * cols);
    header[tensor_name(k)] = {
        {"dtype", "F64"}, {"shape", {rows, cols}}, {"data_offsets", {offset, offset + bytes}}};
    layout.offsets.push_back(offset);
    layout.rows.push_back(rows);
    layout.cols.push_back(cols);
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::uint64_t n = text.size();
  layout.head.resize(8);
  for (int i = 0; i < 8; ++i) layout.head[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  layout.head += text;
  for (std::uint64_t& start : layout.offsets) start += layout.head.size();
  layout.file_size = layout.head.size() + offset;
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
