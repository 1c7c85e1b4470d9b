#pragma once
// A model on disk (safetensors, sharded safetensors, PyTorch zip or legacy checkpoint) as a list
// of validated tensor locations. Opening reads only headers/pickles; read_tensor reads bytes.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "svr/tensor.hpp"

namespace svr {

struct ModelFile {
  std::string path;                 // as the user gave it
  std::string format;               // "safetensors", "safetensors-sharded", "torch-zip", "torch-legacy"
  std::vector<TensorInfo> tensors;  // every tensor, in stored order
  bool order_is_state_dict = false; // true for torch checkpoints (their order is the module order)
  // safetensors __metadata__["svr.layers"] (a JSON list of weight names stored as a string),
  // already checked to name existing tensors, each once.
  std::optional<std::vector<std::string>> declared_layers;
  // state_dict key -> global (e.g. "os.system") that produced its non-tensor value; never run.
  std::map<std::string, std::string> refused;
  // Files whose bytes make up the model, in hashing order (sharded: index, then the shards in
  // the order the weight_map first names them).
  std::vector<std::string> files;

  const TensorInfo* find(const std::string& name) const;  // nullptr if absent
};

// Dispatches on content: zip magic (torch-zip), pickle protocol byte (torch-legacy),
// "*.index.json" (sharded safetensors), otherwise safetensors. Throws InputError (one line
// naming file, tensor and problem) on anything malformed.
ModelFile open_model(const std::string& path);

// All elements of `t` in logical row-major order converted to double; strided views are
// gathered. Re-checks that the tensor lies inside the file; throws InputError on short reads.
std::vector<double> read_tensor(const TensorInfo& t);

}  // namespace svr
