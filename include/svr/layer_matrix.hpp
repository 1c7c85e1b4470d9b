#pragma once
// The matrix M of one layer (spec section 1): read the weight, check it, fold its batch norm,
// reshape for the method. The only place where weight bytes become a matrix.
#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "svr/model_file.hpp"
#include "svr/network.hpp"
#include "svr/options.hpp"

namespace svr {

// Reads the layer's weight (svr::read_tensor), rejects NaN/Inf and all-zero weights, folds
// layer.bn when options.batchnorm == Fold (rejecting running_var <= 0, NaN or of the wrong
// size), and reshapes. Throws InputError naming the file, the tensor and the problem.
Eigen::MatrixXd layer_matrix(const ModelFile& model, const LayerSpec& layer,
                             const Options& options);

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
