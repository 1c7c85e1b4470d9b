#include "svr/network/layer_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>

#include "svr/core/error.hpp"

namespace svr {
namespace {

// "element 123 (index [1, 2, 0, 0])": the flat position and where it is in the tensor.
std::string element_label(std::size_t flat, const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> index(shape.size(), 0);
  auto rest = static_cast<std::int64_t>(flat);
  for (std::size_t k = shape.size(); k-- > 0;) {
    if (shape[k] > 0) {
      index[k] = rest % shape[k];
      rest /= shape[k];
    }
  }
  return "element " + std::to_string(flat) + " (index " + shape_string(index) + ")";
}

void check_finite(const std::vector<double>& values, const ModelFile& model,
                  const TensorInfo& t) {
  for (std::size_t k = 0; k < values.size(); ++k)
    if (!std::isfinite(values[k]))
      throw_nonfinite(model, t, static_cast<std::int64_t>(k), std::isnan(values[k]));
}

std::vector<double> read_checked(const ModelFile& model, const TensorInfo& t) {
  std::vector<double> values = read_tensor(t);
  if (static_cast<std::int64_t>(values.size()) != t.numel())
    throw_input(model.path, t.name,
                "read " + std::to_string(values.size()) + " elements, expected " +
                    std::to_string(t.numel()) + " for shape " + shape_string(t.shape));
  return values;
}

}  // namespace

void throw_nonfinite(const ModelFile& model, const TensorInfo& t, std::int64_t flat, bool nan) {
  throw_input(model.path, t.name,
              std::string("contains ") + (nan ? "NaN" : "Inf") + " at " +
                  element_label(static_cast<std::size_t>(flat), t.shape));
}

namespace {

// What a layer's reading folds into it, for messages: "batch norm 'P'", "input scale 'T'" or both.
std::string folded_label(const LayerSpec& layer) {
  std::string label;
  if (layer.bn) label = "batch norm '" + layer.bn->prefix + "'";
  if (!layer.input_scale.empty())
    label +=
        (label.empty() ? "" : " and ") + std::string("input scale '") + layer.input_scale + "'";
  return label;
}

}  // namespace

void throw_all_zero(const ModelFile& model, const LayerSpec& layer, bool after_fold) {
  if (after_fold)
    throw_input(model.path, layer.name,
                "all weights are zero after folding " + folded_label(layer) +
                    (layer.bn ? " (its weight is zero)" : "") + ": its SVR is undefined");
  throw_input(model.path, layer.name, "all weights are zero: its SVR is undefined");
}

void throw_fold_overflow(const ModelFile& model, const LayerSpec& layer) {
  throw_input(model.path, layer.name,
              "folding " + folded_label(layer) + " overflows" +
                  (layer.bn ? " (running_var too small for the weights)" : ""));
}

const TensorInfo& require_tensor(const ModelFile& model, const std::string& name) {
  const auto refused = model.refused.find(name);
  if (refused != model.refused.end())
    throw_input(model.path, name,
                "was built by refused pickle global '" + refused->second + "' (never run)");
  const TensorInfo* t = model.find(name);
  if (!t) throw_input(model.path, name, "is not in the model");
  return *t;
}

std::vector<double> batchnorm_scales(const ModelFile& model, const LayerSpec& layer, double eps) {
  const BatchNormSpec& bn = *layer.bn;
  const std::int64_t n = layer.out_channels;
  const TensorInfo& var_info = require_tensor(model, bn.running_var);
  if (var_info.numel() != n)
    throw_input(model.path, bn.running_var,
                "batch norm running_var has size " + std::to_string(var_info.numel()) +
                    " but layer '" + layer.name + "' " + shape_string(layer.shape) + " has " +
                    std::to_string(n) + " output channels");
  const std::vector<double> var = read_checked(model, var_info);
  for (std::size_t k = 0; k < var.size(); ++k) {
    if (std::isnan(var[k]))
      throw_input(model.path, bn.running_var,
                  "batch norm running_var contains NaN at " + element_label(k, var_info.shape));
    if (!(var[k] > 0.0) || std::isinf(var[k]))
      throw_input(model.path, bn.running_var,
                  "batch norm running_var[" + std::to_string(k) + "] = " + std::to_string(var[k]) +
                      (std::isinf(var[k]) ? " is infinite" : " <= 0") +
                      ": a variance must be positive and finite to fold into layer '" +
                      layer.name + "'");
  }
  std::vector<double> gamma;
  if (!bn.weight.empty()) {
    const TensorInfo& gamma_info = require_tensor(model, bn.weight);
    if (gamma_info.numel() != n)
      throw_input(model.path, bn.weight,
                  "batch norm weight has size " + std::to_string(gamma_info.numel()) +
                      " but layer '" + layer.name + "' has " + std::to_string(n) +
                      " output channels");
    gamma = read_checked(model, gamma_info);
    check_finite(gamma, model, gamma_info);
  }
  std::vector<double> scales(static_cast<std::size_t>(n));
  for (std::size_t o = 0; o < scales.size(); ++o)
    scales[o] = batchnorm_scale(gamma.empty() ? 1.0 : gamma[o], var[o], eps);
  return scales;
}

std::vector<double> input_scales(const ModelFile& model, const LayerSpec& layer) {
  const TensorInfo& info = require_tensor(model, layer.input_scale);
  const std::int64_t n = layer.in_channels;  // an ungrouped layer (the plan checks)
  if (info.numel() != n)
    throw_input(model.path, layer.input_scale,
                "input scale has " + std::to_string(info.numel()) + " values but layer '" +
                    layer.name + "' " + shape_string(layer.shape) + " has " + std::to_string(n) +
                    " input channels");
  std::vector<double> scales = read_checked(model, info);
  check_finite(scales, model, info);
  return scales;
}

bool folds_anything(const LayerSpec& layer, const LayerReadOptions& options) {
  return options.batchnorm == BatchNormMode::Fold && (layer.bn || !layer.input_scale.empty());
}

void fold_batchnorm(std::vector<double>& w, std::int64_t out_channels,
                    const std::vector<double>& gamma, const std::vector<double>& running_var,
                    double eps) {
  const std::size_t row = w.size() / static_cast<std::size_t>(out_channels);
  for (std::int64_t o = 0; o < out_channels; ++o) {
    const auto oo = static_cast<std::size_t>(o);
    const double scale = batchnorm_scale(gamma.empty() ? 1.0 : gamma[oo], running_var[oo], eps);
    for (std::size_t k = 0; k < row; ++k) w[oo * row + k] *= scale;
  }
}

Eigen::MatrixXd reshape_weight(const std::vector<double>& w, const LayerSpec& layer,
                               Method method) {
  const std::int64_t out = layer.out_channels, in = layer.in_channels, z = layer.kernel_size;
  if (static_cast<std::int64_t>(w.size()) != out * in * z)
    throw Error("reshape_weight: " + std::to_string(w.size()) + " elements for layer '" +
                layer.name + "' of shape " + shape_string(layer.shape));
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  if (layer.groups > 1) {
    // Block diagonal (spec section 7): output channel o of group h = o / (out / g) reads the
    // input channels h in .. h in + in - 1 of the layer's in g; row o = W[o] there, 0 elsewhere.
    if (method != Method::Svr || out % layer.groups != 0)
      throw Error("reshape_weight: grouped layer '" + layer.name + "' needs method svr and " +
                  "groups dividing its output channels");
    const std::int64_t out_per_group = out / layer.groups;
    Eigen::MatrixXd M = Eigen::MatrixXd::Zero(out, in * layer.groups * z);
    const Eigen::Map<const RowMajor> W(w.data(), out, in * z);
    for (std::int64_t o = 0; o < out; ++o) M.block(o, (o / out_per_group) * in * z, 1, in * z) = W.row(o);
    return M;
  }
  if (layer.kind == LayerKind::Linear || method == Method::Svr)
    return Eigen::Map<const RowMajor>(w.data(), out, in * z);  // W[o] flattened = row o
  // cosvr: M(o*z + p, a) = W[o, a, p] = w[(o*in + a)*z + p].
  Eigen::MatrixXd M(out * z, in);
  for (std::int64_t o = 0; o < out; ++o)
    for (std::int64_t a = 0; a < in; ++a)
      for (std::int64_t p = 0; p < z; ++p)
        M(o * z + p, a) = w[static_cast<std::size_t>((o * in + a) * z + p)];
  return M;
}

namespace {

// The layer's weight as rows of W[o] flattened (row-major), about 8 MiB at a time, checked and
// BN-folded on the way, each block handed to `take(first_row, rows, values)`. The whole tensor
// is never held here (a 16384 x 65536 layer is 8 GiB in double). The checks and their order:
// the first NaN or Inf by flat position, all zero, the batch norm's own errors, an overflowing
// fold, all zero after the fold.
template <typename Take>
void read_weight_rows(const ModelFile& model, const LayerSpec& layer, const TensorInfo& t,
                      const LayerReadOptions& options, Take take) {
  const std::int64_t rows = layer.out_channels, cols = layer.in_channels * layer.kernel_size;
  if (t.numel() != rows * cols)
    throw Error("layer_matrix: " + std::to_string(t.numel()) + " elements for layer '" +
                layer.name + "' of shape " + shape_string(layer.shape));
  const bool fold = folds_anything(layer, options);
  std::vector<double> scales, column_scales;
  std::exception_ptr bn_failure;
  if (fold) {
    try {
      if (layer.bn) scales = batchnorm_scales(model, layer, layer.bn->eps.value_or(options.bn_eps));
      if (!layer.input_scale.empty()) column_scales = input_scales(model, layer);
    } catch (...) {
      bn_failure = std::current_exception();  // reported after the weight's own checks
    }
  }
  const std::int64_t batch =
      std::max<std::int64_t>(1, (std::int64_t{1} << 20) / std::max<std::int64_t>(cols, 1));
  std::vector<double> buffer(static_cast<std::size_t>(std::min(batch, rows) * cols));
  TensorRangeReader reader(t);
  bool nonzero = false, nonzero_folded = false, overflow = false;
  for (std::int64_t first = 0; first < rows; first += batch) {
    const std::int64_t count = std::min(batch, rows - first);
    const std::size_t values = static_cast<std::size_t>(count * cols);
    reader.read(first * cols, count * cols, buffer.data());
    for (std::size_t k = 0; k < values; ++k) {
      if (!std::isfinite(buffer[k]))
        throw_nonfinite(model, t, first * cols + static_cast<std::int64_t>(k),
                        std::isnan(buffer[k]));
      nonzero |= buffer[k] != 0.0;
    }
    if (fold && !bn_failure) {
      // Row o of W is (in, z) row-major: column k belongs to input channel k / z.
      const std::int64_t z = layer.kernel_size;
      for (std::int64_t o = 0; o < count; ++o) {
        const double scale = scales.empty() ? 1.0 : scales[static_cast<std::size_t>(first + o)];
        double* row = buffer.data() + o * cols;
        for (std::int64_t k = 0; k < cols; ++k) {
          row[k] *= column_scales.empty() ? scale
                                          : scale * column_scales[static_cast<std::size_t>(k / z)];
          overflow |= !std::isfinite(row[k]);
          nonzero_folded |= row[k] != 0.0;
        }
      }
    }
    take(first, count, buffer.data());
  }
  if (!nonzero) throw_all_zero(model, layer, false);
  if (bn_failure) std::rethrow_exception(bn_failure);
  if (overflow) throw_fold_overflow(model, layer);
  if (fold && !nonzero_folded) throw_all_zero(model, layer, true);
}

}  // namespace

Eigen::MatrixXd layer_matrix(const ModelFile& model, const LayerSpec& layer,
                             const LayerReadOptions& options) {
  const TensorInfo& t = require_tensor(model, layer.name);
  const std::int64_t cols = layer.in_channels * layer.kernel_size;
  if (layer.groups <= 1 && (layer.kind == LayerKind::Linear || options.method == Method::Svr)) {
    // Row o of M is W[o] flattened: each block goes straight to its place.
    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::MatrixXd M(layer.out_channels, cols);
    read_weight_rows(model, layer, t, options,
                     [&](std::int64_t first, std::int64_t count, const double* values) {
                       M.middleRows(first, count) = Eigen::Map<const RowMajor>(values, count, cols);
                     });
    return M;
  }
  // Grouped and cosvr layers rearrange values across rows: the whole weight first.
  std::vector<double> w(static_cast<std::size_t>(t.numel()));
  read_weight_rows(model, layer, t, options,
                   [&](std::int64_t first, std::int64_t count, const double* values) {
                     std::copy_n(values, count * cols, w.data() + first * cols);
                   });
  return reshape_weight(w, layer, options.method);
}

}  // namespace svr
