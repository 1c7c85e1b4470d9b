#pragma once
// Writes F64 arrays to a safetensors file (used for --save-spectra, --save-adjacency and tests).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace svr {

struct NamedArray {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<double> data;  // row-major, product(shape) elements
};

// Writes `arrays` in the given order as F64, with `metadata` as "__metadata__" (string values).
// Writes to `path` directly; throws OutputError on any I/O failure.
void write_safetensors(const std::string& path, const std::vector<NamedArray>& arrays,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace svr
