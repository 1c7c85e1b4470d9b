#include "svr/core/tensor.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace svr {
namespace {

double decode_one(DType dtype, std::uint32_t bits) {
  unsigned char bytes[8] = {};
  std::memcpy(bytes, &bits, sizeof bits);
  double out = 0;
  decode_to_double(dtype, bytes, 1, &out);
  return out;
}

TEST(Dtype, SizesNamesAndParsing) {
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_size(DType::F64), 8u);
  EXPECT_EQ(parse_dtype("BF16"), DType::BF16);
  EXPECT_FALSE(parse_dtype("F128").has_value());
  EXPECT_TRUE(dtype_is_float(DType::F16));
  EXPECT_FALSE(dtype_is_float(DType::I64));
}

TEST(Dtype, HalfAndBfloatDecodeExactly) {
  EXPECT_EQ(decode_one(DType::F16, 0x3c00), 1.0);
  EXPECT_EQ(decode_one(DType::F16, 0xc000), -2.0);
  EXPECT_EQ(decode_one(DType::F16, 0x0001), std::ldexp(1.0, -24));  // smallest subnormal
  EXPECT_EQ(decode_one(DType::F16, 0x7bff), 65504.0);
  EXPECT_TRUE(std::isinf(decode_one(DType::F16, 0x7c00)));
  EXPECT_TRUE(std::isnan(decode_one(DType::F16, 0x7e00)));
  EXPECT_EQ(decode_one(DType::BF16, 0x3f80), 1.0);
  EXPECT_EQ(decode_one(DType::BF16, 0x4049), 3.140625);
}

TEST(TensorInfo, ContiguityAndNumel) {
  TensorInfo t;
  t.shape = {2, 3};
  EXPECT_EQ(t.numel(), 6);
  EXPECT_TRUE(t.is_contiguous());
  t.strides = {3, 1};
  EXPECT_TRUE(t.is_contiguous());
  t.strides = {1, 2};  // a transposed view
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(shape_string({64, 3, 3, 3}), "[64, 3, 3, 3]");
}

TEST(TensorInfo, TransposedMatrixViewSwapsShapeAndStrides) {
  TensorInfo t;  // a contiguous (2, 3) matrix: element (i, j) at 3 i + j
  t.shape = {2, 3};
  transpose_matrix_view(t);  // its (3, 2) view: element (j, i) at the same place
  EXPECT_EQ(t.shape, (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(t.strides, (std::vector<std::int64_t>{1, 3}));
  transpose_matrix_view(t);  // back: the contiguous strides, spelled out
  EXPECT_EQ(t.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(t.strides, (std::vector<std::int64_t>{3, 1}));
  EXPECT_TRUE(t.is_contiguous());
  TensorInfo strided;  // a PyTorch storage's (4, 5) view with row stride 7
  strided.shape = {4, 5};
  strided.strides = {7, 1};
  transpose_matrix_view(strided);
  EXPECT_EQ(strided.strides, (std::vector<std::int64_t>{1, 7}));
  TensorInfo vector;  // not a matrix: unchanged
  vector.shape = {4};
  transpose_matrix_view(vector);
  EXPECT_EQ(vector.shape, (std::vector<std::int64_t>{4}));
  EXPECT_TRUE(vector.strides.empty());
}

}  // namespace
}  // namespace svr
