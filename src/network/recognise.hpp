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
// split_heads: V -> O one pair per head (config.json must give the heads).
std::optional<RecognisedTopology> recognise_transformer(const ModelFile& model, int reach,
                                                        bool split_heads,
                                                        std::vector<std::string>& left_out);

// Attention's V -> O read head by head: O's query head h (of `heads`, `head_size` channels
// each) reads V's key-value head h / (heads / kv_heads), a split of V at O's channels of head h.
std::vector<TopologyRead> per_head_reads(const std::string& value, std::int64_t heads,
                                         std::int64_t kv_heads, std::int64_t head_size);

}  // namespace svr::detail
