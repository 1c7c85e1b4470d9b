#pragma once
// Checks shared by the two ways a network is planned: as a chain (network_plan.cpp) and from a
// topology file (topology.cpp), so that both report the same one-line errors.
#include <optional>
#include <set>
#include <string>

#include "svr/io/model_file.hpp"
#include "svr/network/network_plan.hpp"

namespace svr::detail {

// "'features.0.weight' [64, 3, 3, 3]" for messages.
std::string layer_label(const LayerSpec& layer);

// The tensor `name` (or `name`.weight) of the model; InputError naming `source` (e.g.
// "--layers") when it is not there or was built by a refused pickle global.
const TensorInfo& resolve_layer_name(const ModelFile& model, const std::string& name,
                                     const std::string& source);

// The batch norm with prefix `bn` that follows `layer`, checked: a refused entry is an error; a
// size that does not match the layer's output channels is an error when `strict`, else no fold
// (nullopt).
std::optional<BatchNormSpec> batchnorm_after(const ModelFile& model, const std::string& bn,
                                             const LayerSpec& layer, bool strict);

// Prefixes P of the model with both P.running_mean and P.running_var (present, or refused by
// the unpickler): its batch norms.
std::set<std::string> batchnorm_prefixes(const ModelFile& model);

}  // namespace svr::detail
