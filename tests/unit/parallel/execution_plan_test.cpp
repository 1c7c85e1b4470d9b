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
    EXPECT_DOUBLE_EQ(total,
                     LayerPartition::svd_cost(shapes[1]) + LayerPartition::svd_cost(shapes[4]));
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

TEST(ExecutionPlan, LapackPairsMoveTheSmallerFactorToItsOwner) {
  // 1 rank: every pair is local.
  const std::vector<LayerShape> shapes{{16, 27}, {32, 144}, {64, 288}, {10, 1024}};
  const ExecutionPlan one = plan_execution(shapes, 1, 8192, 64);
  ASSERT_EQ(one.pairs.size(), 3u);
  for (const PairExecution& pair : one.pairs) {
    EXPECT_EQ(pair.owner, 0);
    EXPECT_EQ(pair.sender, -1);
    EXPECT_FALSE(pair.distributed);
  }
  // 4 ranks, LPT: layer 2 (cost 64*288*64) -> rank 0, layer 1 -> 1, layer 3 -> 2, layer 0 -> 3.
  const ExecutionPlan four = plan_execution(shapes, 4, 8192, 64);
  ASSERT_EQ(four.layers[0].rank, 3);
  ASSERT_EQ(four.layers[1].rank, 1);
  ASSERT_EQ(four.layers[2].rank, 0);
  ASSERT_EQ(four.layers[3].rank, 2);
  // Pair 0: U_0 is 16x16, V_1 is 144x32: U travels to layer 1's rank.
  EXPECT_TRUE(four.pairs[0].sends_u);
  EXPECT_EQ(four.pairs[0].sender, 3);
  EXPECT_EQ(four.pairs[0].owner, 1);
  // Pair 1: U_1 is 32x32, V_2 is 288x64: U travels.
  EXPECT_EQ(four.pairs[1].owner, 0);
  EXPECT_EQ(four.pairs[1].sender, 1);
  EXPECT_DOUBLE_EQ(four.pairs[1].e_entries, 64.0 * 32.0);
  // Pair 2: U_2 is 64x64 = 4096, V_3 is 1024x10 = 10240: U travels.
  EXPECT_TRUE(four.pairs[2].sends_u);
  EXPECT_EQ(four.pairs[2].owner, 2);
  // A larger U than V: V travels and the pair stays with layer l.
  const ExecutionPlan wide = plan_execution({{500, 400}, {5, 500}}, 2, 8192, 64);
  ASSERT_NE(wide.layers[0].rank, wide.layers[1].rank);
  EXPECT_FALSE(wide.pairs[0].sends_u);
  EXPECT_EQ(wide.pairs[0].owner, wide.layers[0].rank);
  EXPECT_EQ(wide.pairs[0].sender, wide.layers[1].rank);
}

TEST(ExecutionPlan, GridPairsGoToTheLapackRankOrTheLeastLoadedOne) {
  // Layers 0, 1, 2 on the grid (min dim >= 20), layer 3 LAPACK.
  const std::vector<LayerShape> shapes{{20, 40}, {30, 30}, {25, 30}, {5, 100}};
  for (int ranks : {1, 2, 3, 5}) {
    const ExecutionPlan plan = plan_execution(shapes, ranks, 20, 3);
    ASSERT_EQ(plan.pairs.size(), 3u);
    for (const PairExecution& pair : plan.pairs) {
      EXPECT_TRUE(pair.distributed);
      EXPECT_EQ(pair.sender, -1);
      EXPECT_GE(pair.owner, 0);
      EXPECT_LT(pair.owner, ranks);
    }
    EXPECT_EQ(plan.pairs[2].owner, plan.layers[3].rank);
    // Pair 0 goes to rank 0 (nothing held yet); pair 1 to the next emptiest rank.
    EXPECT_EQ(plan.pairs[0].owner, 0);
    EXPECT_EQ(plan.pairs[1].owner, ranks > 1 ? 1 : 0);
    std::size_t total = 0;
    for (int r = 0; r < ranks; ++r) total += plan.pairs_of(r).size();
    EXPECT_EQ(total, plan.pairs.size());
  }
}

TEST(ExecutionPlan, MoreRanksThanPairsLeavesSomeRanksWithoutPairs) {
  const ExecutionPlan plan = plan_execution({{8, 8}, {8, 8}, {8, 8}}, 6, 8192, 64);
  std::size_t with_pairs = 0;
  for (int r = 0; r < 6; ++r) with_pairs += plan.pairs_of(r).empty() ? 0 : 1;
  EXPECT_LE(with_pairs, 2u);
  EXPECT_EQ(plan.pairs_of(0).size() + plan.pairs_of(1).size() + plan.pairs_of(2).size() +
                plan.pairs_of(3).size() + plan.pairs_of(4).size() + plan.pairs_of(5).size(),
            2u);
}

TEST(ExecutionPlan, DescribesEveryPair) {
  const ExecutionPlan plan = plan_execution({{64, 27}, {32, 64}, {4096, 8192}}, 2, 100, 32);
  const std::string text = describe_plan(plan, {"a.weight", "b.weight", "c.weight"});
  EXPECT_NE(text.find("pair 1/2  E 32x27 on rank"), std::string::npos) << text;
  EXPECT_NE(text.find("pair 2/2  E 4096x32 on rank"), std::string::npos) << text;
  EXPECT_NE(text.find("(ScaLAPACK grid)"), std::string::npos) << text;
}

TEST(ExecutionPlan, RejectsBadArguments) {
  EXPECT_THROW(plan_execution({{1, 1}}, 0, 1, 1), std::invalid_argument);
  EXPECT_THROW(plan_execution({{1, 1}}, 1, 0, 1), std::invalid_argument);
  EXPECT_THROW(plan_execution({{1, 1}}, 1, 1, 0), std::invalid_argument);
}

}  // namespace
}  // namespace svr
