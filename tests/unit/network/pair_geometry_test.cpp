// Spec section 3: c and the positions z carried on each side of a pair, for every combination
// of layer kinds and both methods.
#include <gtest/gtest.h>

#include "svr/network/network_plan.hpp"
#include "test_model.hpp"

namespace svr {
namespace {

ModelFile empty_model() {
  ModelFile model;
  model.path = "net.safetensors";
  return model;
}

LayerSpec layer(const std::string& name, std::vector<std::int64_t> shape) {
  TensorInfo t;
  t.name = name;
  t.dtype = DType::F32;
  t.shape = std::move(shape);
  return describe_layer(empty_model(), t);
}

void expect_pair(const PairSpec& p, std::int64_t c, std::int64_t z_u, std::int64_t z_v) {
  EXPECT_EQ(p.c, c);
  EXPECT_EQ(p.z_u, z_u);
  EXPECT_EQ(p.z_v, z_v);
}

TEST(PairGeometry, LinearToLinear) {
  const LayerSpec a = layer("fc1.weight", {20, 30}), b = layer("fc2.weight", {5, 20});
  expect_pair(pair_geometry(empty_model(), a, b, Method::Svr), 20, 1, 1);
  expect_pair(pair_geometry(empty_model(), a, b, Method::Cosvr), 20, 1, 1);
}

TEST(PairGeometry, Conv2dToConv2d) {
  // svr: v of layer l+1 lives in R^(c*z), z = kernel of l+1 (3x3); cosvr: u of l carries the
  // kernel of l (5x5).
  const LayerSpec a = layer("f.0.weight", {16, 3, 5, 5}), b = layer("f.2.weight", {32, 16, 3, 3});
  expect_pair(pair_geometry(empty_model(), a, b, Method::Svr), 16, 1, 9);
  expect_pair(pair_geometry(empty_model(), a, b, Method::Cosvr), 16, 25, 1);
}

TEST(PairGeometry, Conv1dAndConv3d) {
  const LayerSpec a = layer("a.weight", {6, 2, 7}), b = layer("b.weight", {4, 6, 3});
  expect_pair(pair_geometry(empty_model(), a, b, Method::Svr), 6, 1, 3);
  expect_pair(pair_geometry(empty_model(), a, b, Method::Cosvr), 6, 7, 1);
  const LayerSpec c = layer("c.weight", {6, 2, 2, 2, 2}), d = layer("d.weight", {4, 6, 3, 3, 3});
  expect_pair(pair_geometry(empty_model(), c, d, Method::Svr), 6, 1, 27);
  expect_pair(pair_geometry(empty_model(), c, d, Method::Cosvr), 6, 8, 1);
}

TEST(PairGeometry, ConvToLinearWithFlatten) {
  // 4 channels of 5x5 flattened channel-major: in_features = 100, z = H*W = 25.
  const LayerSpec a = layer("features.3.weight", {4, 3, 3, 3});
  const LayerSpec b = layer("classifier.0.weight", {10, 100});
  expect_pair(pair_geometry(empty_model(), a, b, Method::Svr), 4, 1, 25);
  // cosvr: both sides carry positions (kernel of a, spatial size of the flatten).
  expect_pair(pair_geometry(empty_model(), a, b, Method::Cosvr), 4, 9, 25);
}

TEST(PairGeometry, ConvToLinearAfterGlobalPooling) {
  const LayerSpec a = layer("features.3.weight", {64, 32, 3, 3});
  const LayerSpec b = layer("fc.weight", {10, 64});
  expect_pair(pair_geometry(empty_model(), a, b, Method::Svr), 64, 1, 1);
  expect_pair(pair_geometry(empty_model(), a, b, Method::Cosvr), 64, 9, 1);
}

TEST(PairGeometry, LinearToConv) {
  const LayerSpec a = layer("proj.weight", {8, 12}), b = layer("conv.weight", {4, 8, 3, 3});
  expect_pair(pair_geometry(empty_model(), a, b, Method::Svr), 8, 1, 9);
  expect_pair(pair_geometry(empty_model(), a, b, Method::Cosvr), 8, 1, 1);
}

TEST(PairGeometry, PlanCarriesPairsForBothMethods) {
  test::TestModel m;
  m.add_random("features.0.weight", {4, 1, 3, 3})
      .add_random("features.2.weight", {6, 4, 3, 3})
      .add_random("classifier.0.weight", {8, 24})
      .add_random("classifier.2.weight", {3, 8});
  NetworkOptions options;
  const NetworkPlan svr = plan_network(m.model, options);
  ASSERT_EQ(svr.layers.size(), 4u);
  ASSERT_EQ(svr.pairs.size(), 3u);
  expect_pair(svr.pairs[0], 4, 1, 9);
  expect_pair(svr.pairs[1], 6, 1, 4);
  expect_pair(svr.pairs[2], 8, 1, 1);
  options.read.method = Method::Cosvr;
  const NetworkPlan cosvr = plan_network(m.model, options);
  expect_pair(cosvr.pairs[0], 4, 9, 1);
  expect_pair(cosvr.pairs[1], 6, 9, 4);
  expect_pair(cosvr.pairs[2], 8, 1, 1);
}

TEST(PairGeometry, FlattenThatDoesNotDivideIsAnError) {
  const LayerSpec a = layer("features.3.weight", {7, 3, 3, 3});
  const LayerSpec b = layer("classifier.0.weight", {10, 100});
  test::expect_input_error([&] { pair_geometry(empty_model(), a, b, Method::Svr); },
                           {"net.safetensors", "features.3.weight", "[7, 3, 3, 3]",
                            "classifier.0.weight", "[10, 100]", "does not feed", "divide"});
}

TEST(PairGeometry, ChannelMismatchNamesBothLayersAndShapes) {
  const LayerSpec a = layer("a.weight", {10, 4}), b = layer("b.weight", {3, 12});
  test::expect_input_error([&] { pair_geometry(empty_model(), a, b, Method::Svr); },
                           {"net.safetensors", "'a.weight' [10, 4]", "'b.weight' [3, 12]",
                            "does not feed", "10 output channels", "expects 12 inputs"});
}

}  // namespace
}  // namespace svr
