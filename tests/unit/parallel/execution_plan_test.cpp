#include "svr/parallel/execution_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <tuple>
#include <utility>

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
    const ExecutionPlan plan = plan_execution(shapes, ranks, 20, 3, GridPolicy{1, 0.0});
    EXPECT_TRUE(plan.one_grid_of_all_ranks());
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
  const ExecutionPlan four = plan_execution(shapes, 4, 20, 3, GridPolicy{1, 0.0});
  EXPECT_EQ(four.layers[0].grid.rows, 2);
  EXPECT_EQ(four.layers[0].grid.cols, 2);
}

TEST(ExecutionPlan, MinDimOneForcesEveryLayerOntoScalapack) {
  const std::vector<LayerShape> shapes{{1, 9}, {3, 1}, {64, 64}};
  const ExecutionPlan plan = plan_execution(shapes, 3, 1, 64, GridPolicy{1, 0.0});
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
  EXPECT_NE(text.find("ScaLAPACK, team 0: 1x2 grid of ranks 0-1"), std::string::npos) << text;
  EXPECT_NE(text.find("team 0: 1x2 grid of ranks 0-1, layers 2"), std::string::npos) << text;
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
  EXPECT_THROW(plan_execution({{1, 1}}, 1, 1, 1, GridPolicy{-1, 0.0}), std::invalid_argument);
  EXPECT_THROW(plan_execution({{1, 1}}, 1, 1, 1, GridPolicy{0, -1.0}), std::invalid_argument);
  GridPolicy negative_rank;
  negative_rank.truncation.rank = -1;
  EXPECT_THROW(plan_execution({{1, 1}}, 1, 1, 1, negative_rank), std::invalid_argument);
}

constexpr double kMiB = 1024.0 * 1024.0;

// Every ScaLAPACK layer is in exactly one team, teams are consecutive rank ranges in order of
// their first layer, and the layers know their team.
void expect_consistent_teams(const ExecutionPlan& plan) {
  std::vector<int> seen(plan.layers.size(), 0);
  int next_rank = 0;
  std::size_t previous_first_layer = 0;
  for (std::size_t t = 0; t < plan.teams.size(); ++t) {
    const GridTeam& team = plan.teams[t];
    EXPECT_EQ(team.first_rank, next_rank);
    next_rank += team.grid.size();
    ASSERT_FALSE(team.layers.empty());
    EXPECT_TRUE(std::is_sorted(team.layers.begin(), team.layers.end()));
    if (t > 0) EXPECT_GT(team.layers.front(), previous_first_layer);
    previous_first_layer = team.layers.front();
    EXPECT_EQ(team.grid.rows, near_square_shape(team.grid.size()).rows);
    for (std::size_t l : team.layers) {
      ++seen[l];
      EXPECT_EQ(plan.layers[l].team, static_cast<int>(t));
      EXPECT_EQ(plan.layers[l].first_rank, team.first_rank);
      EXPECT_EQ(plan.layers[l].grid.size(), team.grid.size());
    }
    for (int r = team.first_rank; r < team.first_rank + team.grid.size(); ++r)
      EXPECT_EQ(plan.team_of(r), static_cast<int>(t));
  }
  EXPECT_LE(next_rank, plan.ranks);
  for (int r = next_rank; r < plan.ranks; ++r) EXPECT_EQ(plan.team_of(r), -1);
  for (std::size_t l = 0; l < plan.layers.size(); ++l)
    EXPECT_EQ(seen[l], plan.layers[l].engine == SvdEngine::Scalapack ? 1 : 0) << "layer " << l;
}

// VGG16's weight matrices (--method svr): 13 convolutions out x in k^2, then the classifier.
std::vector<LayerShape> vgg16_shapes() {
  return {{64, 27},    {64, 576},     {128, 576},   {128, 1152}, {256, 1152}, {256, 2304},
          {256, 2304}, {512, 2304},   {512, 4608},  {512, 4608}, {512, 4608}, {512, 4608},
          {512, 4608}, {4096, 25088}, {4096, 4096}, {1000, 4096}};
}

TEST(SplitLayers, TheDominantLongLayerIsSplitOverATeam) {
  const std::vector<LayerShape> shapes = vgg16_shapes();
  const std::size_t classifier0 = 13;
  // One rank: nothing to split over.
  const ExecutionPlan one = plan_execution(shapes, 1, 8192, 64);
  EXPECT_TRUE(one.scalapack_layers().empty());
  for (int ranks : {2, 3, 4}) {
    const ExecutionPlan plan = plan_execution(shapes, ranks, 8192, 64);
    ASSERT_EQ(plan.scalapack_layers(), std::vector<std::size_t>{classifier0}) << ranks;
    const LayerExecution& split = plan.layers[classifier0];
    EXPECT_TRUE(split.split);
    EXPECT_EQ(split.first_rank, 0);
    EXPECT_EQ(split.grid.size(), ranks);  // the only team gets every rank
    // classifier.3 is square (no QR to share) and below the average: LAPACK.
    EXPECT_FALSE(plan.layers[14].split);
    EXPECT_EQ(plan.layers[14].engine, SvdEngine::Lapack);
    // The core's r^3 on rank 0, the rest shared; the LAPACK layers dealt on top.
    const double r3 = 4096.0 * 4096.0 * 4096.0, shared = (split.cost - r3) / ranks;
    EXPECT_DOUBLE_EQ(plan.split_load_of(0), shared + r3);
    for (int r = 1; r < ranks; ++r) EXPECT_DOUBLE_EQ(plan.split_load_of(r), shared);
    std::vector<double> load(static_cast<std::size_t>(ranks));
    for (int r = 0; r < ranks; ++r)
      load[static_cast<std::size_t>(r)] = plan.split_load_of(r) + plan.lapack_load_of(r);
    // Balanced far better than classifier.0 whole on one rank.
    EXPECT_LT(*std::max_element(load.begin(), load.end()), 0.75 * split.cost) << ranks;
    EXPECT_EQ(plan.layers[14].rank, 1) << "classifier.3 goes where the core is not";
    const std::string text = describe_plan(plan, {});
    EXPECT_NE(text.find("split: LQ on the grid, the core by LAPACK on rank 0"), std::string::npos)
        << text;
    EXPECT_NE(text.find("of split layers"), std::string::npos) << text;
  }
}

TEST(SplitLayers, OnlyDominantLayersThatFitAreSplit) {
  const std::vector<LayerShape> shapes = vgg16_shapes();
  const auto split_layers = [](const ExecutionPlan& plan) {
    std::vector<std::size_t> split;
    for (std::size_t l = 0; l < plan.layers.size(); ++l)
      if (plan.layers[l].split) split.push_back(l);
    return split;
  };
  // Off.
  GridPolicy off;
  off.split_min_dim = 0;
  const ExecutionPlan unsplit = plan_execution(shapes, 2, 8192, 64, off);
  EXPECT_TRUE(unsplit.scalapack_layers().empty());
  EXPECT_DOUBLE_EQ(unsplit.split_load_of(0), 0.0);
  EXPECT_EQ(describe_plan(unsplit, {}).find("split"), std::string::npos);
  // Its short side below split_min_dim.
  GridPolicy high;
  high.split_min_dim = 4097;
  EXPECT_TRUE(split_layers(plan_execution(shapes, 2, 8192, 64, high)).empty());
  // The core's LAPACK SVD does not fit the budget (it does at split_core_bytes).
  GridPolicy tight;
  tight.memory_per_rank_bytes = split_core_bytes({4096, 25088}, 2) - 1.0;
  EXPECT_TRUE(split_layers(plan_execution(shapes, 2, 8192, 64, tight)).empty());
  tight.memory_per_rank_bytes = split_core_bytes({4096, 25088}, 2);
  EXPECT_EQ(split_layers(plan_execution(shapes, 2, 8192, 64, tight)), std::vector<std::size_t>{13});
  // Not above the average load: two equal long layers on two ranks stay whole.
  const std::vector<LayerShape> pair{{2048, 8192}, {2048, 8192}};
  EXPECT_TRUE(split_layers(plan_execution(pair, 2, 8192, 64)).empty());
  // Square, or less than twice as long as wide, is split too (through the bidiagonal form).
  EXPECT_EQ(split_layers(plan_execution({{4096, 4096}, {64, 64}}, 2, 8192, 64)),
            std::vector<std::size_t>{0});
  EXPECT_EQ(split_layers(plan_execution({{3000, 5999}, {64, 64}}, 2, 8192, 64)),
            std::vector<std::size_t>{0});
  EXPECT_EQ(split_layers(plan_execution({{3000, 6000}, {64, 64}}, 2, 8192, 64)),
            std::vector<std::size_t>{0});
  // A grouped convolution is factored block by block, never on a grid.
  EXPECT_TRUE(split_layers(plan_execution({{2048, 8192, 2}, {64, 64}}, 2, 8192, 64)).empty());
  // A layer already at --scalapack-min-dim is a plain ScaLAPACK layer, not a split one.
  const ExecutionPlan large = plan_execution(shapes, 2, 4096, 64);
  EXPECT_TRUE(split_layers(large).empty());
  EXPECT_EQ(large.layers[13].engine, SvdEngine::Scalapack);
  GridPolicy negative;
  negative.split_min_dim = -1;
  EXPECT_THROW(plan_execution(shapes, 2, 8192, 64, negative), std::invalid_argument);
}

// A square dominant layer (no QR or LQ makes it smaller) is split through the bidiagonal form:
// its core, the bidiagonal SVD, is kBidiagonalCoreShare r^3 on the first rank, the rest shared.
TEST(SplitLayers, ASquareDominantLayerGoesThroughTheBidiagonalForm) {
  EXPECT_TRUE(split_reduces_first({3000, 6000}));
  EXPECT_TRUE(split_reduces_first({6000, 3000}));
  EXPECT_FALSE(split_reduces_first({3000, 5999}));
  EXPECT_FALSE(split_reduces_first({4096, 4096}));
  const double r3 = 4096.0 * 4096.0 * 4096.0;
  EXPECT_DOUBLE_EQ(split_core_cost({4096, 4096}), kBidiagonalCoreShare * r3);
  EXPECT_DOUBLE_EQ(split_core_cost({4096, 8192}), r3);
  for (int ranks : {2, 3, 4}) {
    const std::vector<LayerShape> shapes{{512, 4096}, {4096, 4096}, {4096, 512}};
    const ExecutionPlan plan = plan_execution(shapes, ranks, 8192, 64);
    const LayerExecution& square = plan.layers[1];
    ASSERT_TRUE(square.split) << ranks;
    EXPECT_EQ(square.grid.size(), ranks);
    const double core = kBidiagonalCoreShare * r3, shared = (square.cost - core) / ranks;
    EXPECT_DOUBLE_EQ(plan.split_load_of(0), shared + core) << ranks;
    for (int r = 1; r < ranks; ++r) EXPECT_DOUBLE_EQ(plan.split_load_of(r), shared) << ranks;
    // The two small layers go where the core is not.
    EXPECT_NE(plan.layers[0].rank, 0) << ranks;
    EXPECT_NE(plan.layers[2].rank, 0) << ranks;
    const std::string text = describe_plan(plan, {});
    EXPECT_NE(text.find("split: bidiagonal form on the grid, its SVD by LAPACK on rank 0"),
              std::string::npos)
        << text;
  }
}

TEST(SplitLayers, NoSplitLayerIsLeftAloneOnOneRank) {
  // Two long layers above the average load of 3 ranks, too small to keep 3 ranks busy each
  // (2M elements, under min_local_elements per rank on 3): the teams would be 2 + 1 ranks, and a
  // split on one rank is a QR on a 1 x 1 grid before LAPACK's SVD of the core on that rank.
  const std::vector<LayerShape> shapes{{1024, 2048}, {1024, 2048}, {64, 64}};
  const ExecutionPlan plan = plan_execution(shapes, 3, 8192, 64);
  int split = 0;
  for (const LayerExecution& layer : plan.layers) {
    if (!layer.split) continue;
    ++split;
    EXPECT_GT(layer.grid.size(), 1);
  }
  EXPECT_EQ(split, 1);
  ASSERT_EQ(plan.teams.size(), 1u);
  EXPECT_EQ(plan.teams[0].grid.size(), 3);
  // The other long layer is a LAPACK layer again, on a rank without the split layer's core.
  const LayerExecution& whole = plan.layers[plan.layers[0].split ? 1 : 0];
  EXPECT_EQ(whole.engine, SvdEngine::Lapack);
  EXPECT_EQ(whole.team, -1);
  EXPECT_GE(whole.rank, 0);
  EXPECT_NE(whole.rank, plan.teams[0].first_rank);
}

TEST(LayerPartitionWithLoads, LayersGoOnTopOfTheInitialLoads) {
  const std::vector<LayerShape> shapes{{10, 10}, {10, 10}, {5, 5}};
  const LayerPartition partition(shapes, std::vector<double>{2500.0, 0.0});
  EXPECT_EQ(partition.owner(0), 1);
  EXPECT_EQ(partition.owner(1), 1);
  EXPECT_EQ(partition.owner(2), 1);
  EXPECT_DOUBLE_EQ(partition.load_of(0), 2500.0);
  EXPECT_DOUBLE_EQ(partition.load_of(1), 2125.0);
  EXPECT_THROW(LayerPartition(shapes, std::vector<double>{}), std::invalid_argument);
}

TEST(GridTeams, WithoutABudgetEveryRankLeadsATeamOfEqualLayers) {
  const std::vector<LayerShape> four(4, LayerShape{64, 64});
  const ExecutionPlan two = plan_execution(four, 2, 1, 8);
  ASSERT_EQ(two.teams.size(), 2u);
  expect_consistent_teams(two);
  EXPECT_FALSE(two.one_grid_of_all_ranks());
  // Runs of consecutive layers, as balanced as LPT's alternate deal (0, 2 and 1, 3), win: the
  // pairs (0, 1) and (2, 3) stay within a team.
  EXPECT_EQ(two.teams[0].layers, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(two.teams[1].layers, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(two.teams[0].grid.size(), 1);
  ASSERT_EQ(two.pairs.size(), 3u);
  EXPECT_EQ(two.pairs[0].team, 0);
  EXPECT_EQ(two.pairs[1].team, -1);
  EXPECT_EQ(two.pairs[2].team, 1);
  EXPECT_TRUE(two.teams_in_runs);
  EXPECT_NE(
      describe_plan(two, {"a", "b", "c", "d"}).find("2 concurrent team(s) of consecutive layers"),
      std::string::npos);

  const ExecutionPlan eight = plan_execution(four, 8, 1, 8);
  ASSERT_EQ(eight.teams.size(), 4u);
  expect_consistent_teams(eight);
  for (const GridTeam& team : eight.teams) EXPECT_EQ(team.grid.size(), 2);
}

TEST(GridTeams, RunsOfConsecutiveLayersUnlessTheyAreMuchSlower) {
  // Costs 8, 8, 1, 1 on 2 ranks: the best runs are {0} and {1, 2, 3} (10 against LPT's 9 and
  // 9), more than kRunsSlack slower, so LPT's deal stays.
  const std::vector<LayerShape> shapes{{20, 20}, {20, 20}, {10, 10}, {10, 10}};
  const ExecutionPlan plan = plan_execution(shapes, 2, 1, 4);
  ASSERT_EQ(plan.teams.size(), 2u);
  EXPECT_EQ(plan.teams[0].layers, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(plan.teams[1].layers, (std::vector<std::size_t>{1, 3}));
  ASSERT_GT(10.0 / 9.0, kRunsSlack);
  EXPECT_FALSE(plan.teams_in_runs);
  EXPECT_NE(describe_plan(plan, {"a", "b", "c", "d"})
                .find("2 concurrent team(s) dealt the layers by cost"),
            std::string::npos);
  // Costs 8, 1, 1, 8, 1, 1 on 3 ranks: LPT's {0}, {3}, {1, 2, 4, 5} take 8, the best runs
  // {0, 1}, {2, 3}, {4, 5} 9: more than kRunsSlack slower, LPT again. Six equal layers: runs.
  const std::vector<LayerShape> mixed{{20, 20}, {10, 10}, {10, 10}, {20, 20}, {10, 10}, {10, 10}};
  const ExecutionPlan lpt = plan_execution(mixed, 3, 1, 4);
  ASSERT_EQ(lpt.teams.size(), 3u);
  EXPECT_EQ(lpt.teams[0].layers, (std::vector<std::size_t>{0}));
  EXPECT_EQ(lpt.teams[1].layers, (std::vector<std::size_t>{1, 2, 4, 5}));
  EXPECT_EQ(lpt.teams[2].layers, (std::vector<std::size_t>{3}));
  const ExecutionPlan runs = plan_execution(std::vector<LayerShape>(6, {10, 10}), 3, 1, 4);
  ASSERT_EQ(runs.teams.size(), 3u);
  expect_consistent_teams(runs);
  EXPECT_EQ(runs.teams[0].layers, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(runs.teams[1].layers, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(runs.teams[2].layers, (std::vector<std::size_t>{4, 5}));
}

TEST(GridTeams, RunsAreTheBestCutAndLoseOnlyBeyondTheSlack) {
  // Random square layers, T teams of one rank each (max_grids T, T ranks): the plan's teams are
  // the runs with the least largest cost (a brute-force search over every cut) when that cost
  // is within kRunsSlack of LPT's largest, else LPT's deal.
  std::uint64_t state = 777;
  auto next = [&](int n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>((state >> 33) % static_cast<std::uint64_t>(n));
  };
  int runs_taken = 0, lpt_taken = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const int layers = 4 + next(6), teams = 2 + next(3);
    std::vector<LayerShape> shapes;
    std::vector<double> cost;
    for (int l = 0; l < layers; ++l) {
      const std::int64_t n = 10 + next(30);
      shapes.push_back({n, n});
      cost.push_back(static_cast<double>(n * n * n));
    }
    // The best cut: every way to place teams - 1 cuts between the layers.
    double best = 1e300;
    for (std::uint32_t mask = 0; mask < (1u << (layers - 1)); ++mask) {
      if (__builtin_popcount(mask) != teams - 1) continue;
      double run = 0.0, largest = 0.0;
      for (int l = 0; l < layers; ++l) {
        run += cost[static_cast<std::size_t>(l)];
        if (l + 1 == layers || (mask >> l) & 1u) {
          largest = std::max(largest, run);
          run = 0.0;
        }
      }
      best = std::min(best, largest);
    }
    // LPT: by cost (stable), each to the least loaded team (the lower on ties).
    std::vector<int> order(static_cast<std::size_t>(layers));
    for (int l = 0; l < layers; ++l) order[static_cast<std::size_t>(l)] = l;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return cost[static_cast<std::size_t>(a)] > cost[static_cast<std::size_t>(b)];
    });
    std::vector<double> load(static_cast<std::size_t>(teams), 0.0);
    for (int l : order)
      *std::min_element(load.begin(), load.end()) += cost[static_cast<std::size_t>(l)];
    const double lpt = *std::max_element(load.begin(), load.end());

    const ExecutionPlan plan = plan_execution(shapes, teams, 1, 4, GridPolicy{teams, 0.0, 1e12});
    ASSERT_EQ(plan.teams.size(), static_cast<std::size_t>(teams));
    expect_consistent_teams(plan);
    double largest = 0.0;
    bool consecutive = true;
    for (const GridTeam& team : plan.teams) {
      largest = std::max(largest, team.cost);
      consecutive =
          consecutive && team.layers.back() - team.layers.front() + 1 == team.layers.size();
    }
    if (best <= kRunsSlack * lpt) {
      EXPECT_TRUE(consecutive) << "trial " << trial;
      EXPECT_NEAR(largest, best, 1e-9 * best) << "trial " << trial;
      ++runs_taken;
    } else {
      EXPECT_DOUBLE_EQ(largest, lpt) << "trial " << trial;
      ++lpt_taken;
    }
  }
  // Both outcomes are exercised.
  EXPECT_GT(runs_taken, 20) << lpt_taken;  // 152 and 48
  EXPECT_GT(lpt_taken, 20);
}

TEST(GridTeams, RanksFollowTheCost) {
  // Costs 8 : 1 (40^3 and 20^3): on 9 ranks the big layer's team gets 8 ranks, the other 1.
  const ExecutionPlan plan = plan_execution({{40, 40}, {20, 20}}, 9, 1, 4);
  ASSERT_EQ(plan.teams.size(), 2u);
  expect_consistent_teams(plan);
  EXPECT_EQ(plan.teams[0].grid.size(), 8);
  EXPECT_EQ(plan.teams[0].grid.rows, 2);
  EXPECT_EQ(plan.teams[1].grid.size(), 1);
  EXPECT_EQ(plan.teams[1].first_rank, 8);
  // Layer order decides team order, not cost.
  const ExecutionPlan swapped = plan_execution({{20, 20}, {40, 40}}, 9, 1, 4);
  EXPECT_EQ(swapped.teams[0].grid.size(), 1);
  EXPECT_EQ(swapped.teams[1].grid.size(), 8);
  EXPECT_EQ(swapped.layers[1].first_rank, 1);
}

TEST(GridTeams, MaxGridsCapsTheTeams) {
  const std::vector<LayerShape> six(6, LayerShape{30, 50});
  for (int cap : {1, 2, 3}) {
    const ExecutionPlan plan = plan_execution(six, 4, 1, 8, GridPolicy{cap, 0.0});
    EXPECT_EQ(plan.teams.size(), static_cast<std::size_t>(std::min(cap, 4)));
    expect_consistent_teams(plan);
  }
  EXPECT_TRUE(plan_execution(six, 4, 1, 8, GridPolicy{1, 0.0}).one_grid_of_all_ranks());
  // Never more teams than layers or ranks.
  EXPECT_EQ(plan_execution(six, 4, 1, 8).teams.size(), 4u);
  EXPECT_EQ(plan_execution(six, 16, 1, 8).teams.size(), 6u);
}

TEST(GridTeams, TheBudgetTradesTeamsForMemory) {
  // The wide-MLP benchmark: four 4096 x 4096 layers on 2 ranks. Two teams of one rank each hold
  // two layers whole (about 1.5 GiB a rank); one team of both ranks about 1.1 GiB.
  // (min_local_elements 1e12: more teams whenever they fit, to see the budget alone.)
  const std::vector<LayerShape> mlp(4, LayerShape{4096, 4096});
  const ExecutionPlan roomy = plan_execution(mlp, 2, 1, 64, GridPolicy{0, 4096 * kMiB, 1e12});
  EXPECT_EQ(roomy.teams.size(), 2u);
  EXPECT_TRUE(roomy.budget_warning.empty());
  const ExecutionPlan tight = plan_execution(mlp, 2, 1, 64, GridPolicy{0, 1200 * kMiB, 1e12});
  ASSERT_EQ(tight.teams.size(), 1u);
  EXPECT_TRUE(tight.one_grid_of_all_ranks());
  EXPECT_LE(tight.teams[0].bytes_per_rank, 1200 * kMiB);
  EXPECT_TRUE(tight.budget_warning.empty());
  for (const GridTeam& team : roomy.teams) EXPECT_LE(team.bytes_per_rank, 4096 * kMiB);

  // Over the budget everywhere: one team of all ranks, and a warning that says by how much.
  const ExecutionPlan over = plan_execution(mlp, 2, 1, 64, GridPolicy{0, 500 * kMiB});
  ASSERT_EQ(over.teams.size(), 1u);
  EXPECT_EQ(over.teams[0].grid.size(), 2);
  EXPECT_NE(over.budget_warning.find("even on all 2 ranks"), std::string::npos)
      << over.budget_warning;
  EXPECT_NE(over.budget_warning.find("500 MiB"), std::string::npos) << over.budget_warning;
  EXPECT_NE(describe_plan(over, {"a", "b", "c", "d"}).find("warning: "), std::string::npos);
}

TEST(GridTeams, ABudgetGivesABigLayerTheRanksItNeeds) {
  // One layer needs 3 ranks within the budget, the small one 1: on 4 ranks both fit at once.
  const std::vector<LayerShape> shapes{{6000, 6000}, {1000, 1000}};
  const double budget = grid_bytes_per_rank({shapes[0]}, 3) + 1.0;
  ASSERT_GT(grid_bytes_per_rank({shapes[0]}, 2), budget);
  const ExecutionPlan plan = plan_execution(shapes, 4, 1, 64, GridPolicy{0, budget, 1e12});
  ASSERT_EQ(plan.teams.size(), 2u);
  expect_consistent_teams(plan);
  EXPECT_EQ(plan.teams[0].grid.size(), 3);
  EXPECT_EQ(plan.teams[1].grid.size(), 1);
  // On 3 ranks they cannot run side by side: one team of all 3.
  const ExecutionPlan three = plan_execution(shapes, 3, 1, 64, GridPolicy{0, budget, 1e12});
  ASSERT_EQ(three.teams.size(), 1u);
  EXPECT_EQ(three.teams[0].layers, (std::vector<std::size_t>{0, 1}));
}

TEST(GridTeams, OneGridWhileEveryRankHasEnoughWork) {
  // Four 4096 x 4096 layers (16.8M elements each): one grid up to 16 ranks (1M elements each),
  // then more teams: 64 ranks -> 4 teams of 16.
  const std::vector<LayerShape> mlp(4, LayerShape{4096, 4096});
  for (int ranks : {1, 2, 4, 16}) {
    const ExecutionPlan plan = plan_execution(mlp, ranks, 1, 64);
    EXPECT_TRUE(plan.one_grid_of_all_ranks()) << ranks;
  }
  const ExecutionPlan wide = plan_execution(mlp, 32, 1, 64);
  ASSERT_EQ(wide.teams.size(), 2u);
  EXPECT_EQ(wide.teams[0].grid.size(), 16);
  const ExecutionPlan many = plan_execution(mlp, 64, 1, 64);
  ASSERT_EQ(many.teams.size(), 4u);
  expect_consistent_teams(many);
  for (const GridTeam& team : many.teams) EXPECT_EQ(team.grid.size(), 16);
  // Beyond one team per layer the teams just grow.
  const ExecutionPlan huge = plan_execution(mlp, 1000, 1, 64);
  ASSERT_EQ(huge.teams.size(), 4u);
  EXPECT_EQ(huge.teams[0].grid.size(), 250);
  // A smaller threshold keeps one grid longer; 0 never asks for more teams.
  EXPECT_TRUE(plan_execution(mlp, 64, 1, 64, GridPolicy{0, 0.0, 0.0}).one_grid_of_all_ranks());
}

TEST(GridTeams, PairsWithinATeamStayOnItsGrid) {
  // LPT puts layers 0, 1 on team 0 and 2, 3 on team 1 (costs 64000, 8000, 64000, 8000).
  const std::vector<LayerShape> shapes{{40, 40}, {20, 20}, {40, 40}, {20, 20}};
  const ExecutionPlan plan = plan_execution(shapes, 4, 1, 8, GridPolicy{2, 0.0, 1e12});
  ASSERT_EQ(plan.teams.size(), 2u);
  ASSERT_EQ(plan.teams[0].layers, (std::vector<std::size_t>{0, 1}));
  ASSERT_EQ(plan.teams[1].layers, (std::vector<std::size_t>{2, 3}));
  ASSERT_EQ(plan.pairs.size(), 3u);
  EXPECT_EQ(plan.pairs[0].team, 0);
  EXPECT_EQ(plan.pairs[1].team, -1);  // across teams: the grid of all ranks
  EXPECT_EQ(plan.pairs[2].team, 1);
  for (const PairExecution& pair : plan.pairs) EXPECT_TRUE(pair.distributed);
  EXPECT_GE(plan.pairs[0].owner, 0);
  EXPECT_LT(plan.pairs[0].owner, 2);
  EXPECT_GE(plan.pairs[2].owner, 2);
  EXPECT_LT(plan.pairs[2].owner, 4);
  const std::string text = describe_plan(plan, {"a", "b", "c", "d"});
  EXPECT_NE(text.find("(ScaLAPACK grid of team 1)"), std::string::npos) << text;
  // One grid of all ranks: no pair is a team's own.
  for (const PairExecution& pair :
       plan_execution(shapes, 4, 1, 8, GridPolicy{1, 0.0, 0.0}).pairs)
    EXPECT_EQ(pair.team, -1);
}

TEST(GridTeams, MemoryModelMatchesTheWideMlpMeasurement) {
  // docs/benchmarks.md (wide MLP, 2026-12-01): largest rank's peak 1,954 MiB at 1 rank and
  // 1,021 MiB at 2 ranks. The model may overestimate (it is a budget), by at most 15%.
  const std::vector<LayerShape> mlp(4, LayerShape{4096, 4096});
  for (const auto& [ranks, measured] : {std::pair<int, double>{1, 1954}, {2, 1021}}) {
    const double model = grid_bytes_per_rank(mlp, ranks) / kMiB;
    EXPECT_GE(model, measured) << ranks << " rank(s)";
    EXPECT_LE(model, 1.15 * measured) << ranks << " rank(s)";
  }
}

// A policy with the budget `mib` per rank, more teams whenever they fit, and top (or bottom) K.
GridPolicy truncated_policy(double mib, std::int64_t K, bool bottom = false) {
  GridPolicy policy{0, mib * kMiB, 1e12};
  policy.truncation = Truncation{K, bottom};
  return policy;
}

TEST(TruncatedMemory, TheModelCountsTheKeptTripletsAndTheKrylovBasis) {
  // 1000 x 3000, K = 50: a basis of min(1000, 8 (50 + 12)) = 496 columns on both sides, factors
  // of 50 columns kept; M is copied on 2 or more ranks and always for the bottom K (with its
  // 1000 x 1000 triangle).
  const LayerShape shape{1000, 3000};
  const double factors = 4000.0 * 50, basis = 2.0 * 4000 * 496, m = 3e6;
  const auto bytes = [](double doubles, int ranks) {
    return 8.0 * doubles / ranks + kRankOverheadBytes;
  };
  EXPECT_DOUBLE_EQ(grid_bytes_per_rank({shape}, 1, {50, false}), bytes(m + basis + factors, 1));
  EXPECT_DOUBLE_EQ(grid_bytes_per_rank({shape}, 2, {50, false}), bytes(2 * m + basis + factors, 2));
  EXPECT_DOUBLE_EQ(grid_bytes_per_rank({shape}, 1, {50, true}),
                   bytes(2 * m + basis + 1e6 + factors, 1));
  // In single precision the top K's products use a float copy of M: half of M more on one rank,
  // within the copy already counted on two.
  EXPECT_DOUBLE_EQ(grid_bytes_per_rank({shape}, 1, {50, false, true}),
                   bytes(1.5 * m + basis + factors, 1));
  EXPECT_DOUBLE_EQ(grid_bytes_per_rank({shape}, 2, {50, false, true}),
                   bytes(2 * m + basis + factors, 2));
  // The full SVD: M, its copy, U and V^T, and every triplet kept.
  const double full = bytes(2 * m + 2.0 * 4000 * 1000 + 4000.0 * 1000, 2);
  EXPECT_DOUBLE_EQ(grid_bytes_per_rank({shape}, 2), full);
  // K at or above the rank computes (and keeps) everything: the full SVD's memory.
  EXPECT_DOUBLE_EQ(grid_bytes_per_rank({shape}, 2, {1000, false}), full);
  EXPECT_DOUBLE_EQ(grid_bytes_per_rank({shape}, 2, {5000, true}), full);
  EXPECT_EQ(kept_triplets(shape, {50, false}), 50.0);
  EXPECT_EQ(kept_triplets(shape, {5000, false}), 1000.0);
  EXPECT_EQ(kept_triplets(shape, {}), 1000.0);
  // The per-layer bytes of the plan follow the kept factors too.
  GridPolicy top_50;
  top_50.truncation = Truncation{50, false};
  const ExecutionPlan plan = plan_execution({shape, {3000, 1000}}, 2, 1, 64, top_50);
  EXPECT_DOUBLE_EQ(plan.layers[0].bytes, 8.0 * (m + 4001.0 * 50));
  // Falling back to the full SVD on its team: the factors alive then, this layer's full SVD.
  // Layer 0 is the team's first, so its own are the only ones; layer 1 comes after.
  ASSERT_EQ(plan.teams.size(), 1u);
  EXPECT_DOUBLE_EQ(full_svd_bytes_per_rank(plan, 0), bytes(2 * m + 2.0 * 4000 * 1000 + factors, 2));
  EXPECT_DOUBLE_EQ(full_svd_bytes_per_rank(plan_execution({shape, {3000, 1000}}, 2, 1, 64), 0),
                   plan_execution({shape, {3000, 1000}}, 2, 1, 64).teams[0].bytes_per_rank);
  EXPECT_THROW(full_svd_bytes_per_rank(plan_execution({shape, {3000, 1000}}, 2, 5000, 64), 0),
               std::invalid_argument);
}

TEST(TruncatedMemory, MatchesTheWidePairMeasurement) {
  // docs/benchmarks.md (the 16384 x 65536 pair, --max-rank 256, 2026-12-06): peak 8,950 MiB at 1
  // rank (SLEPc on M in place, a basis of 2K) and 8,608 MiB per rank at 2. The model counts the
  // copy and svr's own larger basis: above both, by at most 35% and 20%. The full SVD's model
  // (57,600 MiB at 1 rank) is what --plan warned of before.
  const std::vector<LayerShape> pair{{16384, 65536}, {65536, 16384}};
  for (const auto& [ranks, measured, slack] :
       {std::tuple<int, double, double>{1, 8950, 1.35}, {2, 8608, 1.2}}) {
    const double model = grid_bytes_per_rank(pair, ranks, {256, false}) / kMiB;
    EXPECT_GE(model, measured) << ranks << " rank(s)";
    EXPECT_LE(model, slack * measured) << ranks << " rank(s)";
  }
  EXPECT_NEAR(grid_bytes_per_rank(pair, 1) / kMiB, 57600, 1);
  // Within the 12,500 MiB of a 16 GB node with one rank: no warning with the top 256, a warning
  // (and the same single team) for the full SVD.
  EXPECT_TRUE(
      plan_execution(pair, 1, 8192, 64, truncated_policy(12500, 256)).budget_warning.empty());
  EXPECT_FALSE(
      plan_execution(pair, 1, 8192, 64, truncated_policy(12500, 0)).budget_warning.empty());
}

TEST(TruncatedMemory, TeamsAreSizedForWhatTheTruncatedSvdNeeds) {
  // Four 16384 x 16384 layers on 8 ranks with 3000 MiB each. The full SVD fits only on one team
  // of all 8 (about 2.8 GB per rank: the previous layer's factors, the layer's own and its working
  // set), and not at all when every factor is kept (--save-spectra: about 3.8 GB); the top 64
  // needs 2 ranks a layer: 4 teams of 2.
  const std::vector<LayerShape> mlp(4, LayerShape{16384, 16384});
  const ExecutionPlan full = plan_execution(mlp, 8, 8192, 64, truncated_policy(3000, 0));
  ASSERT_EQ(full.teams.size(), 1u);
  EXPECT_TRUE(full.budget_warning.empty()) << full.budget_warning;
  EXPECT_NEAR(full.teams[0].bytes_per_rank / kMiB, 2816, 1);
  GridPolicy keeping = truncated_policy(3000, 0);
  keeping.keeps_factors = true;
  const ExecutionPlan kept = plan_execution(mlp, 8, 8192, 64, keeping);
  ASSERT_EQ(kept.teams.size(), 1u);
  EXPECT_FALSE(kept.budget_warning.empty());
  EXPECT_NEAR(kept.teams[0].bytes_per_rank / kMiB, 3840, 1);
  const ExecutionPlan top = plan_execution(mlp, 8, 8192, 64, truncated_policy(3000, 64));
  expect_consistent_teams(top);
  ASSERT_EQ(top.teams.size(), 4u);
  EXPECT_TRUE(top.budget_warning.empty()) << top.budget_warning;
  for (const GridTeam& team : top.teams) {
    EXPECT_EQ(team.grid.size(), 2);
    EXPECT_LE(team.bytes_per_rank, 3000 * kMiB);
    // A fallback to the full SVD would need far more than the budget: --plan says how much.
    EXPECT_GT(full_svd_bytes_per_rank(top, team.layers[0]), 2 * 3000 * kMiB);
  }
  const std::string text = describe_plan(top, {"a", "b", "c", "d"});
  EXPECT_NE(text.find("of the top 64 triplets"), std::string::npos) << text;
  EXPECT_NE(text.find("MiB if a layer falls back to the full SVD"), std::string::npos) << text;
  // The bottom K also holds the QR's 16384 x 16384 triangle: 3 ranks a layer, 2 teams of 4.
  const ExecutionPlan bottom = plan_execution(mlp, 8, 8192, 64, truncated_policy(3000, 64, true));
  ASSERT_EQ(bottom.teams.size(), 2u);
  for (const GridTeam& team : bottom.teams) {
    EXPECT_EQ(team.grid.size(), 4);
    EXPECT_LE(team.bytes_per_rank, 3000 * kMiB);
  }
  EXPECT_NE(describe_plan(bottom, {"a", "b", "c", "d"}).find("of the bottom 64"),
            std::string::npos);
  // Without truncation the fallback is the plan itself: no second figure.
  EXPECT_EQ(describe_plan(full, {"a", "b", "c", "d"}).find("falls back"), std::string::npos);
}

std::vector<PairLayers> chain_of(std::size_t layers) {
  std::vector<PairLayers> chain;
  for (std::size_t l = 0; l + 1 < layers; ++l)
    chain.push_back({static_cast<int>(l), static_cast<int>(l + 1)});
  return chain;
}

std::vector<std::size_t> first_layers(std::size_t count) {
  std::vector<std::size_t> layers(count);
  for (std::size_t l = 0; l < count; ++l) layers[l] = l;
  return layers;
}

double mib_per_rank(double doubles, int ranks) {
  return (8.0 * doubles / ranks + kRankOverheadBytes) / kMiB;
}

TEST(TeamMemory, AChainOnOneTeamHoldsTwoLayersFactorsAndOneWorkingSet) {
  // docs/benchmarks.md, "Memory of the factors and E" (2026-12-07): 10 Linear layers of 2048 on
  // one team of 2 ranks, each pair's E computed right after its second layer and the factors
  // freed after their last pair: 357 MiB per rank measured. While layer i is factored the team
  // holds layer i-1's factors (its pair waits for layer i), layer i's and one working set.
  const std::vector<LayerShape> mlp(10, LayerShape{2048, 2048});
  const double r2 = 2048.0 * 2048.0, factors = 2 * r2, working = 2 * r2 + 4 * r2;
  const double model = team_bytes_per_rank(mlp, first_layers(10), chain_of(10), 2, GridPolicy{});
  EXPECT_DOUBLE_EQ(model / kMiB, mib_per_rank(2 * factors + working, 2));
  EXPECT_GE(model / kMiB, 357.0);
  EXPECT_LE(model / kMiB, 1.2 * 357.0);
  // --save-spectra keeps every factor: the model of a team that frees nothing (672 MiB), which
  // is also where the team would be without its pairs.
  GridPolicy keeping;
  keeping.keeps_factors = true;
  const double every = grid_bytes_per_rank(mlp, 2);
  EXPECT_DOUBLE_EQ(team_bytes_per_rank(mlp, first_layers(10), chain_of(10), 2, keeping), every);
  EXPECT_DOUBLE_EQ(every / kMiB, mib_per_rank(10 * factors + working, 2));
  // One layer alone: its factors and working set.
  EXPECT_DOUBLE_EQ(team_bytes_per_rank(mlp, {3}, chain_of(10), 2, GridPolicy{}) / kMiB,
                   mib_per_rank(factors + working, 2));
}

TEST(TeamMemory, AFactorReadFromOutsideTheTeamOrByNoPairStaysToTheEnd) {
  // Layers 0-3 on the team, layer 4 elsewhere. In a chain the team's peak is two layers'
  // factors and a working set; a pair (1, 4) waits for the edges phase, so layer 1's factors
  // stay: three at layer 3.
  const std::vector<LayerShape> shapes(5, LayerShape{1000, 1000});
  const double factors = 2e6, working = 6e6;
  const std::vector<std::size_t> team = first_layers(4);
  std::vector<PairLayers> pairs = chain_of(4);
  EXPECT_DOUBLE_EQ(team_bytes_per_rank(shapes, team, pairs, 1, GridPolicy{}) / kMiB,
                   mib_per_rank(2 * factors + working, 1));
  pairs.push_back({1, 4});
  EXPECT_DOUBLE_EQ(team_bytes_per_rank(shapes, team, pairs, 1, GridPolicy{}) / kMiB,
                   mib_per_rank(3 * factors + working, 1));
  // Layer 0 read by no pair is never freed either: at layer 2, layers 0, 1 and 2.
  EXPECT_DOUBLE_EQ(team_bytes_per_rank(shapes, {0, 1, 2}, {{1, 2}}, 1, GridPolicy{}) / kMiB,
                   mib_per_rank(3 * factors + working, 1));
  // A pair that skips a layer keeps its producer until the layer it skips to: with (0, 2) and
  // (1, 2), layers 0 and 1 are both alive while layer 2 is factored.
  EXPECT_DOUBLE_EQ(
      team_bytes_per_rank(shapes, team, {{0, 1}, {0, 2}, {1, 2}, {2, 3}}, 1, GridPolicy{}) / kMiB,
      mib_per_rank(3 * factors + working, 1));
  EXPECT_DOUBLE_EQ(
      team_bytes_per_rank(shapes, team, {{0, 1}, {0, 2}, {2, 3}}, 1, GridPolicy{}) / kMiB,
      mib_per_rank(2 * factors + working, 1));
}

TEST(TeamMemory, ABudgetOnlyTheFreedFactorsMeetIsNotAWarning) {
  // The 10-layer chain of 2048 on 2 ranks within 500 MiB per rank: one team of both ranks holds
  // 416 MiB at its peak. Counting every factor (672 MiB) made this a warning, and with
  // --memory-per-rank an error before anything was read; with --save-spectra it still is one.
  const std::vector<LayerShape> mlp(10, LayerShape{2048, 2048});
  GridPolicy policy{1, 500 * kMiB};
  const ExecutionPlan plan = plan_execution(mlp, 2, 1, 64, policy);
  ASSERT_EQ(plan.teams.size(), 1u);
  EXPECT_TRUE(plan.budget_warning.empty()) << plan.budget_warning;
  EXPECT_NEAR(plan.teams[0].bytes_per_rank / kMiB, 416, 1);
  policy.keeps_factors = true;
  const ExecutionPlan keeping = plan_execution(mlp, 2, 1, 64, policy);
  EXPECT_NE(keeping.budget_warning.find("672 MiB"), std::string::npos) << keeping.budget_warning;
}

TEST(GridTeams, RandomShapesGiveConsistentPlans) {
  std::uint64_t state = 12345;
  auto next = [&](int n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>((state >> 33) % static_cast<std::uint64_t>(n));
  };
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<LayerShape> shapes(static_cast<std::size_t>(1 + next(8)));
    for (LayerShape& s : shapes) s = {1 + next(3000), 1 + next(3000)};
    const int ranks = 1 + next(12);
    const GridPolicy policy{next(4), next(3) == 0 ? 0.0 : (300.0 + next(2000)) * kMiB};
    const ExecutionPlan plan = plan_execution(shapes, ranks, 1 + next(2000), 16, policy);
    expect_consistent_teams(plan);
    if (policy.max_grids > 0) EXPECT_LE(plan.teams.size(), std::size_t(policy.max_grids));
    if (plan.budget_warning.empty() && policy.memory_per_rank_bytes > 0)
      for (const GridTeam& team : plan.teams)
        EXPECT_LE(team.bytes_per_rank, policy.memory_per_rank_bytes);
    // Freeing factors early never needs more than keeping them all.
    for (const GridTeam& team : plan.teams) {
      std::vector<LayerShape> mine;
      for (std::size_t l : team.layers) mine.push_back(shapes[l]);
      EXPECT_LE(team.bytes_per_rank, grid_bytes_per_rank(mine, team.grid.size()));
    }
    if (!plan.budget_warning.empty()) EXPECT_EQ(plan.teams.size(), 1u);
  }
}

}  // namespace
}  // namespace svr
