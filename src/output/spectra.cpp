// spectra.safetensors (--save-spectra): U, S, V of every layer.
#include <nlohmann/json.hpp>

#include "svr/core/error.hpp"
#include "svr/io/safetensors_writer.hpp"
#include "svr/output/spectra.hpp"

namespace svr {

namespace {

// Row-major copy of `m` with column i multiplied by sign[i].
std::vector<double> row_major(const Eigen::MatrixXd& m, const std::vector<double>& sign) {
  std::vector<double> data(static_cast<std::size_t>(m.rows() * m.cols()));
  std::size_t k = 0;
  for (Eigen::Index row = 0; row < m.rows(); ++row) {
    for (Eigen::Index col = 0; col < m.cols(); ++col) data[k++] = sign[col] * m(row, col);
  }
  return data;
}

// +1 or -1 per column of U: the sign that makes the column's largest-magnitude entry (the first
// one on a tie) positive. SVD signs are arbitrary; this makes the file reproducible across
// LAPACK builds and rank counts. v_i takes the same sign so U diag(S) V^T is unchanged.
std::vector<double> canonical_signs(const Eigen::MatrixXd& u) {
  std::vector<double> sign(static_cast<std::size_t>(u.cols()), 1.0);
  for (Eigen::Index col = 0; col < u.cols(); ++col) {
    Eigen::Index arg = 0;
    if (u.rows() == 0) continue;
    u.col(col).cwiseAbs().maxCoeff(&arg);
    if (u(arg, col) < 0.0) sign[col] = -1.0;
  }
  return sign;
}

}  // namespace

void write_spectra(const std::string& path, const SvrResult& r, Method method) {
  std::vector<NamedArray> arrays;
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
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
    arrays.push_back({layer.name + ".U", {layer.rows, rank}, row_major(layer.U, sign)});
    arrays.push_back({layer.name + ".S", {rank},
                      std::vector<double>(layer.sigma.data(), layer.sigma.data() + rank)});
    arrays.push_back({layer.name + ".V", {layer.cols, rank}, row_major(layer.V, sign)});
    names.push_back(layer.name);
  }
  const auto dump = [](const nlohmann::ordered_json& j) {
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  };
  write_safetensors(path, arrays,
                    {{"format", "svr-spectra"},
                     {"schema_version", "1"},
                     {"model", r.model_name},
                     {"method", to_string(method)},
                     {"layers", dump(names)},
                     {"sign_convention", "largest-magnitude entry of each u_i positive"}});
}

}  // namespace svr
