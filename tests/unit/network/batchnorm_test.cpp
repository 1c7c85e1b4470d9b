// Batch-norm association (which BN folds into which layer) and the folding numbers.
#include <gtest/gtest.h>

#include <cmath>

#include "svr/network/layer_matrix.hpp"
#include "svr/network/network_plan.hpp"
#include "test_model.hpp"

namespace svr {
namespace {

TEST(FoldBatchnorm, ScalesWholeRowsBeforeReshape) {
  // conv (2, 1, 1, 2), W = [[1 2], [3 4]]; gamma = (2, -1), var = (4, 0.25), eps = 0:
  // scales (1, -2) -> M = [[1 2], [-6 -8]] (svr), and cosvr rows o*z + p.
  test::TestModel m;
  m.add("features.0.weight", {2, 1, 1, 2}, {1, 2, 3, 4})
      .add_batchnorm("features.1", {2, -1}, {4, 0.25})
      .add_random("features.3.weight", {3, 2, 1, 1});
  NetworkOptions options;
  options.read.bn_eps = 0.0;
  const NetworkPlan plan = plan_network(m.model, options);
  ASSERT_TRUE(plan.layers[0].bn.has_value());
  EXPECT_EQ(plan.layers[0].bn->prefix, "features.1");
  EXPECT_EQ(plan.layers[0].bn->weight, "features.1.weight");
  EXPECT_EQ(plan.layers[0].bn->running_var, "features.1.running_var");
  EXPECT_FALSE(plan.layers[1].bn.has_value());
  Eigen::MatrixXd expected(2, 2);
  expected << 1, 2,
              -6, -8;
  EXPECT_EQ(layer_matrix(m.model, plan.layers[0], options.read), expected);
  options.read.method = Method::Cosvr;
  Eigen::MatrixXd cosvr(4, 1);
  cosvr << 1, 2, -6, -8;
  EXPECT_EQ(layer_matrix(m.model, plan.layers[0], options.read), cosvr);
}

TEST(FoldBatchnorm, DefaultEpsAndNoAffine) {
  test::TestModel m;
  m.add("fc1.weight", {2, 2}, {1, 2, 3, 4})
      .add_batchnorm("bn1", {}, {1.0, 3.0})  // affine=False: gamma = 1
      .add_random("fc2.weight", {1, 2});
  m.model.order_is_state_dict = true;
  NetworkOptions options;  // eps = 1e-5
  const NetworkPlan plan = plan_network(m.model, options);
  ASSERT_TRUE(plan.layers[0].bn.has_value());
  EXPECT_EQ(plan.layers[0].bn->weight, "");
  const Eigen::MatrixXd M = layer_matrix(m.model, plan.layers[0], options.read);
  const double s0 = 1 / std::sqrt(1.0 + 1e-5), s1 = 1 / std::sqrt(3.0 + 1e-5);
  EXPECT_DOUBLE_EQ(M(0, 0), 1 * s0);
  EXPECT_DOUBLE_EQ(M(0, 1), 2 * s0);
  EXPECT_DOUBLE_EQ(M(1, 0), 3 * s1);
  EXPECT_DOUBLE_EQ(M(1, 1), 4 * s1);
}

TEST(FoldBatchnorm, PureFunction) {
  std::vector<double> w = {1, 1, 1, 2, 2, 2};
  fold_batchnorm(w, 2, {3, 0.5}, {9 - 1e-3, 1 - 1e-3}, 1e-3);
  EXPECT_DOUBLE_EQ(w[0], 1.0);
  EXPECT_DOUBLE_EQ(w[2], 1.0);
  EXPECT_DOUBLE_EQ(w[3], 1.0);
  EXPECT_DOUBLE_EQ(w[5], 1.0);
}

TEST(FoldBatchnorm, IgnoreModeLeavesLayersAlone) {
  test::TestModel m;
  m.add("features.0.weight", {2, 1, 1, 2}, {1, 2, 3, 4})
      .add_batchnorm("features.1", {2, -1}, {4, 0.25})
      .add_random("features.3.weight", {3, 2, 1, 1});
  NetworkOptions options;
  options.read.batchnorm = BatchNormMode::Ignore;
  const NetworkPlan plan = plan_network(m.model, options);
  EXPECT_FALSE(plan.layers[0].bn.has_value());
  Eigen::MatrixXd expected(2, 2);
  expected << 1, 2,
              3, 4;
  EXPECT_EQ(layer_matrix(m.model, plan.layers[0], options.read), expected);
}

TEST(BatchnormAssociation, VggStyleAlphabeticalStorage) {
  test::TestModel m;
  m.add_random("classifier.0.weight", {5, 6 * 4})
      .add_random("classifier.2.weight", {3, 5})
      .add_random("features.0.weight", {4, 1, 3, 3})
      .add_batchnorm("features.1", {1, 1, 1, 1}, {1, 1, 1, 1})
      .add_batchnorm("features.4", {1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1})
      .add_random("features.3.weight", {6, 4, 3, 3});
  const NetworkPlan plan = plan_network(m.model, NetworkOptions{});
  ASSERT_EQ(plan.layers.size(), 4u);
  ASSERT_TRUE(plan.layers[0].bn.has_value());
  EXPECT_EQ(plan.layers[0].bn->prefix, "features.1");
  ASSERT_TRUE(plan.layers[1].bn.has_value());
  EXPECT_EQ(plan.layers[1].bn->prefix, "features.4");
  EXPECT_FALSE(plan.layers[2].bn.has_value());
  EXPECT_FALSE(plan.layers[3].bn.has_value());
  EXPECT_TRUE(plan.unfolded_batchnorms.empty());
}

TEST(BatchnormAssociation, NamedSiblingsWithoutStoredOrder) {
  // conv1/bn1, conv2/bn2 stored alphabetically: bn1 sorts before conv1, the names pair them.
  test::TestModel m;
  m.add_batchnorm("bn1", {1, 1, 1}, {1, 1, 1})
      .add_batchnorm("bn2", {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1})
      .add_random("conv1.weight", {3, 1, 3, 3})
      .add_random("conv2.weight", {5, 3, 3, 3});
  const NetworkPlan plan = plan_network(m.model, NetworkOptions{});
  ASSERT_TRUE(plan.layers[0].bn.has_value());
  EXPECT_EQ(plan.layers[0].bn->prefix, "bn1");
  ASSERT_TRUE(plan.layers[1].bn.has_value());
  EXPECT_EQ(plan.layers[1].bn->prefix, "bn2");
}

TEST(BatchnormAssociation, StateDictOrderAdjacency) {
  test::TestModel m("model.pth");
  m.model.order_is_state_dict = true;
  m.add_random("stem.weight", {3, 1, 3, 3})
      .add_batchnorm("norm", {1, 1, 1}, {1, 1, 1})
      .add_random("head.weight", {2, 3});
  const NetworkPlan plan = plan_network(m.model, NetworkOptions{});
  EXPECT_EQ(plan.layers[0].name, "stem.weight");
  ASSERT_TRUE(plan.layers[0].bn.has_value());
  EXPECT_EQ(plan.layers[0].bn->prefix, "norm");
}

TEST(BatchnormAssociation, BatchnormBeforeFirstLayerIsReportedUnfolded) {
  test::TestModel m("model.pth");
  m.model.order_is_state_dict = true;
  m.add_batchnorm("input_norm", {1, 1}, {1, 1})
      .add_random("fc1.weight", {3, 2})
      .add_random("fc2.weight", {2, 3});
  const NetworkPlan plan = plan_network(m.model, NetworkOptions{});
  EXPECT_FALSE(plan.layers[0].bn.has_value());
  EXPECT_EQ(plan.unfolded_batchnorms, (std::vector<std::string>{"input_norm"}));
}

}  // namespace
}  // namespace svr
