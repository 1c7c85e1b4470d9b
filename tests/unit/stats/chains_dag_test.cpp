// top_chains along the pairs of a DAG (chains.hpp) against a brute-force enumeration of every
// path of significant edges on small random DAGs, and the chain overload against the DAG
// overload with pairs (l, l + 1).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "svr/stats/chains.hpp"

namespace {

using svr::ChainResult;
using svr::SignificantEdge;

struct Dag {
  std::vector<std::int64_t> sizes;
  std::vector<std::pair<int, int>> pairs;
  std::vector<std::vector<SignificantEdge>> edges;
};

// A random DAG: 3 to 6 layers of 1 to 4 neurons, each (a, b) with a < b a pair with probability
// 1/2 (sometimes twice: two reads of one producer), edges with probability `density`, distinct
// log10 p.
Dag random_dag(std::uint64_t seed, double density) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Dag dag;
  const int layers = 3 + static_cast<int>(seed % 4);
  for (int l = 0; l < layers; ++l)
    dag.sizes.push_back(1 + static_cast<std::int64_t>(unit(rng) * 4));
  for (int b = 1; b < layers; ++b)
    for (int a = 0; a < b; ++a) {
      const double u = unit(rng);
      if (u < 0.5) dag.pairs.emplace_back(a, b);
      if (u < 0.08) dag.pairs.emplace_back(a, b);
    }
  // Any order of the pairs: the planner lists them by consumer, but top_chains must not rely
  // on it.
  std::shuffle(dag.pairs.begin(), dag.pairs.end(), rng);
  for (const auto& [a, b] : dag.pairs) {
    std::vector<SignificantEdge> e;
    for (std::int64_t j = 0; j < dag.sizes[static_cast<std::size_t>(b)]; ++j)
      for (std::int64_t i = 0; i < dag.sizes[static_cast<std::size_t>(a)]; ++i)
        if (unit(rng) < density) e.push_back({j, i, -1.0 - 30.0 * unit(rng)});
    std::shuffle(e.begin(), e.end(), rng);
    dag.edges.push_back(std::move(e));
  }
  return dag;
}

// A path of edges: its nodes (layer, neuron) and its weakest log10 p.
struct Path {
  std::vector<int> layers;
  std::vector<std::int64_t> neurons;
  double weakest = 0.0;
  std::size_t edges() const { return neurons.size() - 1; }
};

// For every node without an outgoing edge: the paths ending there that are the longest and,
// among those, have the smallest weakest edge (all of them, by enumeration).
std::map<std::pair<int, std::int64_t>, std::vector<Path>> brute_force(const Dag& dag) {
  struct Arc {
    int to_layer;
    std::int64_t to;
    double log10_p;
  };
  std::map<std::pair<int, std::int64_t>, std::vector<Arc>> out;
  for (std::size_t q = 0; q < dag.pairs.size(); ++q)
    for (const SignificantEdge& e : dag.edges[q])
      out[{dag.pairs[q].first, e.from}].push_back({dag.pairs[q].second, e.to, e.log10_p});
  std::map<std::pair<int, std::int64_t>, std::vector<Path>> best;
  // Every path, from every node, extended edge by edge.
  std::function<void(Path&)> extend = [&](Path& path) {
    const std::pair<int, std::int64_t> end{path.layers.back(), path.neurons.back()};
    const auto arcs = out.find(end);
    if (arcs == out.end()) {  // a path ending at a node without outgoing edge
      if (path.edges() < 1) return;
      auto& mine = best[end];
      if (mine.empty() || path.edges() > mine.front().edges() ||
          (path.edges() == mine.front().edges() && path.weakest < mine.front().weakest))
        mine.assign(1, path);
      else if (path.edges() == mine.front().edges() && path.weakest == mine.front().weakest)
        mine.push_back(path);
      return;
    }
    // A path that stops before the end of its node's edges is not maximal here, but the best
    // chain ending at a node with outgoing edges is never a candidate: only ends count.
    for (const Arc& arc : arcs->second) {
      const double before = path.weakest;
      path.layers.push_back(arc.to_layer);
      path.neurons.push_back(arc.to);
      path.weakest = path.edges() == 1 ? arc.log10_p : std::max(before, arc.log10_p);
      extend(path);
      path.layers.pop_back();
      path.neurons.pop_back();
      path.weakest = before;
    }
  };
  for (std::size_t l = 0; l < dag.sizes.size(); ++l)
    for (std::int64_t n = 0; n < dag.sizes[l]; ++n) {
      Path start{{static_cast<int>(l)}, {n}, 0.0};
      extend(start);
    }
  return best;
}

bool same_nodes(const ChainResult& c, const Path& p) {
  return c.layers == p.layers && c.neurons == p.neurons;
}

bool rank_less(const ChainResult& x, const ChainResult& y) {
  const auto lx = x.neurons.size(), ly = y.neurons.size();
  return std::tie(ly, x.weakest_log10_p, x.start_layer, x.layers, x.neurons) <
         std::tie(lx, y.weakest_log10_p, y.start_layer, y.layers, y.neurons);
}

TEST(TopChainsDag, MatchesBruteForceOnRandomDags) {
  int exact = 0, compared = 0, chains_seen = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    for (const double density : {0.3, 0.6}) {
      const Dag dag = random_dag(seed, density);
      const auto best = brute_force(dag);
      // Every end with >= 2 edges is a candidate; the result ranks them all (k large).
      std::vector<std::pair<std::pair<int, std::int64_t>, const std::vector<Path>*>> ends;
      bool unique = true;
      for (const auto& [node, paths] : best)
        if (paths.front().edges() >= 2) {
          ends.push_back({node, &paths});
          unique = unique && paths.size() == 1;
        }
      const std::string what = "seed " + std::to_string(seed) + " density " + std::to_string(density);
      const std::vector<ChainResult> got = svr::top_chains(dag.sizes, dag.pairs, dag.edges, 1000);
      ++compared;
      ASSERT_EQ(got.size(), ends.size()) << what;
      chains_seen += static_cast<int>(got.size());
      for (std::size_t k = 0; k < got.size(); ++k) {
        const ChainResult& c = got[k];
        ASSERT_EQ(c.layers.size(), c.neurons.size()) << what;
        ASSERT_GE(c.neurons.size(), 3u) << what;
        EXPECT_EQ(c.start_layer, c.layers.front()) << what;
        const auto found = best.find({c.layers.back(), c.neurons.back()});
        ASSERT_NE(found, best.end()) << what << ": the chain does not end at an end";
        const std::vector<Path>& paths = found->second;
        EXPECT_EQ(c.neurons.size() - 1, paths.front().edges()) << what;
        EXPECT_EQ(c.weakest_log10_p, paths.front().weakest) << what;
        EXPECT_TRUE(std::any_of(paths.begin(), paths.end(),
                                [&](const Path& p) { return same_nodes(c, p); }))
            << what << ": chain " << k << " is not a best path to its end";
        if (k > 0) EXPECT_FALSE(rank_less(c, got[k - 1])) << what << ": rank " << k;
      }
      if (unique) {
        // Every best path is unique: the whole ranked list is determined.
        std::vector<ChainResult> expected;
        for (const auto& [node, paths] : ends) {
          ChainResult c;
          c.layers = paths->front().layers;
          c.neurons = paths->front().neurons;
          c.start_layer = c.layers.front();
          c.weakest_log10_p = paths->front().weakest;
          expected.push_back(c);
        }
        std::sort(expected.begin(), expected.end(), rank_less);
        for (int k : {1, 3, 1000}) {
          const std::vector<ChainResult> top = svr::top_chains(dag.sizes, dag.pairs, dag.edges, k);
          const std::size_t n = std::min(expected.size(), static_cast<std::size_t>(k));
          ASSERT_EQ(top.size(), n) << what << " k=" << k;
          for (std::size_t i = 0; i < n; ++i) {
            EXPECT_EQ(top[i].layers, expected[i].layers) << what << " k=" << k << " i=" << i;
            EXPECT_EQ(top[i].neurons, expected[i].neurons) << what << " k=" << k << " i=" << i;
            EXPECT_EQ(top[i].weakest_log10_p, expected[i].weakest_log10_p) << what;
            EXPECT_EQ(top[i].start_layer, expected[i].start_layer) << what;
          }
        }
        ++exact;
      }
    }
  }
  RecordProperty("chains", chains_seen);
  RecordProperty("exact", exact);
  RecordProperty("compared", compared);
  // The comparison must have had something to compare.
  EXPECT_GE(chains_seen, 100);
  EXPECT_GE(exact, compared / 2) << exact << " of " << compared;
}

TEST(TopChainsDag, IndependentOfThePairOrder) {
  for (std::uint64_t seed = 100; seed < 120; ++seed) {
    Dag dag = random_dag(seed, 0.5);
    const auto first = svr::top_chains(dag.sizes, dag.pairs, dag.edges, 50);
    std::mt19937_64 rng(seed);
    std::vector<std::size_t> order(dag.pairs.size());
    for (std::size_t q = 0; q < order.size(); ++q) order[q] = q;
    std::shuffle(order.begin(), order.end(), rng);
    Dag shuffled = dag;
    for (std::size_t q = 0; q < order.size(); ++q) {
      shuffled.pairs[q] = dag.pairs[order[q]];
      shuffled.edges[q] = dag.edges[order[q]];
    }
    const auto second = svr::top_chains(shuffled.sizes, shuffled.pairs, shuffled.edges, 50);
    ASSERT_EQ(first.size(), second.size()) << seed;
    for (std::size_t k = 0; k < first.size(); ++k) {
      EXPECT_EQ(first[k].layers, second[k].layers) << seed;
      EXPECT_EQ(first[k].neurons, second[k].neurons) << seed;
      EXPECT_EQ(first[k].weakest_log10_p, second[k].weakest_log10_p) << seed;
    }
  }
}

TEST(TopChainsDag, HandBuiltSkipConnection) {
  // Layers 0 (2), 1 (1), 2 (2); pairs (0, 1), (1, 2) and the skip (0, 2).
  //   (0,0) -> (1,0) -10, (1,0) -> (2,0) -4: chain of 2 edges, weakest -4;
  //   (0,1) -> (2,1) -50 via the skip: one edge, not a chain;
  //   (0,1) -> (1,0) -2: a second way into (1,0) with a weaker edge (-2 > -10): not taken.
  const std::vector<std::int64_t> sizes = {2, 1, 2};
  const std::vector<std::pair<int, int>> pairs = {{0, 2}, {1, 2}, {0, 1}};
  const std::vector<std::vector<SignificantEdge>> edges = {
      {{1, 1, -50}}, {{0, 0, -4}}, {{0, 0, -10}, {0, 1, -2}}};
  const auto chains = svr::top_chains(sizes, pairs, edges, 10);
  ASSERT_EQ(chains.size(), 1u);
  EXPECT_EQ(chains[0].layers, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(chains[0].neurons, (std::vector<std::int64_t>{0, 0, 0}));
  EXPECT_EQ(chains[0].weakest_log10_p, -4.0);
  EXPECT_EQ(chains[0].layer_at(2), 2);
  // A longer way round beats a short strong one: (0,0) -> (2,0) directly at -100 is one edge.
  const std::vector<std::vector<SignificantEdge>> more = {
      {{0, 0, -100}}, {{0, 0, -4}}, {{0, 0, -10}}};
  const auto longer = svr::top_chains(sizes, pairs, more, 10);
  ASSERT_EQ(longer.size(), 1u);
  EXPECT_EQ(longer[0].layers, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(longer[0].weakest_log10_p, -4.0);
}

TEST(TopChainsDag, ChainOverloadIsTheDagOverloadWithConsecutivePairs) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int trial = 0; trial < 40; ++trial) {
    const int layers = 2 + trial % 6;
    std::vector<std::int64_t> sizes;
    for (int l = 0; l < layers; ++l) sizes.push_back(1 + static_cast<std::int64_t>(unit(rng) * 5));
    std::vector<std::pair<int, int>> pairs;
    std::vector<std::vector<SignificantEdge>> edges;
    for (int l = 0; l + 1 < layers; ++l) {
      pairs.emplace_back(l, l + 1);
      std::vector<SignificantEdge> e;
      for (std::int64_t j = 0; j < sizes[static_cast<std::size_t>(l + 1)]; ++j)
        for (std::int64_t i = 0; i < sizes[static_cast<std::size_t>(l)]; ++i)
          if (unit(rng) < 0.5) e.push_back({j, i, -std::floor(1 + 8 * unit(rng))});  // many ties
      edges.push_back(std::move(e));
    }
    for (int k : {1, 4, 100}) {
      const auto chain = svr::top_chains(sizes, edges, k);
      const auto dag = svr::top_chains(sizes, pairs, edges, k);
      ASSERT_EQ(chain.size(), dag.size()) << trial;
      for (std::size_t c = 0; c < chain.size(); ++c) {
        EXPECT_EQ(chain[c].start_layer, dag[c].start_layer) << trial;
        EXPECT_EQ(chain[c].neurons, dag[c].neurons) << trial;
        EXPECT_EQ(chain[c].weakest_log10_p, dag[c].weakest_log10_p) << trial;
        for (std::size_t n = 0; n < chain[c].neurons.size(); ++n)
          EXPECT_EQ(chain[c].layer_at(n), dag[c].layer_at(n)) << trial;
        for (std::size_t n = 0; n < dag[c].neurons.size(); ++n)
          EXPECT_EQ(dag[c].layer_at(n), dag[c].start_layer + static_cast<int>(n)) << trial;
      }
    }
  }
}

TEST(TopChainsDag, PairsOutOfRangeThrow) {
  const std::vector<std::int64_t> sizes = {2, 2, 2};
  const std::vector<std::vector<SignificantEdge>> one = {{{0, 0, -3}}};
  for (const std::pair<int, int> bad : std::vector<std::pair<int, int>>{
           {1, 1}, {2, 1}, {-1, 1}, {0, 3}, {1, 5}})
    EXPECT_THROW(svr::top_chains(sizes, {bad}, one, 5), std::invalid_argument)
        << bad.first << " -> " << bad.second;
  EXPECT_NO_THROW(svr::top_chains(sizes, {{0, 2}}, one, 5));
  // One edge list per pair.
  EXPECT_THROW(svr::top_chains(sizes, {{0, 1}, {1, 2}}, one, 5), std::invalid_argument);
  // Edges out of range of the pair's layers, or NaN.
  const std::vector<std::int64_t> uneven = {3, 1};
  EXPECT_THROW(svr::top_chains(uneven, {{0, 1}}, {{{1, 0, -3}}}, 5), std::invalid_argument);
  EXPECT_THROW(svr::top_chains(uneven, {{0, 1}}, {{{0, 3, -3}}}, 5), std::invalid_argument);
  EXPECT_THROW(svr::top_chains(uneven, {{0, 1}}, {{{0, 0, std::nan("")}}}, 5),
               std::invalid_argument);
  EXPECT_NO_THROW(svr::top_chains(uneven, {{0, 1}}, {{{0, 2, -3}}}, 5));
}

}  // namespace
