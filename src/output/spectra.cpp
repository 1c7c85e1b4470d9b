// spectra.safetensors (--save-spectra): U, S, V of every layer.
#include "svr/output/spectra.hpp"

#include <nlohmann/json.hpp>

#include "result_checks.hpp"
#include "svr/core/error.hpp"

namespace svr {

namespace {

std::map<std::string, std::string> spectra_metadata(const SvrResult& r, Method method) {
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  for (const LayerResult& layer : r.layers) names.push_back(layer.name);
  std::map<std::string, std::string> metadata{
      {"format", "svr-spectra"},
      {"schema_version", "1"},
      {"model", r.model_name},
      {"method", to_string(method)},
      {"layers", names.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)},
      {"sign_convention", "largest-magnitude entry of each u_i positive"}};
  output::add_first_neurons(metadata, r);
  return metadata;
}

std::vector<ArraySlot> spectra_slots(const SvrResult& r) {
  std::vector<ArraySlot> slots;
  for (const LayerResult& layer : r.layers) {
    const std::int64_t rank = layer.sigma.size();
    slots.push_back({layer.name + ".U", {layer.rows, rank}});
    slots.push_back({layer.name + ".S", {rank}});
    slots.push_back({layer.name + ".V", {layer.cols, rank}});
  }
  return slots;
}

}  // namespace

std::vector<double> signed_row_major(const Eigen::MatrixXd& m, const std::vector<double>& sign) {
  const auto cols = static_cast<Eigen::Index>(sign.size());
  std::vector<double> data(static_cast<std::size_t>(m.rows() * cols));
  std::size_t k = 0;
  for (Eigen::Index row = 0; row < m.rows(); ++row)
    for (Eigen::Index col = 0; col < cols; ++col) data[k++] = sign[col] * m(row, col);
  return data;
}

std::vector<double> canonical_signs(const Eigen::MatrixXd& u) {
  std::vector<double> sign(static_cast<std::size_t>(u.cols()), 1.0);
  if (u.rows() == 0) return sign;
  for (Eigen::Index col = 0; col < u.cols(); ++col) {
    Eigen::Index arg = 0;
    u.col(col).cwiseAbs().maxCoeff(&arg);
    if (u(arg, col) < 0.0) sign[col] = -1.0;
  }
  return sign;
}

SafetensorsLayout spectra_layout(const SvrResult& r, Method method) {
  return safetensors_layout("spectra.safetensors", spectra_slots(r), spectra_metadata(r, method));
}

void write_spectra(const std::string& path, const SvrResult& r, Method method) {
  std::vector<NamedArray> arrays;
  for (const LayerResult& layer : r.layers) {
    const Eigen::Index rank = layer.sigma.size();
    if (layer.U.rows() != layer.rows || layer.U.cols() != rank || layer.V.rows() != layer.cols ||
        layer.V.cols() != rank) {
      throw OutputError(path + ": layer '" + layer.name + "': singular vectors not available (U " +
                        std::to_string(layer.U.rows()) + " x " + std::to_string(layer.U.cols()) +
                        ", V " + std::to_string(layer.V.rows()) + " x " +
                        std::to_string(layer.V.cols()) + " for " + std::to_string(rank) +
                        " kept singular values; internal error)");
    }
    const std::vector<double> sign = canonical_signs(layer.U);
    arrays.push_back({layer.name + ".U", {layer.rows, rank}, signed_row_major(layer.U, sign)});
    arrays.push_back({layer.name + ".S", {rank},
                      std::vector<double>(layer.sigma.data(), layer.sigma.data() + rank)});
    arrays.push_back({layer.name + ".V", {layer.cols, rank}, signed_row_major(layer.V, sign)});
  }
  write_safetensors(path, arrays, spectra_metadata(r, method));
}

}  // namespace svr
