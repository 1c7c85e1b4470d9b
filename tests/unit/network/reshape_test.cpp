// Spec section 1: the matrix M of a layer for svr and cosvr, against hand-computed cases.
#include <gtest/gtest.h>

#include "svr/network/layer_matrix.hpp"
#include "svr/network/network_plan.hpp"
#include "test_model.hpp"

namespace svr {
namespace {

LayerSpec spec_of(std::vector<std::int64_t> shape) {
  ModelFile model;
  model.path = "m.safetensors";
  TensorInfo t;
  t.name = "x.weight";
  t.dtype = DType::F32;
  t.shape = std::move(shape);
  return describe_layer(model, t);
}

std::vector<double> iota(int n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) v[static_cast<std::size_t>(k)] = k + 1;
  return v;
}

TEST(DescribeLayer, KindsAndSizes) {
  const LayerSpec linear = spec_of({10, 7});
  EXPECT_EQ(linear.kind, LayerKind::Linear);
  EXPECT_EQ(linear.kind_name(), "linear");
  EXPECT_EQ(linear.kernel_size, 1);
  EXPECT_EQ(linear.rows(Method::Svr), 10);
  EXPECT_EQ(linear.cols(Method::Svr), 7);
  EXPECT_EQ(linear.rows(Method::Cosvr), 10);
  EXPECT_EQ(linear.cols(Method::Cosvr), 7);

  const LayerSpec c1 = spec_of({8, 3, 5});
  EXPECT_EQ(c1.kind_name(), "conv1d");
  EXPECT_EQ(c1.kernel_size, 5);
  const LayerSpec c2 = spec_of({8, 3, 3, 2});
  EXPECT_EQ(c2.kind_name(), "conv2d");
  EXPECT_EQ(c2.spatial_dims, 2);
  EXPECT_EQ(c2.out_channels, 8);
  EXPECT_EQ(c2.in_channels, 3);
  EXPECT_EQ(c2.kernel_size, 6);
  EXPECT_EQ(c2.rows(Method::Svr), 8);
  EXPECT_EQ(c2.cols(Method::Svr), 18);
  EXPECT_EQ(c2.rows(Method::Cosvr), 48);
  EXPECT_EQ(c2.cols(Method::Cosvr), 3);
  const LayerSpec c3 = spec_of({4, 2, 3, 3, 3});
  EXPECT_EQ(c3.kind_name(), "conv3d");
  EXPECT_EQ(c3.kernel_size, 27);
}

TEST(ReshapeWeight, LinearIsTheWeightForBothMethods) {
  const LayerSpec layer = spec_of({2, 3});
  Eigen::MatrixXd expected(2, 3);
  expected << 1, 2, 3,
              4, 5, 6;
  EXPECT_EQ(reshape_weight(iota(6), layer, Method::Svr), expected);
  EXPECT_EQ(reshape_weight(iota(6), layer, Method::Cosvr), expected);
}

TEST(ReshapeWeight, Conv1dSvrAndCosvr) {
  // W[0][0] = 1 2 3, W[0][1] = 4 5 6, W[1][0] = 7 8 9, W[1][1] = 10 11 12.
  const LayerSpec layer = spec_of({2, 2, 3});
  Eigen::MatrixXd svr(2, 6);
  svr << 1, 2, 3, 4, 5, 6,
         7, 8, 9, 10, 11, 12;
  EXPECT_EQ(reshape_weight(iota(12), layer, Method::Svr), svr);
  Eigen::MatrixXd cosvr(6, 2);  // row o*z + p, column a
  cosvr << 1, 4,
           2, 5,
           3, 6,
           7, 10,
           8, 11,
           9, 12;
  EXPECT_EQ(reshape_weight(iota(12), layer, Method::Cosvr), cosvr);
}

TEST(ReshapeWeight, Conv2dSvrAndCosvr) {
  // Shape (2, 2, 1, 2): W[0][0] = [[1 2]], W[0][1] = [[3 4]], W[1][0] = [[5 6]], W[1][1] = [[7 8]].
  const LayerSpec layer = spec_of({2, 2, 1, 2});
  Eigen::MatrixXd svr(2, 4);
  svr << 1, 2, 3, 4,
         5, 6, 7, 8;
  EXPECT_EQ(reshape_weight(iota(8), layer, Method::Svr), svr);
  Eigen::MatrixXd cosvr(4, 2);
  cosvr << 1, 3,
           2, 4,
           5, 7,
           6, 8;
  EXPECT_EQ(reshape_weight(iota(8), layer, Method::Cosvr), cosvr);
}

TEST(ReshapeWeight, Conv2dIndexFormulas) {
  // (out, in, kh, kw) = (3, 4, 2, 3), z = 6: svr column a*z + p, cosvr row o*z + p.
  const LayerSpec layer = spec_of({3, 4, 2, 3});
  const std::vector<double> w = iota(72);
  const Eigen::MatrixXd svr = reshape_weight(w, layer, Method::Svr);
  const Eigen::MatrixXd cosvr = reshape_weight(w, layer, Method::Cosvr);
  ASSERT_EQ(svr.rows(), 3);
  ASSERT_EQ(svr.cols(), 24);
  ASSERT_EQ(cosvr.rows(), 18);
  ASSERT_EQ(cosvr.cols(), 4);
  for (int o = 0; o < 3; ++o)
    for (int a = 0; a < 4; ++a)
      for (int kh = 0; kh < 2; ++kh)
        for (int kw = 0; kw < 3; ++kw) {
          const int p = kh * 3 + kw;
          const double value = 1 + ((o * 4 + a) * 2 + kh) * 3 + kw;  // W[o][a][kh][kw]
          EXPECT_EQ(svr(o, a * 6 + p), value);
          EXPECT_EQ(cosvr(o * 6 + p, a), value);
        }
}

TEST(ReshapeWeight, Conv3dSvrShape) {
  const LayerSpec layer = spec_of({2, 3, 2, 2, 2});
  const Eigen::MatrixXd M = reshape_weight(iota(48), layer, Method::Svr);
  ASSERT_EQ(M.rows(), 2);
  ASSERT_EQ(M.cols(), 24);
  EXPECT_EQ(M(1, 0), 25);
  EXPECT_EQ(M(0, 23), 24);
  const Eigen::MatrixXd C = reshape_weight(iota(48), layer, Method::Cosvr);
  ASSERT_EQ(C.rows(), 16);
  ASSERT_EQ(C.cols(), 3);
  EXPECT_EQ(C(9, 2), 1 + 24 + 16 + 1);  // o = 1, p = 1, a = 2
}

TEST(ReshapeWeight, WrongElementCountThrows) {
  EXPECT_THROW(reshape_weight(iota(5), spec_of({2, 3}), Method::Svr), Error);
}

TEST(LayerMatrix, ReadsThroughReadTensorF32) {
  test::TestModel m;
  m.add_f32("conv.weight", {2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  const LayerSpec layer = describe_layer(m.model, m.model.tensors[0]);
  NetworkOptions options;
  Eigen::MatrixXd svr(2, 4);
  svr << 1, 2, 3, 4,
         5, 6, 7, 8;
  EXPECT_EQ(layer_matrix(m.model, layer, options.read), svr);
  options.read.method = Method::Cosvr;
  Eigen::MatrixXd cosvr(4, 2);
  cosvr << 1, 3,
           2, 4,
           5, 7,
           6, 8;
  EXPECT_EQ(layer_matrix(m.model, layer, options.read), cosvr);
}

}  // namespace
}  // namespace svr
