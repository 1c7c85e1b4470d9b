#pragma once
// Internal: validated reading of safetensors headers and sharded safetensors indexes.
#include <optional>
#include <string>
#include <vector>

#include "svr/io/model_file.hpp"

namespace svr::io {

constexpr std::uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;       // header order
  std::optional<std::string> svr_layers; // raw __metadata__["svr.layers"], not yet checked
};

// Reads and validates the header of one safetensors file (sizes, offsets, coverage of the
// data section). Throws InputError on any problem.
SafetensorsHeader read_safetensors_header(const std::string& path);

// "X.safetensors.index.json" with a weight_map; each shard validated once.
ModelFile open_sharded_safetensors(const std::string& index_path);

// Parses the svr.layers metadata text: a JSON list of distinct strings naming tensors of
// `tensors`. `file` is named in errors.
std::vector<std::string> parse_declared_layers(const std::string& text, const std::string& file,
                                               const std::vector<TensorInfo>& tensors);

}  // namespace svr::io
