// The channel maps of a pair (network_plan.hpp, spec section 7): finish_pair (identity
// detection and source_of_target), u_row_of and v_row_of (chw and hwc) against a brute-force
// search over the map written out from its definition, pair_null in every case, u_row_groups.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "svr/network/network_plan.hpp"

namespace svr {
namespace {

struct MapCase {
  MapKind kind = MapKind::Direct;
  std::int64_t c = 0;                  // consumer input channels
  std::int64_t producer_channels = 0;  // c_A
  std::int64_t first = 0, count = 0, offset = 0;
  std::vector<std::int64_t> permutation;
  std::int64_t z_v = 1;
  FlattenOrder flatten = FlattenOrder::ChannelMajor;
};

PairSpec make_pair_spec(const MapCase& m) {
  PairSpec p;
  p.c = m.c;
  p.z_u = 1;
  p.z_v = m.z_v;
  p.producer_channels = m.producer_channels;
  p.flatten = m.flatten;
  p.map = ChannelMap{m.kind, m.first, m.count, m.offset, m.permutation};
  finish_pair(p);
  return p;
}

// pi(a) for a producer channel a of S, from the definition (docs/input-formats.md).
std::int64_t pi(const MapCase& m, std::int64_t a) {
  return m.kind == MapKind::Permute ? m.permutation[static_cast<std::size_t>(a - m.first)]
                                    : m.offset + (a - m.first);
}

bool brute_identity(const MapCase& m) {
  if (m.flatten != FlattenOrder::ChannelMajor) return false;
  if (m.producer_channels != m.c || m.first != 0 || m.count != m.c) return false;
  for (std::int64_t a = 0; a < m.count; ++a)
    if (pi(m, a) != a) return false;
  return true;
}

// The a - first of the producer channel that reaches consumer channel b, by search; -1: none.
std::int64_t brute_source(const MapCase& m, std::int64_t b) {
  std::int64_t found = -1;
  for (std::int64_t a = m.first; a < m.first + m.count; ++a)
    if (pi(m, a) == b) {
      EXPECT_EQ(found, -1) << "the map reaches channel " << b << " twice";
      found = a - m.first;
    }
  return found;
}

std::string describe(const MapCase& m) {
  std::string s = to_string(m.kind) + " c=" + std::to_string(m.c) +
                  " c_A=" + std::to_string(m.producer_channels) + " S=[" +
                  std::to_string(m.first) + ", +" + std::to_string(m.count) +
                  ") offset=" + std::to_string(m.offset) + " z=" + std::to_string(m.z_v) + " " +
                  to_string(m.flatten) + " perm=";
  for (std::int64_t v : m.permutation) s += std::to_string(v) + ",";
  return s;
}

// Everything finish_pair, u_row_of and v_row_of give for `m`, against the brute force.
void check_case(const MapCase& m) {
  const std::string what = describe(m);
  const PairSpec p = make_pair_spec(m);
  const bool identity = brute_identity(m);
  ASSERT_EQ(p.identity, identity) << what;
  if (identity) {
    EXPECT_TRUE(p.source_of_target.empty()) << what;
  } else {
    ASSERT_EQ(p.source_of_target.size(), static_cast<std::size_t>(m.c)) << what;
    for (std::int64_t b = 0; b < m.c; ++b)
      EXPECT_EQ(p.source_of_target[static_cast<std::size_t>(b)], brute_source(m, b))
          << what << " b=" << b;
  }
  // U (svr: one row per producer channel) -> U' row a - first for a in S.
  std::vector<int> u_hits(static_cast<std::size_t>(m.count), 0);
  for (std::int64_t row = 0; row < m.producer_channels; ++row) {
    const std::int64_t expected =
        identity ? row : (row >= m.first && row < m.first + m.count ? row - m.first : -1);
    const std::int64_t got = u_row_of(p, row);
    EXPECT_EQ(got, expected) << what << " U row " << row;
    if (got >= 0 && got < m.count) ++u_hits[static_cast<std::size_t>(got)];
  }
  if (!identity)
    for (int hits : u_hits) EXPECT_EQ(hits, 1) << what;
  // V (one row per consumer input feature: channel b at position q) -> V' row a z + q.
  const std::int64_t z = m.z_v;
  std::vector<int> v_hits(static_cast<std::size_t>(m.count * z), 0);
  for (std::int64_t row = 0; row < m.c * z; ++row) {
    const bool chw = m.flatten == FlattenOrder::ChannelMajor;
    const std::int64_t b = chw ? row / z : row % m.c;
    const std::int64_t q = chw ? row % z : row / m.c;
    const std::int64_t a = brute_source(m, b);
    const std::int64_t expected = identity ? row : a < 0 ? -1 : a * z + q;
    const std::int64_t got = v_row_of(p, row);
    EXPECT_EQ(got, expected) << what << " V row " << row;
    if (got >= 0 && got < m.count * z) ++v_hits[static_cast<std::size_t>(got)];
  }
  // Every row of V' is filled exactly once.
  for (int hits : v_hits) EXPECT_EQ(hits, 1) << what;
}

TEST(FinishPair, IdentityDetection) {
  // Identity: all channels of the producer at the same consumer channels, channel-major.
  check_case({MapKind::Direct, 5, 5, 0, 5, 0, {}, 3, FlattenOrder::ChannelMajor});
  check_case({MapKind::Add, 5, 5, 0, 5, 0, {}, 1, FlattenOrder::ChannelMajor});
  check_case({MapKind::Concat, 5, 5, 0, 5, 0, {}, 2, FlattenOrder::ChannelMajor});
  check_case({MapKind::Split, 4, 4, 0, 4, 0, {}, 1, FlattenOrder::ChannelMajor});
  check_case({MapKind::Permute, 4, 4, 0, 4, 0, {0, 1, 2, 3}, 2, FlattenOrder::ChannelMajor});
  EXPECT_TRUE(make_pair_spec({MapKind::Permute, 4, 4, 0, 4, 0, {0, 1, 2, 3}, 2}).identity);
  EXPECT_TRUE(make_pair_spec({MapKind::Direct, 5, 5, 0, 5, 0, {}, 3}).identity);
  // Not the identity: a real permutation, an offset, a slice, a wider producer, hwc.
  EXPECT_FALSE(make_pair_spec({MapKind::Permute, 4, 4, 0, 4, 0, {1, 0, 2, 3}, 2}).identity);
  EXPECT_FALSE(make_pair_spec({MapKind::Concat, 7, 5, 0, 5, 2, {}, 1}).identity);
  EXPECT_FALSE(make_pair_spec({MapKind::Concat, 7, 5, 0, 5, 0, {}, 1}).identity);
  EXPECT_FALSE(make_pair_spec({MapKind::Split, 3, 6, 3, 3, 0, {}, 1}).identity);
  EXPECT_FALSE(make_pair_spec({MapKind::Split, 3, 6, 0, 3, 0, {}, 1}).identity);
  EXPECT_FALSE(
      make_pair_spec({MapKind::Direct, 5, 5, 0, 5, 0, {}, 3, FlattenOrder::ChannelsLast}).identity);
  // hwc with one position is still handled as a map (rows come out the same).
  check_case({MapKind::Direct, 5, 5, 0, 5, 0, {}, 1, FlattenOrder::ChannelsLast});
}

TEST(FinishPair, SourceOfTargetByHand) {
  const PairSpec concat = make_pair_spec({MapKind::Concat, 7, 3, 0, 3, 4, {}, 1});
  EXPECT_EQ(concat.source_of_target, (std::vector<std::int64_t>{-1, -1, -1, -1, 0, 1, 2}));
  const PairSpec split = make_pair_spec({MapKind::Split, 5, 8, 2, 3, 1, {}, 1});
  EXPECT_EQ(split.source_of_target, (std::vector<std::int64_t>{-1, 0, 1, 2, -1}));
  const PairSpec perm = make_pair_spec({MapKind::Permute, 4, 6, 1, 4, 0, {3, 0, 2, 1}, 1});
  EXPECT_EQ(perm.source_of_target, (std::vector<std::int64_t>{1, 3, 2, 0}));
  // finish_pair again after a change starts afresh.
  PairSpec again = perm;
  again.map = ChannelMap{MapKind::Direct, 0, 4, 0, {}};
  again.producer_channels = 4;
  finish_pair(again);
  EXPECT_TRUE(again.identity);
  EXPECT_TRUE(again.source_of_target.empty());
}

TEST(RowMaps, HandComputedRows) {
  // Concat of 2 producer channels at offset 1 of 3, z = 2, chw: consumer rows 2..5 are
  // channels 1, 2 -> V' rows 0..3.
  const PairSpec chw = make_pair_spec({MapKind::Concat, 3, 2, 0, 2, 1, {}, 2});
  const std::vector<std::int64_t> v_chw = {-1, -1, 0, 1, 2, 3};
  for (std::int64_t row = 0; row < 6; ++row) EXPECT_EQ(v_row_of(chw, row), v_chw[row]) << row;
  // The same with hwc: row r is channel r % 3 at position r / 3.
  const PairSpec hwc =
      make_pair_spec({MapKind::Concat, 3, 2, 0, 2, 1, {}, 2, FlattenOrder::ChannelsLast});
  const std::vector<std::int64_t> v_hwc = {-1, 0, 2, -1, 1, 3};
  for (std::int64_t row = 0; row < 6; ++row) EXPECT_EQ(v_row_of(hwc, row), v_hwc[row]) << row;
  // Identity: rows as they are.
  const PairSpec same = make_pair_spec({MapKind::Direct, 3, 3, 0, 3, 0, {}, 2});
  for (std::int64_t row = 0; row < 6; ++row) {
    EXPECT_EQ(v_row_of(same, row), row);
    EXPECT_EQ(u_row_of(same, row), row);
  }
  // Split [2, +2) of 5: U rows 2, 3 -> 0, 1.
  const PairSpec split = make_pair_spec({MapKind::Split, 2, 5, 2, 2, 0, {}, 1});
  const std::vector<std::int64_t> u_split = {-1, -1, 0, 1, -1};
  for (std::int64_t row = 0; row < 5; ++row) EXPECT_EQ(u_row_of(split, row), u_split[row]) << row;
}

// Random maps of every kind, z from 1 to 4, both flatten orders.
TEST(RowMaps, RandomMapsAgainstBruteForce) {
  std::mt19937_64 rng(11);
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  int cases = 0;
  for (int trial = 0; trial < 300; ++trial) {
    MapCase m;
    m.kind = static_cast<MapKind>(trial % 5);
    m.z_v = uniform(1, 4);
    m.flatten = trial % 3 == 0 ? FlattenOrder::ChannelsLast : FlattenOrder::ChannelMajor;
    m.c = uniform(1, 9);
    switch (m.kind) {
      case MapKind::Direct:
      case MapKind::Add:
        m.producer_channels = m.count = m.c;
        break;
      case MapKind::Concat:
      case MapKind::Split:
        m.count = uniform(1, m.c);
        m.offset = uniform(0, m.c - m.count);
        m.producer_channels = m.count + (m.kind == MapKind::Split ? uniform(0, 4) : 0);
        m.first = uniform(0, m.producer_channels - m.count);
        break;
      case MapKind::Permute: {
        m.count = uniform(1, m.c);
        m.producer_channels = m.count + uniform(0, 3);
        m.first = uniform(0, m.producer_channels - m.count);
        std::vector<std::int64_t> targets(static_cast<std::size_t>(m.c));
        std::iota(targets.begin(), targets.end(), 0);
        std::shuffle(targets.begin(), targets.end(), rng);
        m.permutation.assign(targets.begin(), targets.begin() + m.count);
        break;
      }
    }
    check_case(m);
    ++cases;
  }
  EXPECT_EQ(cases, 300);
}

// ---------------------------------------------------------------------------------------------
// pair_null and u_row_groups

PairSpec grouped_pair(std::int64_t c, std::int64_t z_v, std::int64_t producer_channels,
                      std::int64_t producer_groups, std::int64_t consumer_groups) {
  PairSpec p;
  p.c = c;
  p.z_u = 1;
  p.z_v = z_v;
  p.producer_channels = producer_channels;
  p.producer_groups = producer_groups;
  p.consumer_groups = consumer_groups;
  p.map = ChannelMap{MapKind::Direct, 0, producer_channels, 0, {}};
  finish_pair(p);
  return p;
}

void expect_null(const PairNull& n, std::int64_t c, std::int64_t z, bool divide, bool norms,
                 std::int64_t groups, const std::string& what) {
  EXPECT_EQ(n.c, c) << what;
  EXPECT_EQ(n.z, z) << what;
  EXPECT_EQ(n.divide, divide) << what;
  EXPECT_EQ(n.norms, norms) << what;
  EXPECT_EQ(n.groups, groups) << what;
}

TEST(PairNull, UngroupedAllChannels) {
  // The chain law on E: c_B, the consumer's positions, nothing to divide by.
  expect_null(pair_null(grouped_pair(8, 9, 8, 1, 1), Method::Svr), 8, 9, false, false, 1, "full");
  // A concat that reads all of its producer's channels: ||u_S|| = 1, still no division.
  const PairSpec concat = make_pair_spec({MapKind::Concat, 7, 3, 0, 3, 4, {}, 5});
  ASSERT_TRUE(concat.reads_all_channels());
  expect_null(pair_null(concat, Method::Svr), 7, 5, false, false, 1, "concat");
}

TEST(PairNull, UngroupedSlice) {
  // A slice of 3 of the producer's 6 channels into a consumer of 3 channels, z = 4: the law
  // applies to E / ||u_S||^2.
  const PairSpec split = make_pair_spec({MapKind::Split, 3, 6, 3, 3, 0, {}, 4});
  ASSERT_FALSE(split.reads_all_channels());
  expect_null(pair_null(split, Method::Svr), 3, 4, true, true, 1, "split");
  const PairSpec perm = make_pair_spec({MapKind::Permute, 5, 7, 2, 5, 0, {4, 3, 2, 1, 0}, 1});
  expect_null(pair_null(perm, Method::Svr), 5, 1, true, true, 1, "permute of a slice");
}

TEST(PairNull, GroupedConsumerWithSeveralChannelsPerGroup) {
  // 8 input channels in 2 groups of 4: c = 4 per group, the consumer's z, divided by the norm
  // over the group's channels.
  expect_null(pair_null(grouped_pair(8, 9, 8, 1, 2), Method::Svr), 4, 9, true, true, 2,
              "groups 2");
  // Two channels per group is still the grouped case.
  expect_null(pair_null(grouped_pair(6, 1, 6, 2, 3), Method::Svr), 2, 1, true, true, 3,
              "groups 3 of 2");
}

TEST(PairNull, DepthwiseConsumerUsesTheProducerSide) {
  // One channel per group: u_i[a]^2 ~ Beta(1/2, (c_u - 1)/2), c_u = the producer's channels per
  // group, z = 1, norms only to find the untestable edges.
  expect_null(pair_null(grouped_pair(6, 9, 6, 1, 6), Method::Svr), 6, 1, false, true, 6,
              "depthwise after an ungrouped producer");
  expect_null(pair_null(grouped_pair(6, 9, 6, 2, 6), Method::Svr), 3, 1, false, true, 6,
              "depthwise after a grouped producer");
  expect_null(pair_null(grouped_pair(8, 4, 8, 8, 8), Method::Svr), 1, 1, false, true, 8,
              "depthwise after depthwise");
}

TEST(PairNull, CosvrIsTheChainLaw) {
  PairSpec p = grouped_pair(6, 1, 6, 1, 1);
  p.z_u = 9;
  expect_null(pair_null(p, Method::Cosvr), 6, 9, false, false, 1, "cosvr");
  // Even with a slice (planning refuses it for cosvr, the law is still the chain's).
  PairSpec slice = make_pair_spec({MapKind::Split, 3, 6, 0, 3, 0, {}, 1});
  slice.z_u = 4;
  expect_null(pair_null(slice, Method::Cosvr), 3, 4, false, false, 1, "cosvr slice");
}

TEST(URowGroups, GroupOfTheConsumerChannelEachRowReaches) {
  // Ungrouped: every row in group 0.
  EXPECT_EQ(u_row_groups(grouped_pair(5, 1, 5, 1, 1)), std::vector<int>(5, 0));
  // 8 channels in 2 groups, direct: rows 0..3 -> 0, 4..7 -> 1.
  EXPECT_EQ(u_row_groups(grouped_pair(8, 1, 8, 1, 2)), (std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1}));
  // Depthwise: row a -> group a.
  EXPECT_EQ(u_row_groups(grouped_pair(4, 1, 4, 1, 4)), (std::vector<int>{0, 1, 2, 3}));
  // Maps: brute force over random permutations and concats into grouped consumers.
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 100; ++trial) {
    const std::int64_t groups = 1 + trial % 4;
    const std::int64_t per_group = 1 + (trial / 4) % 3;
    MapCase m;
    m.c = groups * per_group;
    m.kind = trial % 2 ? MapKind::Permute : MapKind::Concat;
    m.count = std::uniform_int_distribution<std::int64_t>(1, m.c)(rng);
    m.producer_channels = m.count + trial % 3;
    m.first = trial % 3 == 0 ? 0 : m.producer_channels - m.count;
    if (m.kind == MapKind::Permute) {
      std::vector<std::int64_t> targets(static_cast<std::size_t>(m.c));
      std::iota(targets.begin(), targets.end(), 0);
      std::shuffle(targets.begin(), targets.end(), rng);
      m.permutation.assign(targets.begin(), targets.begin() + m.count);
    } else {
      m.offset = std::uniform_int_distribution<std::int64_t>(0, m.c - m.count)(rng);
    }
    PairSpec p = make_pair_spec(m);
    p.consumer_groups = groups;
    const std::vector<int> got = u_row_groups(p);
    ASSERT_EQ(got.size(), static_cast<std::size_t>(m.count)) << describe(m);
    for (std::int64_t a = 0; a < m.count; ++a)
      EXPECT_EQ(got[static_cast<std::size_t>(a)], pi(m, m.first + a) / per_group)
          << describe(m) << " groups " << groups << " row " << a;
  }
}

}  // namespace
}  // namespace svr
