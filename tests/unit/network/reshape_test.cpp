// Spec section 1: the matrix M of a layer for svr and cosvr, against hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

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

namespace svr {
namespace {

// A weight larger than one read (about 2^20 values) is read a block of rows at a time straight
// into M: the same matrix as the whole tensor reshaped, with and without a folded batch norm,
// and the same first error, wherever it lies.
TEST(LayerMatrix, ReadInBlocksOfRowsEqualsTheWholeTensorReshaped) {
  const std::int64_t out = 300, in = 1000, z = 6;  // 1.8e6 values: several reads of 174 rows
  std::vector<double> w(static_cast<std::size_t>(out * in * z));
  for (std::size_t k = 0; k < w.size(); ++k) w[k] = std::sin(0.001 * static_cast<double>(k)) + 2.0;
  std::vector<double> gamma(out), var(out);
  for (std::int64_t o = 0; o < out; ++o) {
    gamma[static_cast<std::size_t>(o)] = 0.5 + 0.01 * static_cast<double>(o);
    var[static_cast<std::size_t>(o)] = 1.0 + 0.1 * static_cast<double>(o % 7);
  }
  test::TestModel m;
  m.add("f.0.weight", {out, in, 2, 3}, w)
      .add_batchnorm("f.1", gamma, var)
      .add_random("f.3.weight", {4, out, 1, 1});
  NetworkOptions options;
  const NetworkPlan plan = plan_network(m.model, options);
  const LayerSpec& layer = plan.layers[0];
  ASSERT_TRUE(layer.bn.has_value());

  std::vector<double> folded = w;
  fold_batchnorm(folded, out, gamma, var, options.read.bn_eps);
  EXPECT_EQ(layer_matrix(m.model, layer, options.read), reshape_weight(folded, layer, Method::Svr));
  options.read.batchnorm = BatchNormMode::Ignore;
  EXPECT_EQ(layer_matrix(m.model, layer, options.read), reshape_weight(w, layer, Method::Svr));
}

TEST(LayerMatrix, ReadInBlocksReportsTheFirstProblemOfTheWholeTensor) {
  const std::int64_t out = 600, in = 4096;  // reads of 256 rows
  std::vector<double> w(static_cast<std::size_t>(out * in), 1.0);
  w[static_cast<std::size_t>(500 * in + 7)] = std::nan("");  // in the third read
  std::vector<double> var(out, 1.0);
  var[3] = -1.0;  // a bad batch norm: reported after the weight's own NaN
  test::TestModel m;
  m.add("f.0.weight", {out, in}, w)
      .add_batchnorm("f.1", {}, var)
      .add_random("f.2.weight", {3, out});
  const NetworkPlan plan = plan_network(m.model, NetworkOptions{});
  test::expect_input_error(
      [&] { layer_matrix(m.model, plan.layers[0], NetworkOptions{}.read); },
      {m.model.path, "f.0.weight", "contains NaN at element " + std::to_string(500 * in + 7)});
  // Without the NaN the batch norm's error comes first; with it fixed, a zero weight that only
  // the last read sees is not all zero.
  w[static_cast<std::size_t>(500 * in + 7)] = 1.0;
  test::TestModel n;
  n.add("f.0.weight", {out, in}, w)
      .add_batchnorm("f.1", {}, var)
      .add_random("f.2.weight", {3, out});
  test::expect_input_error([&] { layer_matrix(n.model, plan.layers[0], NetworkOptions{}.read); },
                           {n.model.path, "f.1.running_var", "<= 0"});
  std::vector<double> late(static_cast<std::size_t>(out * in), 0.0);
  late.back() = 3.0;
  test::TestModel z;
  z.add("f.0.weight", {out, in}, late).add_random("f.2.weight", {3, out});
  NetworkOptions ignore;
  ignore.read.batchnorm = BatchNormMode::Ignore;
  const Eigen::MatrixXd M =
      layer_matrix(z.model, plan_network(z.model, ignore).layers[0], ignore.read);
  EXPECT_EQ(M(out - 1, in - 1), 3.0);
  EXPECT_EQ(M.cwiseAbs().sum(), 3.0);
  // All zero after the fold: gamma 0 for every channel.
  test::TestModel g;
  g.add("f.0.weight", {out, in}, w)
      .add_batchnorm("f.1", std::vector<double>(out, 0.0), std::vector<double>(out, 1.0))
      .add_random("f.2.weight", {3, out});
  const NetworkPlan g_plan = plan_network(g.model, NetworkOptions{});
  test::expect_input_error([&] { layer_matrix(g.model, g_plan.layers[0], NetworkOptions{}.read); },
                           {g.model.path, "f.0.weight", "all weights are zero", "f.1"});
}

}  // namespace
}  // namespace svr
