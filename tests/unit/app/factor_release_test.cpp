// edge_schedule: which pairs a ScaLAPACK team or a rank computes during the SVD phase, and
// factor_release: which factors each pair frees (pair_edge_weights with a release), from the plans
// alone.
#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include "svr/app/phase_edges.hpp"
#include "svr/parallel/grid_shape.hpp"

namespace svr {
namespace {

using Layers = std::vector<std::size_t>;

NetworkPlan plan_of(std::size_t layers, const std::vector<std::pair<int, int>>& pairs) {
  NetworkPlan plan;
  plan.layers.resize(layers);
  for (const auto& [from, to] : pairs) {
    PairSpec pair;
    pair.from = from;
    pair.to = to;
    plan.pairs.push_back(pair);
  }
  return plan;
}

TEST(FactorRelease, AChainFreesEachVThenItsU) {
  // 0 -> 1 -> 2 -> 3: layer l's V after pair l - 1, its U after pair l.
  const FactorRelease release = factor_release(plan_of(4, {{0, 1}, {1, 2}, {2, 3}}), {0, 1, 2});
  ASSERT_EQ(release.u.size(), 3u);
  EXPECT_EQ(release.u[0], Layers({0}));
  EXPECT_EQ(release.u[1], Layers({1}));
  EXPECT_EQ(release.u[2], Layers({2}));
  EXPECT_EQ(release.v[0], Layers({1}));
  EXPECT_EQ(release.v[1], Layers({2}));
  EXPECT_EQ(release.v[2], Layers({3}));
  // The first layer has no V reader and the last no U reader: each is done with its one pair.
  EXPECT_EQ(release.both[0], Layers({0}));
  EXPECT_EQ(release.both[1], Layers({1}));
  EXPECT_EQ(release.both[2], Layers({2, 3}));
}

TEST(FactorRelease, ALayerReadByLaterPairsWaitsForTheLast) {
  // A residual add and a skip: 0 feeds 1 and 2 (pairs 0 and 2), 2 reads 0 and 1 (pairs 1 and 2),
  // layer 3 is in no pair.
  const FactorRelease release = factor_release(plan_of(4, {{0, 1}, {1, 2}, {0, 2}}), {0, 1, 2});
  EXPECT_TRUE(release.u[0].empty());
  EXPECT_EQ(release.u[1], Layers({1}));
  EXPECT_EQ(release.u[2], Layers({0}));
  EXPECT_EQ(release.v[0], Layers({1}));
  EXPECT_TRUE(release.v[1].empty());
  EXPECT_EQ(release.v[2], Layers({2}));
  EXPECT_TRUE(release.both[0].empty());
  EXPECT_EQ(release.both[1], Layers({1}));
  EXPECT_EQ(release.both[2], Layers({0, 2}));
  for (const auto* list : {&release.u, &release.v, &release.both})
    for (const Layers& layers : *list)
      for (std::size_t layer : layers) EXPECT_NE(layer, 3u);
}

// Layers factored by ScaLAPACK teams: `team_layers[t]` on team t, ranks `ranks` in all (the
// teams' grids split them evenly, in order); every other layer by LAPACK on rank 0. A pair is
// distributed when it touches a team's layer, on its team's grid when both layers are on the
// same team and that team is not the one grid of all ranks.
ExecutionPlan execution_of(const NetworkPlan& plan, int ranks,
                           const std::vector<std::vector<std::size_t>>& team_layers) {
  ExecutionPlan execution;
  execution.ranks = ranks;
  execution.layers.resize(plan.layers.size());
  for (LayerExecution& layer : execution.layers) layer.rank = 0;
  const int per_team = ranks / static_cast<int>(team_layers.size());
  for (std::size_t t = 0; t < team_layers.size(); ++t) {
    GridTeam team;
    team.first_rank = static_cast<int>(t) * per_team;
    team.grid = per_team == ranks ? near_square_shape(ranks) : GridShape{1, per_team};
    team.layers = team_layers[t];
    for (std::size_t l : team.layers) {
      LayerExecution& layer = execution.layers[l];
      layer.engine = SvdEngine::Scalapack;
      layer.rank = -1;
      layer.team = static_cast<int>(t);
      layer.first_rank = team.first_rank;
      layer.grid = team.grid;
    }
    execution.teams.push_back(team);
  }
  for (const PairSpec& spec : plan.pairs) {
    const LayerExecution& from = execution.layers[static_cast<std::size_t>(spec.from)];
    const LayerExecution& to = execution.layers[static_cast<std::size_t>(spec.to)];
    PairExecution pair;
    pair.from = spec.from;
    pair.to = spec.to;
    pair.distributed = from.engine == SvdEngine::Scalapack || to.engine == SvdEngine::Scalapack;
    if (pair.distributed && from.team == to.team && !execution.one_grid_of_all_ranks())
      pair.team = from.team;
    execution.pairs.push_back(pair);
  }
  return execution;
}

TEST(EdgeSchedule, OneGridOfAllRanksComputesEachPairAfterItsSecondLayer) {
  // A chain 0 -> 1 -> 2 -> 3 -> 4 on one team of all 4 ranks, but layer 4 is a LAPACK layer.
  const NetworkPlan plan = plan_of(5, {{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  const ExecutionPlan execution = execution_of(plan, 4, {{0, 1, 2, 3}});
  ASSERT_TRUE(execution.one_grid_of_all_ranks());
  const EdgeSchedule schedule = edge_schedule(plan, execution);
  ASSERT_EQ(schedule.after_layer.size(), 5u);
  EXPECT_TRUE(schedule.after_layer[0].empty());
  EXPECT_EQ(schedule.after_layer[1], Layers({0}));
  EXPECT_EQ(schedule.after_layer[2], Layers({1}));
  EXPECT_EQ(schedule.after_layer[3], Layers({2}));
  EXPECT_TRUE(schedule.after_layer[4].empty());
  // The pair with the LAPACK layer waits for the edges phase, and so does layer 3's U.
  EXPECT_EQ(schedule.edges_phase, Layers({3}));
  EXPECT_EQ(schedule.order, Layers({0, 1, 2, 3}));
  const FactorRelease& release = schedule.release;  // factor_release(plan, schedule.order)
  EXPECT_EQ(release.both[0], Layers({0}));  // layer 0 goes before layer 2 is factored
  EXPECT_EQ(release.both[1], Layers({1}));
  EXPECT_EQ(release.both[2], Layers({2}));
  EXPECT_EQ(release.both[3], Layers({3, 4}));
}

TEST(EdgeSchedule, TeamsComputeTheirOwnPairsFirstAndReleaseFollowsThatOrder) {
  // Two teams of two ranks: team 0 factors layers 0 and 2, team 1 layers 1 and 3. Pairs 1 (0, 2)
  // and 2 (1, 3) stay within a team; pairs 0 (0, 1) and 3 (2, 3) cross and go to the grid of all
  // ranks in the edges phase.
  const NetworkPlan plan = plan_of(4, {{0, 1}, {0, 2}, {1, 3}, {2, 3}});
  const ExecutionPlan execution = execution_of(plan, 4, {{0, 2}, {1, 3}});
  ASSERT_FALSE(execution.one_grid_of_all_ranks());
  const EdgeSchedule schedule = edge_schedule(plan, execution);
  EXPECT_EQ(schedule.after_layer[2], Layers({1}));
  EXPECT_EQ(schedule.after_layer[3], Layers({2}));
  EXPECT_TRUE(schedule.after_layer[0].empty());
  EXPECT_TRUE(schedule.after_layer[1].empty());
  EXPECT_EQ(schedule.edges_phase, Layers({0, 3}));
  EXPECT_EQ(schedule.order, Layers({1, 2, 0, 3}));
  // Computed in that order, layer 0's U is last read by pair 0 (not by pair 1, whose index is
  // higher), and layer 2's factors wait for pair 3.
  const FactorRelease& release = schedule.release;  // factor_release(plan, schedule.order)
  EXPECT_EQ(release.u[0], Layers({0}));
  EXPECT_TRUE(release.u[1].empty());
  EXPECT_EQ(release.v[1], Layers({2}));
  EXPECT_TRUE(release.v[2].empty());  // layer 3 is read again by pair 3
  EXPECT_EQ(release.v[3], Layers({3}));
  EXPECT_EQ(release.both[0], Layers({0, 1}));
  EXPECT_EQ(release.both[3], Layers({2, 3}));
  EXPECT_TRUE(release.both[1].empty());
  EXPECT_TRUE(release.both[2].empty());
}

TEST(EdgeSchedule, ARankComputesThePairsOfItsOwnLapackLayersAfterTheLaterOne) {
  // Four LAPACK layers: 0, 1 and 3 on rank 0, 2 on rank 1. Pair 0 (0, 3) and pair 1 (0, 1) are
  // rank 0's own; pairs 2 (1, 2) and 3 (2, 3) move a factor between the ranks in the edges phase.
  const NetworkPlan plan = plan_of(4, {{0, 3}, {0, 1}, {1, 2}, {2, 3}});
  ExecutionPlan execution;
  execution.ranks = 2;
  execution.layers.resize(4);
  for (std::size_t l = 0; l < 4; ++l) execution.layers[l].rank = l == 2 ? 1 : 0;
  for (const PairSpec& spec : plan.pairs) {
    PairExecution pair;
    pair.from = spec.from;
    pair.to = spec.to;
    pair.owner = execution.layers[static_cast<std::size_t>(spec.to)].rank;
    const int other = execution.layers[static_cast<std::size_t>(spec.from)].rank;
    pair.sender = other == pair.owner ? -1 : other;
    execution.pairs.push_back(pair);
  }
  const EdgeSchedule schedule = edge_schedule(plan, execution);
  EXPECT_TRUE(schedule.after_layer[0].empty());
  EXPECT_EQ(schedule.after_layer[1], Layers({1}));
  EXPECT_TRUE(schedule.after_layer[2].empty());
  EXPECT_EQ(schedule.after_layer[3], Layers({0}));
  EXPECT_EQ(schedule.edges_phase, Layers({2, 3}));
  // Rank 0 meets pair 1 (after layer 1) before pair 0 (after layer 3): so layer 0's U, read by
  // both, goes after pair 0, not after pair 1 as the pair indices alone would have it.
  EXPECT_EQ(schedule.order, Layers({1, 0, 2, 3}));
  const FactorRelease& release = schedule.release;
  EXPECT_EQ(release.u[0], Layers({0}));
  EXPECT_TRUE(release.u[1].empty());
  EXPECT_EQ(release.v[1], Layers({1}));
  EXPECT_EQ(release.u[2], Layers({1}));  // layer 1's U travels to rank 1 in the edges phase
  EXPECT_TRUE(release.v[0].empty());     // layer 3's V is read again by pair 3
  EXPECT_EQ(release.v[3], Layers({3}));
}

}  // namespace
}  // namespace svr
