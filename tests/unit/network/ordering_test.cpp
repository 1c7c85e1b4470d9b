// Which tensors are layers and in which order (issue 2, "Inputs").
#include <gtest/gtest.h>

#include <algorithm>

#include "svr/network/network_plan.hpp"
#include "test_model.hpp"

namespace svr {
namespace {

std::vector<std::string> names(const NetworkPlan& plan) {
  std::vector<std::string> out;
  for (const LayerSpec& layer : plan.layers) out.push_back(layer.name);
  return out;
}

TEST(NaturalLess, NumbersCompareAsNumbers) {
  EXPECT_TRUE(natural_less("features.2.weight", "features.10.weight"));
  EXPECT_FALSE(natural_less("features.10.weight", "features.2.weight"));
  EXPECT_TRUE(natural_less("fc2", "fc10"));
  EXPECT_TRUE(natural_less("classifier.0", "features.0"));
  EXPECT_TRUE(natural_less("a.9.b", "a.10.a"));
  EXPECT_FALSE(natural_less("x.1", "x.1"));
  // Leading zeros: numerically equal, still a strict weak order.
  EXPECT_NE(natural_less("x.01", "x.1"), natural_less("x.1", "x.01"));
  std::vector<std::string> v = {"l.10", "l.2", "l.1", "l.100", "l.20"};
  std::sort(v.begin(), v.end(), natural_less);
  EXPECT_EQ(v, (std::vector<std::string>{"l.1", "l.2", "l.10", "l.20", "l.100"}));
}

// torchvision VGG naming at reduced widths, stored alphabetically (as safetensors does):
// "classifier.*" before "features.*", and features.10 before features.3.
void add_small_vgg(test::TestModel& m) {
  m.add_random("classifier.0.weight", {32, 16 * 4}, 1)
      .add("classifier.0.bias", {32}, std::vector<double>(32, 0.0))
      .add_random("classifier.3.weight", {10, 32}, 2)
      .add_random("features.0.weight", {8, 3, 3, 3}, 3)
      .add("features.0.bias", {8}, std::vector<double>(8, 0.0))
      .add_random("features.10.weight", {16, 12, 3, 3}, 4)
      .add_random("features.3.weight", {12, 8, 3, 3}, 5);
}

TEST(LayerOrder, NumericAwareWithModulePermutation) {
  test::TestModel m;
  add_small_vgg(m);
  const NetworkPlan plan = plan_network(m.model, NetworkOptions{});
  EXPECT_EQ(names(plan), (std::vector<std::string>{"features.0.weight", "features.3.weight",
                                                   "features.10.weight", "classifier.0.weight",
                                                   "classifier.3.weight"}));
  ASSERT_EQ(plan.pairs.size(), 4u);
  EXPECT_EQ(plan.pairs[2].c, 16);
  EXPECT_EQ(plan.pairs[2].z_v, 4);  // 2x2 spatial flatten
}

TEST(LayerOrder, LeNetStyleSiblingsFormOneModule) {
  // conv1, conv2, fc1, fc2, fc10: digit runs in the top-level name are one module family.
  test::TestModel m;
  m.add_random("fc1.weight", {20, 40})
      .add_random("fc10.weight", {5, 20})
      .add_random("conv2.weight", {10, 6, 3, 3})
      .add_random("conv1.weight", {6, 1, 5, 5})
      .add_random("fc2.weight", {20, 20});
  const NetworkPlan plan = plan_network(m.model, NetworkOptions{});
  EXPECT_EQ(names(plan), (std::vector<std::string>{"conv1.weight", "conv2.weight", "fc1.weight",
                                                   "fc2.weight", "fc10.weight"}));
}

TEST(LayerOrder, BareSequentialIsOneModule) {
  test::TestModel m;
  m.add_random("10.weight", {3, 7}).add_random("2.weight", {7, 9}).add_random("0.weight", {9, 4});
  EXPECT_EQ(names(plan_network(m.model, NetworkOptions{})),
            (std::vector<std::string>{"0.weight", "2.weight", "10.weight"}));
}

TEST(LayerOrder, AmbiguousModuleOrderAsksForLayers) {
  // Two modules of square layers chain in both orders.
  test::TestModel m;
  m.add_random("decoder.0.weight", {8, 8}).add_random("encoder.0.weight", {8, 8});
  test::expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                           {m.model.path, "ambiguous", "--layers", "decoder.0.weight",
                            "encoder.0.weight"});
}

TEST(LayerOrder, NoModuleOrderChains) {
  test::TestModel m;
  m.add_random("a.0.weight", {8, 3}).add_random("b.0.weight", {5, 7});
  test::expect_input_error([&] { plan_network(m.model, NetworkOptions{}); },
                           {m.model.path, "a.0.weight", "b.0.weight", "does not feed",
                            "--layers"});
}

TEST(LayerOrder, DeclaredOrderWins) {
  test::TestModel m;
  m.add_random("b.weight", {6, 4}).add_random("a.weight", {4, 6}).add_random("c.weight", {6, 6});
  m.model.declared_layers = std::vector<std::string>{"c.weight", "a.weight", "b.weight"};
  EXPECT_EQ(names(plan_network(m.model, NetworkOptions{})),
            (std::vector<std::string>{"c.weight", "a.weight", "b.weight"}));
}

TEST(LayerOrder, StateDictOrderIsTheStoredOrder) {
  test::TestModel m("model.pth");
  m.model.format = "torch-zip";
  m.model.order_is_state_dict = true;
  // Alphabetically "head" < "stem", but the state_dict says stem first.
  m.add_random("stem.weight", {6, 4}).add_random("head.weight", {3, 6});
  EXPECT_EQ(names(plan_network(m.model, NetworkOptions{})),
            (std::vector<std::string>{"stem.weight", "head.weight"}));
}

TEST(LayerOrder, ExplicitLayersSelectAndOrder) {
  test::TestModel m;
  add_small_vgg(m);
  NetworkOptions options;
  // A sub-chain; "features.3" without ".weight" is accepted.
  options.layers = {"features.3", "features.10.weight", "classifier.0.weight"};
  EXPECT_EQ(names(plan_network(m.model, options)),
            (std::vector<std::string>{"features.3.weight", "features.10.weight",
                                      "classifier.0.weight"}));
}

TEST(LayerOrder, ExplicitLayersMayNameAnyFloatMatrix) {
  test::TestModel m;
  m.add_random("W1", {5, 3}).add_random("W2", {2, 5});
  NetworkOptions options;
  options.layers = {"W1", "W2"};
  EXPECT_EQ(names(plan_network(m.model, options)), (std::vector<std::string>{"W1", "W2"}));
}

TEST(LayerOrder, IntegerAndBoolTensorsAreNeverLayers) {
  test::TestModel m;
  m.add_random("a.weight", {4, 3}).add_i64("mask.weight", {4, 4}, std::vector<std::int64_t>(16, 1));
  m.add_random("b.weight", {2, 4});
  EXPECT_EQ(names(plan_network(m.model, NetworkOptions{})),
            (std::vector<std::string>{"a.weight", "b.weight"}));
}

}  // namespace
}  // namespace svr

namespace svr {
namespace {

TEST(LayerOrder, ConvModulesPrecedeLinearOnesWhenBothOrdersChain) {
  // 3 classes on RGB input: classifier.3 (3 outputs) -> features.0 (3 inputs) chains too, but
  // a linear -> conv step between modules would need an unflatten: features first wins.
  test::TestModel m;
  m.add_random("classifier.0.weight", {16, 8 * 4})
      .add_random("classifier.3.weight", {3, 16})
      .add_random("features.0.weight", {8, 3, 3, 3});
  const NetworkPlan plan = plan_network(m.model, NetworkOptions{});
  ASSERT_EQ(plan.layers.size(), 3u);
  EXPECT_EQ(plan.layers[0].name, "features.0.weight");
  EXPECT_EQ(plan.layers[2].name, "classifier.3.weight");
}

}  // namespace
}  // namespace svr
