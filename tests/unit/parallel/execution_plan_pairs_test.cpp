// plan_execution with explicit pairs (PairLayers) of a DAG: owners and senders of pairs that
// are not consecutive, block-diagonal layers (LayerShape::blocks) never on ScaLAPACK and costed
// block by block, teams, and pairs out of range.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "svr/parallel/execution_plan.hpp"

namespace svr {
namespace {

double min_dim(const LayerShape& s) { return static_cast<double>(std::min(s.rows, s.cols)); }

// The documented rule for a pair of two LAPACK layers (PairExecution): one rank owns both: it
// owns the pair; else the smaller of U_from (rows x r) and V_to (cols x r) travels to the
// other layer's rank.
void expect_lapack_pair(const ExecutionPlan& plan, const std::vector<LayerShape>& shapes,
                        const PairLayers& layers, const PairExecution& pair, const std::string& what) {
  const int from_rank = plan.layers[static_cast<std::size_t>(layers.from)].rank;
  const int to_rank = plan.layers[static_cast<std::size_t>(layers.to)].rank;
  const LayerShape& from = shapes[static_cast<std::size_t>(layers.from)];
  const LayerShape& to = shapes[static_cast<std::size_t>(layers.to)];
  EXPECT_EQ(pair.from, layers.from) << what;
  EXPECT_EQ(pair.to, layers.to) << what;
  EXPECT_FALSE(pair.distributed) << what;
  EXPECT_EQ(pair.team, -1) << what;
  EXPECT_DOUBLE_EQ(pair.e_entries, min_dim(from) * min_dim(to)) << what;
  if (from_rank == to_rank) {
    EXPECT_EQ(pair.owner, to_rank) << what;
    EXPECT_EQ(pair.sender, -1) << what;
    return;
  }
  const double u = static_cast<double>(from.rows) * min_dim(from);
  const double v = static_cast<double>(to.cols) * min_dim(to);
  EXPECT_EQ(pair.sends_u, u <= v) << what;
  EXPECT_EQ(pair.owner, u <= v ? to_rank : from_rank) << what;
  EXPECT_EQ(pair.sender, u <= v ? from_rank : to_rank) << what;
}

TEST(ExecutionPlanPairs, NonConsecutiveLapackPairsByHand) {
  // 4 ranks, LPT: layer 2 -> rank 0, layer 1 -> 1, layer 3 -> 2, layer 0 -> 3.
  const std::vector<LayerShape> shapes{{16, 27}, {32, 144}, {64, 288}, {10, 1024}};
  const std::vector<PairLayers> pairs{{0, 2}, {1, 3}, {0, 3}, {2, 3}};
  const ExecutionPlan plan = plan_execution(shapes, pairs, 4, 8192, 64);
  ASSERT_EQ(plan.layers[0].rank, 3);
  ASSERT_EQ(plan.layers[1].rank, 1);
  ASSERT_EQ(plan.layers[2].rank, 0);
  ASSERT_EQ(plan.layers[3].rank, 2);
  ASSERT_EQ(plan.pairs.size(), 4u);
  // (0, 2): U_0 16x16 = 256 < V_2 288x64: U from rank 3 to rank 0.
  EXPECT_EQ(plan.pairs[0].owner, 0);
  EXPECT_EQ(plan.pairs[0].sender, 3);
  EXPECT_TRUE(plan.pairs[0].sends_u);
  EXPECT_DOUBLE_EQ(plan.pairs[0].e_entries, 16.0 * 64.0);
  // (1, 3): U_1 32x32 = 1024 < V_3 1024x10 = 10240: U from rank 1 to rank 2.
  EXPECT_EQ(plan.pairs[1].owner, 2);
  EXPECT_EQ(plan.pairs[1].sender, 1);
  // (0, 3): U from rank 3 to rank 2.
  EXPECT_EQ(plan.pairs[2].owner, 2);
  EXPECT_EQ(plan.pairs[2].sender, 3);
  // (2, 3): U_2 64x64 = 4096 < 10240: U from rank 0 to rank 2.
  EXPECT_EQ(plan.pairs[3].owner, 2);
  EXPECT_EQ(plan.pairs[3].sender, 0);
  EXPECT_EQ(plan.pairs_of(2), (std::vector<std::size_t>{1, 2, 3}));
  EXPECT_EQ(plan.pairs_of(0), (std::vector<std::size_t>{0}));
  EXPECT_TRUE(plan.pairs_of(1).empty());
  EXPECT_TRUE(plan.pairs_of(3).empty());

  // V travels when it is the smaller: layers 0 (500x400) on rank 0, 1 and 2 on rank 1.
  const std::vector<LayerShape> wide{{500, 400}, {7, 7}, {5, 500}};
  const ExecutionPlan two = plan_execution(wide, {{0, 2}, {1, 2}, {0, 1}}, 2, 8192, 64);
  ASSERT_EQ(two.layers[0].rank, 0);
  ASSERT_EQ(two.layers[1].rank, 1);
  ASSERT_EQ(two.layers[2].rank, 1);
  // (0, 2): U_0 500x400 = 200000 > V_2 500x5 = 2500: V from rank 1 to rank 0.
  EXPECT_FALSE(two.pairs[0].sends_u);
  EXPECT_EQ(two.pairs[0].owner, 0);
  EXPECT_EQ(two.pairs[0].sender, 1);
  // (1, 2): both on rank 1.
  EXPECT_EQ(two.pairs[1].owner, 1);
  EXPECT_EQ(two.pairs[1].sender, -1);
  // (0, 1): U_0 200000 > V_1 7x7 = 49: V from rank 1 to rank 0.
  EXPECT_EQ(two.pairs[2].owner, 0);
  EXPECT_EQ(two.pairs[2].sender, 1);
  for (std::size_t q = 0; q < 3; ++q)
    expect_lapack_pair(two, wide, std::vector<PairLayers>{{0, 2}, {1, 2}, {0, 1}}[q], two.pairs[q],
                       "wide pair " + std::to_string(q));
}

TEST(ExecutionPlanPairs, RandomDagsOfLapackLayers) {
  std::mt19937_64 rng(17);
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  for (int trial = 0; trial < 50; ++trial) {
    const int n = static_cast<int>(uniform(2, 8));
    std::vector<LayerShape> shapes;
    for (int l = 0; l < n; ++l) shapes.push_back({uniform(1, 300), uniform(1, 300)});
    std::vector<PairLayers> pairs;
    for (int b = 1; b < n; ++b)
      for (int a = 0; a < b; ++a)
        if (uniform(0, 2) == 0) pairs.push_back({a, b});
    std::shuffle(pairs.begin(), pairs.end(), rng);
    const int ranks = static_cast<int>(uniform(1, 6));
    const ExecutionPlan plan = plan_execution(shapes, pairs, ranks, 100000, 64);
    const LayerPartition lpt(shapes, ranks);
    for (int l = 0; l < n; ++l) EXPECT_EQ(plan.layers[static_cast<std::size_t>(l)].rank, lpt.owner(static_cast<std::size_t>(l)));
    ASSERT_EQ(plan.pairs.size(), pairs.size());
    std::size_t owned = 0;
    for (std::size_t q = 0; q < pairs.size(); ++q) {
      expect_lapack_pair(plan, shapes, pairs[q], plan.pairs[q],
                         "trial " + std::to_string(trial) + " pair " + std::to_string(q));
      const std::vector<std::size_t> mine = plan.pairs_of(plan.pairs[q].owner);
      EXPECT_EQ(std::count(mine.begin(), mine.end(), q), 1);
    }
    for (int r = 0; r < ranks; ++r) owned += plan.pairs_of(r).size();
    EXPECT_EQ(owned, pairs.size());
  }
}

TEST(ExecutionPlanPairs, GridPairsOfADag) {
  // Layers 0, 2 on the grid of all ranks (min dim >= 20), 1 and 3 LAPACK.
  const std::vector<LayerShape> shapes{{20, 40}, {5, 100}, {30, 30}, {6, 60}};
  const std::vector<PairLayers> pairs{{0, 2}, {1, 3}, {0, 3}, {1, 2}, {2, 3}};
  for (const int ranks : {1, 2, 3, 4}) {
    const ExecutionPlan plan = plan_execution(shapes, pairs, ranks, 20, 4, GridPolicy{1, 0.0});
    ASSERT_EQ(plan.scalapack_layers(), (std::vector<std::size_t>{0, 2}));
    const std::string what = std::to_string(ranks) + " ranks";
    // (0, 2): both on the grid, nothing held yet: rank 0.
    EXPECT_TRUE(plan.pairs[0].distributed) << what;
    EXPECT_EQ(plan.pairs[0].owner, 0) << what;
    EXPECT_EQ(plan.pairs[0].team, -1) << what;
    EXPECT_EQ(plan.pairs[0].sender, -1) << what;
    // (1, 3): both LAPACK.
    expect_lapack_pair(plan, shapes, pairs[1], plan.pairs[1], what);
    // (0, 3), (1, 2), (2, 3): one on the grid: the LAPACK layer's rank.
    EXPECT_TRUE(plan.pairs[2].distributed) << what;
    EXPECT_EQ(plan.pairs[2].owner, plan.layers[3].rank) << what;
    EXPECT_TRUE(plan.pairs[3].distributed) << what;
    EXPECT_EQ(plan.pairs[3].owner, plan.layers[1].rank) << what;
    EXPECT_EQ(plan.pairs[4].owner, plan.layers[3].rank) << what;
    for (const PairExecution& pair : plan.pairs) {
      EXPECT_GE(pair.owner, 0) << what;
      EXPECT_LT(pair.owner, ranks) << what;
    }
  }
}

TEST(ExecutionPlanPairs, GridPairsGoWhereTheLeastEIs) {
  // Every layer on the grid; pairs in this order: (0, 3) 40x40, (1, 2) 30x30, (0, 2), (1, 3):
  // each to the rank holding the fewest E entries so far (ties: the lower rank).
  const std::vector<LayerShape> shapes{{40, 50}, {30, 60}, {30, 30}, {40, 40}};
  const std::vector<PairLayers> pairs{{0, 3}, {1, 2}, {0, 2}, {1, 3}};
  const ExecutionPlan plan = plan_execution(shapes, pairs, 3, 1, 8, GridPolicy{1, 0.0});
  ASSERT_TRUE(plan.one_grid_of_all_ranks());
  // Entries: rank 0 1600, rank 1 900, rank 2 1200 (40x30), then (1, 3) 1200 to rank 1.
  EXPECT_EQ(plan.pairs[0].owner, 0);
  EXPECT_EQ(plan.pairs[1].owner, 1);
  EXPECT_EQ(plan.pairs[2].owner, 2);
  EXPECT_EQ(plan.pairs[3].owner, 1);
  EXPECT_DOUBLE_EQ(plan.pairs[2].e_entries, 1200.0);
  for (const PairExecution& pair : plan.pairs) {
    EXPECT_TRUE(pair.distributed);
    EXPECT_EQ(pair.team, -1);
  }
}

TEST(ExecutionPlanPairs, PairsWithinATeamOfADag) {
  // Teams {0, 1} on ranks 0-1 and {2, 3} on ranks 2-3 (as in GridTeams.PairsWithinATeamStay...).
  const std::vector<LayerShape> shapes{{40, 40}, {20, 20}, {40, 40}, {20, 20}};
  const std::vector<PairLayers> pairs{{0, 1}, {0, 2}, {2, 3}, {1, 3}, {0, 1}};
  const ExecutionPlan plan = plan_execution(shapes, pairs, 4, 1, 8, GridPolicy{2, 0.0, 1e12});
  ASSERT_EQ(plan.teams.size(), 2u);
  ASSERT_EQ(plan.teams[0].layers, (std::vector<std::size_t>{0, 1}));
  ASSERT_EQ(plan.teams[1].layers, (std::vector<std::size_t>{2, 3}));
  const std::vector<int> team = {0, -1, 1, -1, 0};
  for (std::size_t q = 0; q < pairs.size(); ++q) {
    EXPECT_TRUE(plan.pairs[q].distributed) << q;
    EXPECT_EQ(plan.pairs[q].team, team[q]) << q;
    if (team[q] >= 0) {
      const GridTeam& t = plan.teams[static_cast<std::size_t>(team[q])];
      EXPECT_GE(plan.pairs[q].owner, t.first_rank) << q;
      EXPECT_LT(plan.pairs[q].owner, t.first_rank + t.grid.size()) << q;
    }
  }
  // Least E first: (0, 1) to rank 0 (800 entries), (0, 2) across teams to rank 1 (1600),
  // (2, 3) on team 1 to rank 2, (1, 3) across to rank 3 (400), the second (0, 1) on team 0:
  // rank 0 (800) has fewer than rank 1 (1600).
  EXPECT_EQ(plan.pairs[0].owner, 0);
  EXPECT_EQ(plan.pairs[1].owner, 1);
  EXPECT_EQ(plan.pairs[2].owner, 2);
  EXPECT_EQ(plan.pairs[3].owner, 3);
  EXPECT_EQ(plan.pairs[4].owner, 0);
}

TEST(ExecutionPlanPairs, BlockDiagonalLayersStayOnOneRankAtTheBlocksCost) {
  // A grouped convolution 256 x 2304 in 8 blocks of 32 x 288, next to the same shape dense.
  const LayerShape grouped{256, 2304, 8}, dense{256, 2304, 1}, small{64, 64, 1};
  const std::vector<LayerShape> shapes{grouped, dense, small, {96, 96, 96}};
  const double block_cost = 32.0 * 288.0 * 32.0;
  EXPECT_DOUBLE_EQ(LayerPartition::svd_cost(grouped), 8.0 * block_cost);
  EXPECT_DOUBLE_EQ(LayerPartition::svd_cost(dense), 256.0 * 2304.0 * 256.0);
  EXPECT_DOUBLE_EQ(LayerPartition::svd_cost({96, 96, 96}), 96.0);  // depthwise: 96 blocks 1x1
  for (const std::int64_t min_dim_threshold : {1, 64, 256}) {
    for (const int ranks : {1, 2, 3}) {
      const std::string what =
          "min dim " + std::to_string(min_dim_threshold) + ", " + std::to_string(ranks) + " ranks";
      const ExecutionPlan plan =
          plan_execution(shapes, {{0, 1}, {0, 2}, {1, 3}, {2, 3}}, ranks, min_dim_threshold, 16,
                         GridPolicy{1, 0.0});
      // Never on a grid, whatever the threshold.
      EXPECT_EQ(plan.layers[0].engine, SvdEngine::Lapack) << what;
      EXPECT_EQ(plan.layers[3].engine, SvdEngine::Lapack) << what;
      EXPECT_GE(plan.layers[0].rank, 0) << what;
      EXPECT_EQ(plan.layers[0].team, -1) << what;
      EXPECT_DOUBLE_EQ(plan.layers[0].cost, 8.0 * block_cost) << what;
      EXPECT_DOUBLE_EQ(plan.layers[3].cost, 96.0) << what;
      // The dense layer of the same shape goes to the grid.
      EXPECT_EQ(plan.layers[1].engine, SvdEngine::Scalapack) << what;
      EXPECT_EQ(plan.layers[2].engine,
                min_dim_threshold <= 64 ? SvdEngine::Scalapack : SvdEngine::Lapack)
          << what;
      // The LAPACK load counts the blocks' cost.
      double load = 0.0;
      for (int r = 0; r < ranks; ++r) load += plan.lapack_load_of(r);
      EXPECT_DOUBLE_EQ(load, 8.0 * block_cost + 96.0 +
                                 (min_dim_threshold <= 64 ? 0.0 : 64.0 * 64.0 * 64.0))
          << what;
      // Pair (0, 1): the grouped layer's rank owns it.
      EXPECT_TRUE(plan.pairs[0].distributed) << what;
      EXPECT_EQ(plan.pairs[0].owner, plan.layers[0].rank) << what;
    }
  }
  // Among LAPACK layers the blocks' cost orders LPT: the grouped layer (cost 2.4e6) ranks after
  // a dense 200 x 200 (8e6) and before a dense 100 x 100 (1e6).
  const ExecutionPlan lpt =
      plan_execution({{100, 100}, grouped, {200, 200}}, 3, 100000, 16);
  EXPECT_EQ(lpt.layers[2].rank, 0);
  EXPECT_EQ(lpt.layers[1].rank, 1);
  EXPECT_EQ(lpt.layers[0].rank, 2);
}

TEST(ExecutionPlanPairs, ChainOverloadIsConsecutivePairs) {
  const std::vector<LayerShape> shapes{{20, 40}, {5, 100}, {30, 30}, {20, 20}, {19, 500}, {7, 19}};
  for (const int ranks : {1, 2, 4}) {
    const ExecutionPlan chain = plan_execution(shapes, ranks, 20, 3);
    const ExecutionPlan dag =
        plan_execution(shapes, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}, ranks, 20, 3);
    ASSERT_EQ(chain.pairs.size(), dag.pairs.size());
    for (std::size_t q = 0; q < chain.pairs.size(); ++q) {
      EXPECT_EQ(chain.pairs[q].from, dag.pairs[q].from);
      EXPECT_EQ(chain.pairs[q].to, dag.pairs[q].to);
      EXPECT_EQ(chain.pairs[q].owner, dag.pairs[q].owner);
      EXPECT_EQ(chain.pairs[q].sender, dag.pairs[q].sender);
      EXPECT_EQ(chain.pairs[q].sends_u, dag.pairs[q].sends_u);
      EXPECT_EQ(chain.pairs[q].distributed, dag.pairs[q].distributed);
      EXPECT_EQ(chain.pairs[q].team, dag.pairs[q].team);
    }
  }
  // No pairs at all is a plan of layers only.
  EXPECT_TRUE(plan_execution(shapes, std::vector<PairLayers>{}, 2, 20, 3).pairs.empty());
}

TEST(ExecutionPlanPairs, PairsOutOfRangeThrow) {
  const std::vector<LayerShape> shapes{{8, 8}, {8, 8}, {8, 8}};
  for (const PairLayers bad :
       std::vector<PairLayers>{{0, 0}, {1, 0}, {2, 1}, {-1, 1}, {0, 3}, {2, 3}, {1, 7}}) {
    EXPECT_THROW(plan_execution(shapes, {bad}, 2, 8192, 64), std::invalid_argument)
        << bad.from << " -> " << bad.to;
    EXPECT_THROW(plan_execution(shapes, {{0, 1}, bad}, 2, 8192, 64), std::invalid_argument)
        << bad.from << " -> " << bad.to;
  }
  EXPECT_NO_THROW(plan_execution(shapes, {{0, 2}, {0, 1}, {1, 2}, {0, 2}}, 2, 8192, 64));
  // A pair on a plan without layers.
  EXPECT_THROW(plan_execution({}, {{0, 1}}, 1, 8192, 64), std::invalid_argument);
}

}  // namespace
}  // namespace svr
