#pragma once
// The matrix M of one layer (spec section 1): read the weight, check it, fold its batch norm,
// reshape for the method. The only place where weight bytes become a matrix.
#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "svr/io/model_file.hpp"
#include "svr/network/network_options.hpp"
#include "svr/network/network_plan.hpp"

namespace svr {

// Reads the layer's weight (svr::read_tensor), rejects NaN/Inf and all-zero weights, folds
// layer.bn and layer.input_scale when options.batchnorm == Fold (rejecting running_var <= 0,
// NaN or of the wrong size), and reshapes. Throws InputError naming the file, the tensor and the
// problem.
Eigen::MatrixXd layer_matrix(const ModelFile& model, const LayerSpec& layer,
                             const LayerReadOptions& options);

// The checks of layer_matrix, shared with the distributed reader (distributed_layer.hpp) so that
// both report the same one-line errors.

// The tensor `name`, or InputError: built by a refused pickle global, or not in the model.
const TensorInfo& require_tensor(const ModelFile& model, const std::string& name);

// "contains NaN|Inf at element FLAT (index [...])" for tensor t.
[[noreturn]] void throw_nonfinite(const ModelFile& model, const TensorInfo& t, std::int64_t flat,
                                  bool nan);
// "all weights are zero[ after folding batch norm 'P' / input scale 'T' ...]: its SVR is
// undefined".
[[noreturn]] void throw_all_zero(const ModelFile& model, const LayerSpec& layer, bool after_fold);
// "folding batch norm 'P' overflows (running_var too small for the weights)".
[[noreturn]] void throw_fold_overflow(const ModelFile& model, const LayerSpec& layer);

// The folding factor of one output channel.
inline double batchnorm_scale(double gamma, double running_var, double eps) {
  return gamma / std::sqrt(running_var + eps);
}

// Reads and checks layer.bn (which must be set): running_var of the layer's out_channels size,
// no NaN, positive and finite; weight (gamma, if any) of the same size and finite. Returns
// batchnorm_scale(gamma[o], running_var[o], eps) for every output channel o. Reads only these
// two small vectors, never the weight.
std::vector<double> batchnorm_scales(const ModelFile& model, const LayerSpec& layer, double eps);

// Reads and checks layer.input_scale (which must be set): in_channels finite values, the factor
// of every input channel. Reads only that vector.
std::vector<double> input_scales(const ModelFile& model, const LayerSpec& layer);

// Whether the layer's reading folds anything into it (a batch norm, an input scale).
bool folds_anything(const LayerSpec& layer, const LayerReadOptions& options);

// Scales row o of the row-major weight `w` (all of W[o]) by gamma[o] / sqrt(running_var[o] + eps);
// an empty gamma means 1 (affine=False). Sizes must already be checked.
void fold_batchnorm(std::vector<double>& w, std::int64_t out_channels,
                    const std::vector<double>& gamma, const std::vector<double>& running_var,
                    double eps);

// Pure reshape of a row-major weight: linear M = W; conv svr M = out x (in*z), row o = W[o]
// flattened (column a*z + p); conv cosvr M = (out*z) x in, row o*z + p, column a.
Eigen::MatrixXd reshape_weight(const std::vector<double>& w, const LayerSpec& layer,
                               Method method);

}  // namespace svr
