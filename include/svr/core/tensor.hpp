#pragma once
// Tensor metadata shared by every reader, and conversion of stored elements to double.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace svr {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

std::size_t dtype_size(DType dtype);
bool dtype_is_float(DType dtype);
// Safetensors spelling ("F32", "BF16", ...).
std::string dtype_name(DType dtype);
// Parses the safetensors spelling; nullopt for an unknown dtype.
std::optional<DType> parse_dtype(const std::string& name);

// Where a tensor's elements are and how to read them. Readers fill this after validating it
// against the file; nothing downstream re-reads the header.
struct TensorInfo {
  std::string name;            // e.g. "features.0.weight"
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::string file;            // path of the file holding the bytes (shards differ per tensor)
  std::uint64_t offset = 0;    // absolute byte offset in `file` of element 0 of the view
  std::uint64_t nbytes = 0;    // bytes from `offset` that the view may touch
  // Element strides of a strided view (PyTorch storages); empty means contiguous row-major.
  std::vector<std::int64_t> strides;

  std::int64_t numel() const;
  bool is_contiguous() const;
};

// A matrix's element strides, also when it is stored contiguous (no strides given).
std::vector<std::int64_t> matrix_strides(const TensorInfo& t);
// Makes `t`, a stored (a, b) matrix, the (b, a) view of the same bytes (a Conv1D's or a
// MatMul's (in, out) weight read as (out, in)). Not a matrix: left as it is.
void transpose_matrix_view(TensorInfo& t);

// Converts `count` little-endian elements of `dtype` to double (F16/BF16 exactly).
void decode_to_double(DType dtype, const unsigned char* bytes, std::size_t count, double* out);

// "[64, 3, 3, 3]"
std::string shape_string(const std::vector<std::int64_t>& shape);

}  // namespace svr
