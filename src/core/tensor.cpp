#include "svr/core/tensor.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace svr {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F64:
    case DType::I64:
      return 8;
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F16:
    case DType::BF16:
    case DType::I16:
      return 2;
    case DType::I8:
    case DType::U8:
    case DType::BOOL:
      return 1;
  }
  throw std::logic_error("unknown dtype");
}

bool dtype_is_float(DType dtype) {
  return dtype == DType::F64 || dtype == DType::F32 || dtype == DType::F16 ||
         dtype == DType::BF16;
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F64: return "F64";
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::BOOL: return "BOOL";
  }
  throw std::logic_error("unknown dtype");
}

std::optional<DType> parse_dtype(const std::string& name) {
  for (DType d : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32,
                  DType::I16, DType::I8, DType::U8, DType::BOOL})
    if (dtype_name(d) == name) return d;
  return std::nullopt;
}

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

bool TensorInfo::is_contiguous() const {
  if (strides.empty()) return true;
  std::int64_t expected = 1;
  for (std::size_t k = shape.size(); k-- > 0;) {
    if (shape[k] != 1 && strides[k] != expected) return false;
    expected *= shape[k];
  }
  return true;
}

namespace {

double half_to_double(std::uint16_t h) {
  const int sign = (h >> 15) & 1;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  double value;
  if (exponent == 0)
    value = std::ldexp(static_cast<double>(mantissa), -24);  // subnormal
  else if (exponent == 31)
    value = mantissa ? std::nan("") : INFINITY;
  else
    value = std::ldexp(static_cast<double>(mantissa + 1024), exponent - 25);
  return sign ? -value : value;
}

template <typename T>
T load(const unsigned char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));  // x86/ARM little-endian hosts: file order is host order
  return value;
}

}  // namespace

void decode_to_double(DType dtype, const unsigned char* bytes, std::size_t count, double* out) {
  const std::size_t size = dtype_size(dtype);
  for (std::size_t k = 0; k < count; ++k) {
    const unsigned char* p = bytes + k * size;
    switch (dtype) {
      case DType::F64: out[k] = load<double>(p); break;
      case DType::F32: out[k] = load<float>(p); break;
      case DType::F16: out[k] = half_to_double(load<std::uint16_t>(p)); break;
      case DType::BF16: {
        const std::uint32_t bits = static_cast<std::uint32_t>(load<std::uint16_t>(p)) << 16;
        out[k] = load<float>(reinterpret_cast<const unsigned char*>(&bits));
        break;
      }
      case DType::I64: out[k] = static_cast<double>(load<std::int64_t>(p)); break;
      case DType::I32: out[k] = load<std::int32_t>(p); break;
      case DType::I16: out[k] = load<std::int16_t>(p); break;
      case DType::I8: out[k] = load<std::int8_t>(p); break;
      case DType::U8: out[k] = load<std::uint8_t>(p); break;
      case DType::BOOL: out[k] = p[0] ? 1.0 : 0.0; break;
    }
  }
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t k = 0; k < shape.size(); ++k) {
    if (k) s += ", ";
    s += std::to_string(shape[k]);
  }
  return s + "]";
}

std::vector<std::int64_t> matrix_strides(const TensorInfo& t) {
  return t.strides.empty() ? std::vector<std::int64_t>{t.shape[1], 1} : t.strides;
}

void transpose_matrix_view(TensorInfo& t) {
  if (t.shape.size() != 2) return;
  const std::vector<std::int64_t> strides = matrix_strides(t);
  t.shape = {t.shape[1], t.shape[0]};
  t.strides = {strides[1], strides[0]};
}

}  // namespace svr
