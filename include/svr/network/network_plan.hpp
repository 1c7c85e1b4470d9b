#pragma once
// Which tensors of a model are the layers of the chain, in which order, which batch norm folds
// into which layer, and the geometry (c, z) of every consecutive pair. Works on metadata only:
// no tensor bytes are read here (layer_matrix.hpp reads them).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "svr/io/model_file.hpp"
#include "svr/network/network_options.hpp"

namespace svr {

enum class LayerKind { Linear, Conv };

// A BatchNorm module folded into the layer it follows. Tensor names; weight/bias are "" when
// the BN has no affine parameters (gamma = 1). Only running_var and weight enter the fold.
struct BatchNormSpec {
  std::string prefix;  // e.g. "features.1"
  std::string weight, bias, running_mean, running_var;
};

struct LayerSpec {
  std::string name;  // weight tensor name
  LayerKind kind = LayerKind::Linear;
  int spatial_dims = 0;  // conv1d/2d/3d -> 1/2/3, linear -> 0
  std::vector<std::int64_t> shape;  // tensor shape as stored
  std::int64_t out_channels = 0;
  std::int64_t in_channels = 0;  // shape[1]
  std::int64_t kernel_size = 1;  // z = k1*...*kd; 1 for linear
  std::optional<BatchNormSpec> bn;  // folded BN (only with BatchNormMode::Fold)

  std::string kind_name() const;  // "linear", "conv1d", "conv2d", "conv3d"
  // Shape of the matrix M of spec section 1: svr out x (in*z), cosvr (out*z) x in.
  std::int64_t rows(Method method) const;
  std::int64_t cols(Method method) const;
};

// Geometry of the pair (layer l, layer l+1): c channels pass between them; the u side (layer
// l) carries z_u positions and the v side (layer l+1) z_v. svr: z_u = 1. cosvr: z_v = 1 except
// conv -> linear with flatten, where both sides carry positions (simulated null).
struct PairSpec {
  std::int64_t c = 0, z_u = 1, z_v = 1;
};

struct NetworkPlan {
  std::vector<LayerSpec> layers;
  std::vector<PairSpec> pairs;  // pairs[l] joins layers[l] and layers[l+1]
  // BatchNorm prefixes found in the model that fold into no selected layer (e.g. a BN before
  // the first layer, or after a layer left out by --layers); the summary should mention them.
  std::vector<std::string> unfolded_batchnorms;
};

// Builds the plan from options.layers, else the model's declared order (svr.layers), else the
// state_dict order, else numeric-aware name order with the top-level modules permuted until
// the dimensions chain (exactly one permutation must). Throws InputError (one line naming the
// file, the tensors and the problem) for every unsupported or malformed network.
NetworkPlan plan_network(const ModelFile& model, const NetworkOptions& options);

// Describes one weight tensor as a layer; throws InputError if it cannot be one.
LayerSpec describe_layer(const ModelFile& model, const TensorInfo& tensor);

// Geometry of a consecutive pair; throws InputError naming both layers and their shapes when
// `from` does not feed `to` (including grouped/depthwise convolutions).
PairSpec pair_geometry(const ModelFile& model, const LayerSpec& from, const LayerSpec& to,
                       Method method);

// Numeric-aware name order: digit runs compare as numbers ("features.2" < "features.10").
bool natural_less(const std::string& a, const std::string& b);

}  // namespace svr
