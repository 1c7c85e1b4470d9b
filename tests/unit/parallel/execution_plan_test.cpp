#include "svr/execution_plan.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace svr {
namespace {

TEST(ExecutionPlan, WithoutLargeLayersItIsTheLptPartition) {
  const std::vector<LayerShape> shapes{{10, 10}, {8, 8}, {7, 7}, {6, 6}, {5, 5}, {4, 4}};
  const ExecutionPlan plan = plan_execution(shapes, 2, 8192, 64);
  const LayerPartition lpt(shapes, 2);
  ASSERT_EQ(plan.layers.size(), shapes.size());
  for (std::size_t l = 0; l < shapes.size(); ++l) {
    EXPECT_EQ(plan.layers[l].engine, SvdEngine::Lapack);
    EXPECT_EQ(plan.layers[l].rank, lpt.owner(l));
    EXPECT_DOUBLE_EQ(plan.layers[l].cost, LayerPartition::svd_cost(shapes[l]));
  }
  EXPECT_TRUE(plan.scalapack_layers().empty());
  EXPECT_DOUBLE_EQ(plan.lapack_load_of(0), lpt.load_of(0));
  EXPECT_DOUBLE_EQ(plan.lapack_load_of(1), lpt.load_of(1));
  EXPECT_EQ(plan.block_size, 64);
}

TEST(ExecutionPlan, LargeLayersGoToAGridOfAllRanksInLayerOrder) {
  // min dims 20, 5, 30, 20, 19: threshold 20 makes layers 0, 2, 3 large.
  const std::vector<LayerShape> shapes{{20, 40}, {5, 100}, {30, 30}, {20, 20}, {19, 500}};
  for (int ranks : {1, 2, 3, 4, 6}) {
    const ExecutionPlan plan = plan_execution(shapes, ranks, 20, 3);
    EXPECT_EQ(plan.scalapack_layers(), (std::vector<std::size_t>{0, 2, 3}));
    for (std::size_t l : plan.scalapack_layers()) {
      EXPECT_EQ(plan.layers[l].engine, SvdEngine::Scalapack);
      EXPECT_EQ(plan.layers[l].rank, -1);
      EXPECT_EQ(plan.layers[l].grid.size(), ranks);
      EXPECT_EQ(plan.layers[l].grid.rows, near_square_shape(ranks).rows);
    }
    // The small layers: LPT among themselves (layer 4 is costlier, so it goes to rank 0).
    EXPECT_EQ(plan.layers[4].rank, 0);
    EXPECT_EQ(plan.layers[1].rank, ranks > 1 ? 1 : 0);
    double total = 0;
    for (int r = 0; r < ranks; ++r) total += plan.lapack_load_of(r);
    EXPECT_DOUBLE_EQ(total, LayerPartition::svd_cost(shapes[1]) +
                                LayerPartition::svd_cost(shapes[4]));
  }
  const ExecutionPlan four = plan_execution(shapes, 4, 20, 3);
  EXPECT_EQ(four.layers[0].grid.rows, 2);
  EXPECT_EQ(four.layers[0].grid.cols, 2);
}

TEST(ExecutionPlan, MinDimOneForcesEveryLayerOntoScalapack) {
  const std::vector<LayerShape> shapes{{1, 9}, {3, 1}, {64, 64}};
  const ExecutionPlan plan = plan_execution(shapes, 3, 1, 64);
  EXPECT_EQ(plan.scalapack_layers().size(), 3u);
  for (int r = 0; r < 3; ++r) {
    EXPECT_TRUE(plan.lapack_layers_of(r).empty());
    EXPECT_DOUBLE_EQ(plan.lapack_load_of(r), 0.0);
  }
  EXPECT_EQ(plan.layers[0].grid.rows, 1);
  EXPECT_EQ(plan.layers[0].grid.cols, 3);
}

TEST(ExecutionPlan, SameInputSamePlan) {
  const std::vector<LayerShape> shapes{{300, 200}, {200, 9000}, {9000, 9000}, {10, 9000}};
  const ExecutionPlan a = plan_execution(shapes, 5, 8192, 64);
  const ExecutionPlan b = plan_execution(shapes, 5, 8192, 64);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    EXPECT_EQ(a.layers[l].engine, b.layers[l].engine);
    EXPECT_EQ(a.layers[l].rank, b.layers[l].rank);
  }
  EXPECT_EQ(a.scalapack_layers(), std::vector<std::size_t>{2});
  EXPECT_EQ(a.layers[2].grid.rows, 1);  // 5 ranks: a 1x5 grid
  EXPECT_EQ(a.layers[2].grid.cols, 5);
  EXPECT_DOUBLE_EQ(a.layers[2].bytes, 8.0 * (9000.0 * 9000 + (9000.0 + 9000 + 1) * 9000));
}

TEST(ExecutionPlan, DescribesEveryLayer) {
  const ExecutionPlan plan = plan_execution({{64, 27}, {4096, 8192}}, 2, 100, 32);
  const std::string text = describe_plan(plan, {"features.0.weight", "classifier.0.weight"});
  EXPECT_NE(text.find("2 layers on 2 rank(s)"), std::string::npos) << text;
  EXPECT_NE(text.find("block 32"), std::string::npos) << text;
  EXPECT_NE(text.find("1/2"), std::string::npos) << text;
  EXPECT_NE(text.find("features.0.weight"), std::string::npos) << text;
  EXPECT_NE(text.find("64x27"), std::string::npos) << text;
  EXPECT_NE(text.find("LAPACK on rank 0"), std::string::npos) << text;
  EXPECT_NE(text.find("4096x8192"), std::string::npos) << text;
  EXPECT_NE(text.find("ScaLAPACK on a 1x2 grid"), std::string::npos) << text;
}

TEST(ExecutionPlan, RejectsBadArguments) {
  EXPECT_THROW(plan_execution({{1, 1}}, 0, 1, 1), std::invalid_argument);
  EXPECT_THROW(plan_execution({{1, 1}}, 1, 0, 1), std::invalid_argument);
  EXPECT_THROW(plan_execution({{1, 1}}, 1, 1, 0), std::invalid_argument);
}

}  // namespace
}  // namespace svr
