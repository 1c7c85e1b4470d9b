// top_chains on hand-built layered graphs.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <stdexcept>

#include "svr/stats/chains.hpp"

namespace {

using svr::SignificantEdge;

// Layers 3, 3, 3, 2, 2 (edges as {to, from, log10 p}):
//   pair 0: 0<-0 (-10), 1<-0 (-20), 1<-1 (-5), 2<-2 (-8)
//   pair 1: 0<-0 (-12), 0<-1 (-30)  [node (2, 0) has two incoming edges], 1<-2 (-9)
//   pair 2: 0<-0 (-7)
//   pair 3: 1<-0 (-6)
// Best chains: (1,1) via (0,0) (weakest -20 beats -5); (2,0) via (1,1): weakest -20 beats -10 via
// (1,0); then (3,0) -7 and (4,1) -6 -> chain 0,1,0,0,1 of 4 edges, weakest -6. Branch
// (0,2) -> (1,2) -> (2,1) ends without outgoing edge: 2 edges, weakest -8. Nodes (1,*) with one
// edge are not chains.
std::vector<std::vector<SignificantEdge>> hand_graph() {
  return {{{0, 0, -10}, {1, 0, -20}, {1, 1, -5}, {2, 2, -8}},
          {{0, 0, -12}, {0, 1, -30}, {1, 2, -9}},
          {{0, 0, -7}},
          {{1, 0, -6}}};
}
const std::vector<std::int64_t> kHandSizes = {3, 3, 3, 2, 2};

TEST(TopChains, HandBuiltGraphWithBranches) {
  const auto chains = svr::top_chains(kHandSizes, hand_graph(), 10);
  ASSERT_EQ(chains.size(), 2u);
  EXPECT_EQ(chains[0].start_layer, 0);
  EXPECT_EQ(chains[0].neurons, (std::vector<std::int64_t>{0, 1, 0, 0, 1}));
  EXPECT_EQ(chains[0].weakest_log10_p, -6.0);
  EXPECT_EQ(chains[1].start_layer, 0);
  EXPECT_EQ(chains[1].neurons, (std::vector<std::int64_t>{2, 2, 1}));
  EXPECT_EQ(chains[1].weakest_log10_p, -8.0);
  // k limits the output; the longest chain ranks first even though its weakest edge is weaker.
  const auto one = svr::top_chains(kHandSizes, hand_graph(), 1);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].neurons.size(), 5u);
  EXPECT_TRUE(svr::top_chains(kHandSizes, hand_graph(), 0).empty());
}

TEST(TopChains, IndependentOfEdgeOrder) {
  auto edges = hand_graph();
  std::mt19937 engine(3);
  for (int trial = 0; trial < 20; ++trial) {
    for (auto& pair : edges) std::shuffle(pair.begin(), pair.end(), engine);
    const auto chains = svr::top_chains(kHandSizes, edges, 10);
    ASSERT_EQ(chains.size(), 2u);
    EXPECT_EQ(chains[0].neurons, (std::vector<std::int64_t>{0, 1, 0, 0, 1}));
    EXPECT_EQ(chains[1].neurons, (std::vector<std::int64_t>{2, 2, 1}));
  }
}

TEST(TopChains, TiesRankByStartLayerThenNeurons) {
  // Three chains of 2 edges, weakest -5 each: (0:1, 1:1, 2:1), (0:0, 1:0, 2:0) and one starting at
  // layer 1, (1:2, 2:2, 3:0); the (1,0) -> (2,0) edge (-6) is stronger than the chain's -5.
  const std::vector<std::int64_t> sizes = {3, 3, 3, 1};
  const std::vector<std::vector<SignificantEdge>> edges = {
      {{1, 1, -5}, {0, 0, -5}},
      {{1, 1, -5}, {0, 0, -6}, {2, 2, -5}},
      {{0, 2, -5}}};
  const auto chains = svr::top_chains(sizes, edges, 10);
  ASSERT_EQ(chains.size(), 3u);
  EXPECT_EQ(chains[0].neurons, (std::vector<std::int64_t>{0, 0, 0}));
  EXPECT_EQ(chains[0].weakest_log10_p, -5.0);
  EXPECT_EQ(chains[1].neurons, (std::vector<std::int64_t>{1, 1, 1}));
  EXPECT_EQ(chains[1].start_layer, 0);
  EXPECT_EQ(chains[2].neurons, (std::vector<std::int64_t>{2, 2, 0}));
  EXPECT_EQ(chains[2].start_layer, 1);

  // Stronger weakest edge first among equal lengths.
  const std::vector<std::vector<SignificantEdge>> edges2 = {{{0, 0, -9}, {1, 1, -5}},
                                                            {{0, 0, -7}, {1, 1, -5}}};
  const auto chains2 = svr::top_chains({2, 2, 2}, edges2, 10);
  ASSERT_EQ(chains2.size(), 2u);
  EXPECT_EQ(chains2[0].neurons, (std::vector<std::int64_t>{0, 0, 0}));
  EXPECT_EQ(chains2[0].weakest_log10_p, -7.0);
  EXPECT_EQ(chains2[1].weakest_log10_p, -5.0);
}

TEST(TopChains, NodeWithEquivalentPredecessorsIsDeterministic) {
  // Node (1, 0) has three incoming edges with equal p: the smallest predecessor index wins.
  std::vector<std::vector<SignificantEdge>> edges = {{{0, 2, -5}, {0, 0, -5}, {0, 1, -5}},
                                                     {{0, 0, -4}}};
  auto chains = svr::top_chains({3, 1, 1}, edges, 10);
  ASSERT_EQ(chains.size(), 1u);
  EXPECT_EQ(chains[0].neurons, (std::vector<std::int64_t>{0, 0, 0}));
  // Equal length and weakest edge: the predecessor whose own chain is stronger wins.
  // (2,0) via (1,0) [chain weakest -10] or via (1,1) [-3]; both give max(., -2) = -2.
  edges = {{{0, 0, -10}, {1, 1, -3}}, {{0, 1, -2}, {0, 0, -2}}, {{0, 0, -1}}};
  chains = svr::top_chains({2, 2, 1, 1}, edges, 10);
  ASSERT_EQ(chains.size(), 1u);  // (1, 1) has an outgoing edge, so only one maximal chain
  EXPECT_EQ(chains[0].neurons, (std::vector<std::int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(chains[0].weakest_log10_p, -1.0);
}

TEST(TopChains, DenseGraphIsLinearTime) {
  // 12 layers of 150 fully connected neurons: 150^12 paths, ~250k edges.
  const int layers = 12, width = 150;
  std::vector<std::int64_t> sizes(layers, width);
  std::vector<std::vector<SignificantEdge>> edges(layers - 1);
  for (int l = 0; l + 1 < layers; ++l)
    for (int j = 0; j < width; ++j)
      for (int i = 0; i < width; ++i)
        edges[l].push_back({j, i, -1.0 - ((i * 7 + j * 13 + l) % 101)});
  const auto chains = svr::top_chains(sizes, edges, 10);
  ASSERT_EQ(chains.size(), 10u);
  for (const auto& c : chains) {
    EXPECT_EQ(c.start_layer, 0);
    EXPECT_EQ(c.neurons.size(), static_cast<std::size_t>(layers));
  }
  for (std::size_t i = 1; i < chains.size(); ++i)
    EXPECT_LE(chains[i - 1].weakest_log10_p, chains[i].weakest_log10_p);
}

TEST(TopChains, InvalidInputThrows) {
  EXPECT_THROW(svr::top_chains({2, 2}, {{{2, 0, -3}}}, 5), std::invalid_argument);
  EXPECT_THROW(svr::top_chains({2, 2}, {}, 5), std::invalid_argument);
  EXPECT_TRUE(svr::top_chains({}, {}, 5).empty());
  EXPECT_TRUE(svr::top_chains({4}, {}, 5).empty());
}

}  // namespace
