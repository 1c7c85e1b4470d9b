#include "svr/parallel/partition.hpp"

#include <gtest/gtest.h>

namespace svr {
namespace {

TEST(LayerPartition, OneRankOwnsEverything) {
  const LayerPartition p({{10, 20}, {5, 5}, {100, 3}}, 1);
  EXPECT_EQ(p.layers_of(0).size(), 3u);
  for (std::size_t l = 0; l < 3; ++l) EXPECT_EQ(p.owner(l), 0);
}

TEST(LayerPartition, LongestFirstBalancesLoads) {
  // Costs 1000, 512, 343, 216, 125, 64. LPT: r0 = 1000 + 125, r1 = 512 + 343 + 216 + 64.
  const LayerPartition p({{10, 10}, {8, 8}, {7, 7}, {6, 6}, {5, 5}, {4, 4}}, 2);
  EXPECT_EQ(p.owner(0), 0);  // the largest goes first, to rank 0
  EXPECT_EQ(p.owner(1), 1);
  EXPECT_EQ(p.owner(2), 1);  // 512 + 343 = 855 < 1000
  EXPECT_EQ(p.owner(3), 1);  // rank 1 still the lighter at 855
  EXPECT_EQ(p.owner(4), 0);  // now rank 0 (1000) is lighter than rank 1 (1071)
  EXPECT_EQ(p.owner(5), 1);
  EXPECT_DOUBLE_EQ(p.load_of(0) + p.load_of(1), 1000 + 512 + 343 + 216 + 125 + 64);
  EXPECT_DOUBLE_EQ(p.load_of(0), 1125.0);
}

TEST(LayerPartition, MoreRanksThanLayersLeavesRanksIdle) {
  const LayerPartition p({{3, 4}, {4, 2}}, 4);
  EXPECT_EQ(p.owner(0), 0);
  EXPECT_EQ(p.owner(1), 1);
  EXPECT_TRUE(p.layers_of(2).empty());
  EXPECT_TRUE(p.layers_of(3).empty());
}

TEST(LayerPartition, RejectsZeroRanks) { EXPECT_THROW(LayerPartition({{1, 1}}, 0), std::invalid_argument); }

}  // namespace
}  // namespace svr
