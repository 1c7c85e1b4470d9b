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

// A Hugging Face transformer (GPT-2, BERT/RoBERTa, ViT, Llama/Mistral; recognise_transformer.cpp)
// when the model has one's names, after add_layout_views: its layers and pairs, with readers of
// the residual stream reaching `reach` blocks back (< 0: all). Matrices of the model that are
// none of its layers, and pairs it cannot make (grouped-query V -> O), are described in
// `left_out`. Throws InputError for a tensor the layout needs that is missing and for a
// config.json beside the weights that contradicts them. nullopt: not a transformer layout.
std::optional<RecognisedTopology> recognise_transformer(const ModelFile& model, int reach,
                                                        std::vector<std::string>& left_out);

}  // namespace svr::detail
