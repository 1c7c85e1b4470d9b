#pragma once
// What the network module needs to know of the command line: which tensors are the layers, and
// how each becomes its matrix.
#include <optional>
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

// Input feature of channel b at spatial position p of a linear layer reading convolutions:
// b z + p (PyTorch's flatten) or p c + b (Keras/TensorFlow, channels last).
enum class FlattenOrder { ChannelMajor, ChannelsLast };
std::string to_string(FlattenOrder order);  // "chw", "hwc"

// How the network is planned (network_plan.hpp).
struct NetworkOptions {
  std::vector<std::string> layers;  // --layers: explicit order and selection; empty: automatic
  std::string topology;             // --topology: a topology file (topology.hpp); "": none
  std::optional<FlattenOrder> flatten_order;  // --flatten-order: overrides the topology's
  // --residual-reach: how many blocks back a transformer's reader of the residual stream reads
  // its writers (1: the previous block's and its own); -1: all.
  int residual_reach = 1;
  // --attention-heads split: attention's V -> O read head by head (one pair per head, a split
  // map of the head's channels), which also pairs a grouped-query attention's shared V heads.
  bool split_heads = false;
  LayerReadOptions read;
};

}  // namespace svr
