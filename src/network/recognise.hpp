#pragma once
// The recogniser of known architecture families (recognise.cpp).
#include <optional>
#include <string>
#include <vector>

#include "raw_topology.hpp"
#include "svr/io/model_file.hpp"

namespace svr::detail {

struct RecognisedTopology {
  std::string family;  // e.g. "torchvision ResNet"
  std::vector<TopologyLayer> layers;
};

struct Recognition {
  // The topology when the model's names and shapes are those of a known family (every tensor
  // named *.weight with two or more dimensions is one of the family's layers).
  std::optional<RecognisedTopology> topology;
  // Otherwise, when the model has a family's marker names, why it is not of that family
  // ("it has the names of a torchvision ResNet but 'layer2.0.conv2.weight' is missing").
  std::string near_miss;
};

Recognition recognise_family(const ModelFile& model);

}  // namespace svr::detail
