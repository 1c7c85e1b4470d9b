#pragma once
// What the network module needs to know of the command line: which tensors are the layers, and
// how each becomes its matrix.
#include <string>
#include <vector>

#include "svr/core/matrix_convention.hpp"

namespace svr {

// How one layer is read into its matrix M (layer_matrix.hpp, distributed_layer.hpp).
struct LayerReadOptions {
  Method method = Method::Svr;
  BatchNormMode batchnorm = BatchNormMode::Fold;
  double bn_eps = 1e-5;  // gamma / sqrt(running_var + eps)
};

// How the network is planned (network_plan.hpp).
struct NetworkOptions {
  std::vector<std::string> layers;  // --layers: explicit order and selection; empty: automatic
  LayerReadOptions read;
};

}  // namespace svr
