#pragma once
// A network's topology as a list of layers and their reads, before it is checked against the
// model: what a topology file says (topology.cpp) or what the recogniser of known families
// derives from a state_dict's names and shapes (recognise.cpp). plan_topology turns either into
// the NetworkPlan, with the same checks and the same one-line errors.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "svr/core/error.hpp"
#include "svr/io/model_file.hpp"
#include "svr/network/network_options.hpp"
#include "svr/network/network_plan.hpp"

namespace svr::detail {

struct TopologyRead {
  std::string layer;  // the producer's weight name
  MapKind kind = MapKind::Direct;
  std::optional<std::array<std::int64_t, 2>> source;  // [first, count]
  std::optional<std::int64_t> offset;
  std::optional<std::vector<std::int64_t>> permutation;
};

struct TopologyLayer {
  std::string name;  // the weight tensor
  std::string kind;  // linear, conv1d, conv2d, conv3d
  std::int64_t groups = 1;
  std::optional<std::string> batchnorm;
  std::optional<std::string> input_scale;  // a per-input-channel scale folded into the columns
  std::optional<FlattenOrder> flatten;
  std::vector<TopologyRead> reads;
};

// Errors name where the topology comes from (a file, or the recognised family) and, once known,
// the layer.
class TopologyProblems {
 public:
  explicit TopologyProblems(std::string source) : source_(std::move(source)) {}
  [[noreturn]] void file(const std::string& problem) const {
    throw InputError(input_message(source_, "", problem));
  }
  [[noreturn]] void layer(const std::string& name, const std::string& problem) const {
    throw InputError(input_message(source_, "", "layer '" + name + "': " + problem));
  }

 private:
  std::string source_;
};

// The plan of `layers` (in a topological order) over the model's weights: checked (names, kinds,
// groups, batch norms, every read and channel rule of docs/input-formats.md), pairs in the order
// of the consumers and their reads. Throws InputError through `problems`.
NetworkPlan plan_topology(const ModelFile& model, const std::vector<TopologyLayer>& layers,
                          const NetworkOptions& options, const TopologyProblems& problems);

}  // namespace svr::detail
