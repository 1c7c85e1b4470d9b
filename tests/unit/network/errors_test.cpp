// Every bad network of issue 2 fails with one line naming the file, the tensor(s) and the problem.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "svr/network/layer_matrix.hpp"
#include "svr/network/network_plan.hpp"
#include "test_model.hpp"

namespace svr {
namespace {

using test::expect_input_error;

Eigen::MatrixXd first_matrix(const ModelFile& model, const NetworkOptions& options = NetworkOptions{}) {
  const NetworkPlan plan = plan_network(model, options);
  return layer_matrix(model, plan.layers.front(), options.read);
}

TEST(NetworkErrors, OnlyOneDimensionalTensors) {
  test::TestModel m;
  m.add("norm.weight", {4}, {1, 2, 3, 4}).add("norm.bias", {4}, {0, 0, 0, 0});
  expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                     {m.model.path, "no layer found", "1-D"});
}

TEST(NetworkErrors, SingleLayer) {
  test::TestModel m;
  m.add_random("fc.weight", {4, 3}).add("fc.bias", {4}, {0, 0, 0, 0});
  expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                     {m.model.path, "fc.weight", "at least two chained layers"});
}

TEST(NetworkErrors, LayersThatDoNotChain) {
  test::TestModel m;
  m.add_random("net.0.weight", {10, 4}).add_random("net.1.weight", {3, 12});
  expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                     {m.model.path, "'net.0.weight' [10, 4]", "'net.1.weight' [3, 12]",
                      "does not feed", "10 output channels", "expects 12", "--layers"});
}

TEST(NetworkErrors, ExplicitLayersThatDoNotChain) {
  test::TestModel m;
  m.add_random("a.weight", {10, 4}).add_random("b.weight", {3, 12});
  NetworkOptions options;
  options.layers = {"b.weight", "a.weight"};
  expect_input_error([&] { plan_network(m.model, options); },
                     {m.model.path, "'b.weight' [3, 12]", "'a.weight' [10, 4]", "does not feed"});
}

TEST(NetworkErrors, LayersOptionNamesMissingTensor) {
  test::TestModel m;
  m.add_random("a.weight", {4, 3}).add_random("b.weight", {2, 4});
  NetworkOptions options;
  options.layers = {"a.weight", "features.7.weight"};
  expect_input_error([&] { plan_network(m.model, options); },
                     {m.model.path, "--layers", "'features.7.weight'", "not in"});
}

TEST(NetworkErrors, LayersOptionNamesOneDimensionalOrIntegerTensor) {
  test::TestModel m;
  m.add_random("a.weight", {4, 3}).add("a.bias", {4}, {0, 0, 0, 0});
  m.add_i64("steps", {2, 2}, {1, 2, 3, 4});
  NetworkOptions options;
  options.layers = {"a.weight", "a.bias"};
  expect_input_error([&] { plan_network(m.model, options); },
                     {m.model.path, "a.bias", "[4]", "dimensions"});
  options.layers = {"a.weight", "steps"};
  expect_input_error([&] { plan_network(m.model, options); },
                     {m.model.path, "steps", "I64", "never layers"});
  options.layers = {"a.weight", "a.weight"};
  expect_input_error([&] { plan_network(m.model, options); }, {m.model.path, "a.weight", "twice"});
}

TEST(NetworkErrors, DeclaredLayersNamingMissingTensor) {
  test::TestModel m;
  m.add_random("a.weight", {4, 3}).add_random("b.weight", {2, 4});
  m.model.declared_layers = std::vector<std::string>{"a.weight", "c.weight"};
  expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                     {m.model.path, "svr.layers", "'c.weight'"});
}

TEST(NetworkErrors, RefusedPickleGlobalSelectedByLayers) {
  test::TestModel m("evil.pth");
  m.model.order_is_state_dict = true;
  m.add_random("a.weight", {4, 3}).add_random("b.weight", {2, 4});
  m.model.refused["evil.weight"] = "os.system";
  NetworkOptions options;
  options.layers = {"a.weight", "evil.weight"};
  expect_input_error([&] { plan_network(m.model, options); },
                     {m.model.path, "evil.weight", "refused pickle global 'os.system'"});
  // Automatic discovery would need it too.
  expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                     {m.model.path, "evil.weight", "os.system"});
  // A selection that does not need it works.
  options.layers = {"a.weight", "b.weight"};
  EXPECT_EQ(plan_network(m.model, options).layers.size(), 2u);
}

TEST(NetworkErrors, RefusedPickleGlobalInFoldedBatchnorm) {
  test::TestModel m("evil.pth");
  m.model.order_is_state_dict = true;
  m.add_random("fc1.weight", {2, 3}).add("bn.running_mean", {2}, {0, 0});
  m.model.refused["bn.running_var"] = "os.system";
  m.add_random("fc2.weight", {4, 2});
  expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                     {m.model.path, "bn.running_var", "os.system"});
  NetworkOptions ignore;
  ignore.read.batchnorm = BatchNormMode::Ignore;
  EXPECT_EQ(plan_network(m.model, ignore).layers.size(), 2u);
}

TEST(NetworkErrors, GroupedConvolution) {
  test::TestModel m;
  m.add_random("features.0.weight", {32, 3, 3, 3}).add_random("features.2.weight", {64, 8, 3, 3});
  expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                     {m.model.path, "features.0.weight", "features.2.weight", "[64, 8, 3, 3]",
                      "grouped or depthwise", "groups = 4", "not supported yet"});
}

TEST(NetworkErrors, DepthwiseConvolution) {
  test::TestModel m("mobilenet.pth");
  m.model.order_is_state_dict = true;
  m.add_random("features.0.0.weight", {32, 3, 3, 3}).add_random("features.1.0.weight", {32, 1, 3, 3});
  expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                     {m.model.path, "features.1.0.weight", "depthwise", "groups = 32"});
}

TEST(NetworkErrors, ResidualNetworkByName) {
  test::TestModel m("resnet18.pth");
  m.model.order_is_state_dict = true;
  m.add_random("conv1.weight", {8, 3, 7, 7})
      .add_batchnorm("bn1", std::vector<double>(8, 1.0), std::vector<double>(8, 1.0))
      .add_random("layer1.0.conv1.weight", {8, 8, 3, 3})
      .add_random("layer1.0.conv2.weight", {8, 8, 3, 3})
      .add_random("layer2.0.conv1.weight", {16, 8, 3, 3})
      .add_random("layer2.0.downsample.0.weight", {16, 8, 1, 1})
      .add_random("fc.weight", {10, 16});
  expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                     {m.model.path, "layer1.0.conv1.weight", "residual",
                      "it has the names of a torchvision ResNet but 'layer2.0.conv2.weight' is "
                      "missing",
                      "--topology", "--layers"});
  // Selecting a chain with --layers is the way out.
  NetworkOptions options;
  options.layers = {"conv1.weight", "layer1.0.conv1.weight", "layer1.0.conv2.weight"};
  EXPECT_EQ(plan_network(m.model, options).layers.size(), 3u);
  // A non-chaining selection through the residual blocks says "residual" again.
  options.layers = {"layer2.0.conv1.weight", "layer2.0.downsample.0.weight"};
  expect_input_error([&] { plan_network(m.model, options); },
                     {m.model.path, "residual", "--layers"});
}

TEST(NetworkErrors, ShortcutNamingIsResidual) {
  test::TestModel m;
  m.add_random("block.conv.weight", {4, 4, 3, 3}).add_random("block.shortcut.weight", {4, 4, 1, 1});
  expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                     {m.model.path, "block.shortcut.weight", "residual"});
}

TEST(NetworkErrors, NaNAndInfInWeight) {
  test::TestModel m;
  std::vector<double> w(24, 1.0);
  w[13] = std::nan("");
  m.add("f.0.weight", {2, 3, 2, 2}, w).add_random("f.1.weight", {4, 2, 1, 1});
  expect_input_error([&] { first_matrix(m.model); },
                     {m.model.path, "f.0.weight", "contains NaN at element 13", "[1, 0, 0, 1]"});
  test::TestModel n;
  n.add_f32("a.weight", {2, 2}, {1, std::numeric_limits<float>::infinity(), 3, 4})
      .add_random("b.weight", {3, 2});
  expect_input_error([&] { first_matrix(n.model); },
                     {n.model.path, "a.weight", "contains Inf at element 1"});
}

TEST(NetworkErrors, AllZeroLayer) {
  test::TestModel m;
  m.add("net.0.weight", {2, 3}, std::vector<double>(6, 0.0)).add_random("net.1.weight", {3, 2});
  expect_input_error([&] { first_matrix(m.model); },
                     {m.model.path, "net.0.weight", "all weights are zero", "undefined"});
}

TEST(NetworkErrors, AllZeroAfterFoldingZeroGamma) {
  test::TestModel m;
  m.add_random("f.0.weight", {2, 3}).add_batchnorm("f.1", {0, 0}, {1, 1}).add_random("f.2.weight", {3, 2});
  expect_input_error([&] { first_matrix(m.model); },
                     {m.model.path, "f.0.weight", "all weights are zero", "f.1"});
}

TEST(NetworkErrors, BatchnormRunningVarNotPositive) {
  test::TestModel m;
  m.add_random("f.0.weight", {3, 2}).add_batchnorm("f.1", {1, 1, 1}, {1, 0, 2})
      .add_random("f.2.weight", {2, 3});
  expect_input_error([&] { first_matrix(m.model); },
                     {m.model.path, "f.1.running_var", "<= 0", "f.0.weight"});
  test::TestModel n;
  n.add_random("f.0.weight", {3, 2}).add_batchnorm("f.1", {1, 1, 1}, {1, -2, 2})
      .add_random("f.2.weight", {2, 3});
  expect_input_error([&] { first_matrix(n.model); }, {n.model.path, "f.1.running_var", "<= 0"});
}

TEST(NetworkErrors, BatchnormRunningVarNaN) {
  test::TestModel m;
  m.add_random("f.0.weight", {3, 2}).add_batchnorm("f.1", {1, 1, 1}, {1, std::nan(""), 2})
      .add_random("f.2.weight", {2, 3});
  expect_input_error([&] { first_matrix(m.model); },
                     {m.model.path, "f.1.running_var", "NaN at element 1"});
  // With --batchnorm ignore the BN is never read.
  NetworkOptions ignore;
  ignore.read.batchnorm = BatchNormMode::Ignore;
  EXPECT_EQ(first_matrix(m.model, ignore).rows(), 3);
}

TEST(NetworkErrors, BatchnormOfWrongSize) {
  test::TestModel m;
  m.add_random("f.0.weight", {3, 2}).add_batchnorm("f.1", {1, 1, 1, 1}, {1, 1, 1, 1})
      .add_random("f.2.weight", {2, 3});
  expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                     {m.model.path, "f.1.running_var", "size 4", "'f.0.weight' [3, 2]",
                      "3 output channels"});
}

}  // namespace
}  // namespace svr
