// factor_release: which factors the edges phase frees after each pair (pair_edge_weights with
// free_used_factors), from the plan alone.
#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include "svr/app/phase_edges.hpp"

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
  const FactorRelease release = factor_release(plan_of(4, {{0, 1}, {1, 2}, {2, 3}}));
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
  const FactorRelease release = factor_release(plan_of(4, {{0, 1}, {1, 2}, {0, 2}}));
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

}  // namespace
}  // namespace svr
