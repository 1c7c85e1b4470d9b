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

// What write_safetensors puts before the data, and where each array's data goes, from the names
// and shapes alone: for files whose arrays are written in place by several ranks (MPI-IO).
struct ArraySlot {
  std::string name;
  std::vector<std::int64_t> shape;
};
struct SafetensorsLayout {
  std::string head;                    // the file's first bytes: 8-byte length, JSON header
  std::vector<std::uint64_t> offsets;  // file offset of each array's data (row-major F64)
  std::uint64_t file_size = 0;
};
// Throws OutputError naming `path` for a negative dimension or a reserved or repeated name.
SafetensorsLayout safetensors_layout(const std::string& path, const std::vector<ArraySlot>& arrays,
                                     const std::map<std::string, std::string>& metadata = {});

}  // namespace svr
