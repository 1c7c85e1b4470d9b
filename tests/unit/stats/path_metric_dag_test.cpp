// The path metric on a DAG (measures.hpp, docs/graph-outputs.md) against a brute-force sum over
// every source-to-sink path of layers and every neuron path along it, in long double; bit for
// bit the chain metric on a chain; the -inf cases; path_merge and path_total.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "svr/stats/measures.hpp"

namespace {

constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

struct Network {
  std::vector<Eigen::VectorXd> s;
  std::vector<std::pair<int, int>> pairs;
  std::vector<Eigen::MatrixXd> E;
};

// sum over source-to-sink layer paths (sources: layers no pair reads into; sinks: layers no pair
// reads from) of sum over neuron paths of prod s(layer, neuron) prod E(pair)[next, this].
long double brute_force(const Network& net) {
  const std::size_t n = net.s.size();
  std::vector<bool> has_in(n, false), has_out(n, false);
  for (const auto& [a, b] : net.pairs) {
    has_out[static_cast<std::size_t>(a)] = true;
    has_in[static_cast<std::size_t>(b)] = true;
  }
  long double total = 0.0L;
  // Layer paths as lists of pair indices, then every neuron path along them.
  std::vector<std::size_t> route;
  std::function<void(std::size_t)> layers_from;
  auto neuron_sum = [&](std::size_t start) {
    long double sum = 0.0L;
    std::function<void(std::size_t, std::size_t, Eigen::Index, long double)> walk =
        [&](std::size_t step, std::size_t layer, Eigen::Index neuron, long double product) {
          product *= static_cast<long double>(net.s[layer](neuron));
          if (step == route.size()) {
            sum += product;
            return;
          }
          const std::size_t q = route[step];
          const auto next = static_cast<std::size_t>(net.pairs[q].second);
          for (Eigen::Index j = 0; j < net.s[next].size(); ++j)
            walk(step + 1, next, j, product * static_cast<long double>(net.E[q](j, neuron)));
        };
    for (Eigen::Index i = 0; i < net.s[start].size(); ++i) walk(0, start, i, 1.0L);
    return sum;
  };
  std::size_t source = 0;
  layers_from = [&](std::size_t layer) {
    if (!has_out[layer]) {
      total += neuron_sum(source);
      return;
    }
    for (std::size_t q = 0; q < net.pairs.size(); ++q)
      if (static_cast<std::size_t>(net.pairs[q].first) == layer) {
        route.push_back(q);
        layers_from(static_cast<std::size_t>(net.pairs[q].second));
        route.pop_back();
      }
  };
  for (source = 0; source < n; ++source)
    if (!has_in[source]) layers_from(source);
  return total;
}

// A random DAG of `layers` layers (1 to 4 neurons), pairs (a, b), a < b, with probability 1/2,
// s in [scale, 2 scale), E in [0, 1).
Network random_network(std::uint64_t seed, int layers, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Network net;
  for (int l = 0; l < layers; ++l) {
    const auto size = static_cast<Eigen::Index>(1 + unit(rng) * 4);
    Eigen::VectorXd s(size);
    for (Eigen::Index i = 0; i < size; ++i) s(i) = scale * (1.0 + unit(rng));
    net.s.push_back(s);
  }
  for (int b = 1; b < layers; ++b)
    for (int a = 0; a < b; ++a)
      if (unit(rng) < 0.5) net.pairs.emplace_back(a, b);
  for (const auto& [a, b] : net.pairs) {
    Eigen::MatrixXd E(net.s[static_cast<std::size_t>(b)].size(), net.s[static_cast<std::size_t>(a)].size());
    for (Eigen::Index k = 0; k < E.size(); ++k) E.data()[k] = unit(rng);
    net.E.push_back(E);
  }
  return net;
}

TEST(PathMetricDag, MatchesBruteForceOnRandomDags) {
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 80; ++seed) {
    const Network net = random_network(seed, 2 + static_cast<int>(seed % 5));
    const long double expected = brute_force(net);
    ASSERT_GT(expected, 0.0L) << seed;
    const double got = svr::log10_path_metric(net.s, net.pairs, net.E);
    const double want = static_cast<double>(std::log10(expected));
    EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::abs(want))) << "seed " << seed;
    ++checked;
  }
  EXPECT_EQ(checked, 80);
}

TEST(PathMetricDag, HandExampleWithASkipAndAnIsolatedLayer) {
  // Layers 0 (s = 1, 2), 1 (s = 3), 2 (s = 1), 3 (s = 5, isolated: a source and a sink).
  // Pairs (0, 1) E = [1, 2], (1, 2) E = [4], (0, 2) E = [0.5, 0.25].
  // Via 1: x_1 = 1*1 + 2*2 = 5, x_2 += 4 * (5 * 3) = 60; skip: x_2 += 0.5*1 + 0.25*2 = 1;
  // sink 2: 61 * 1; sink 3: 5. Total 66.
  Network net;
  net.s = {Eigen::Vector2d(1, 2), Eigen::VectorXd::Constant(1, 3.0), Eigen::VectorXd::Constant(1, 1.0),
           Eigen::VectorXd::Constant(1, 5.0)};
  net.pairs = {{0, 1}, {1, 2}, {0, 2}};
  Eigen::MatrixXd e01(1, 2), e12(1, 1), e02(1, 2);
  e01 << 1, 2;
  e12 << 4;
  e02 << 0.5, 0.25;
  net.E = {e01, e12, e02};
  EXPECT_NEAR(svr::log10_path_metric(net.s, net.pairs, net.E), std::log10(66.0), 1e-14);
  EXPECT_NEAR(static_cast<double>(brute_force(net)), 66.0, 1e-12);
  // Without the isolated layer: 61.
  net.s.pop_back();
  EXPECT_NEAR(svr::log10_path_metric(net.s, net.pairs, net.E), std::log10(61.0), 1e-14);
  // The pairs in another order give the same sum.
  std::swap(net.pairs[0], net.pairs[2]);
  std::swap(net.E[0], net.E[2]);
  EXPECT_NEAR(svr::log10_path_metric(net.s, net.pairs, net.E), std::log10(61.0), 1e-14);
}

TEST(PathMetricDag, LargeAndSmallScalesNeitherOverflowNorUnderflow) {
  // s ~ 1e150 over 5 to 6 layers: the sums reach 1e900 and more, beyond double; long double
  // holds them.
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    for (const double scale : {1e150, 1e-150}) {
      const Network net = random_network(seed, 5 + static_cast<int>(seed % 2), scale);
      const long double expected = brute_force(net);
      ASSERT_GT(expected, 0.0L);
      const double want = static_cast<double>(std::log10(expected));
      ASSERT_TRUE(std::isfinite(want));
      const double got = svr::log10_path_metric(net.s, net.pairs, net.E);
      EXPECT_NEAR(got, want, 1e-12 * std::abs(want)) << "seed " << seed << " scale " << scale;
    }
  }
}

TEST(PathMetricDag, AChainGivesTheChainMetricBitForBit) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int trial = 0; trial < 50; ++trial) {
    const int layers = 1 + trial % 8;
    std::vector<Eigen::VectorXd> s;
    for (int l = 0; l < layers; ++l) {
      Eigen::VectorXd v(1 + static_cast<Eigen::Index>(unit(rng) * 6));
      for (Eigen::Index i = 0; i < v.size(); ++i) v(i) = std::pow(10.0, 40 * (unit(rng) - 0.5));
      if (trial % 10 == 9 && l == layers / 2) v.setZero();  // a dead layer: -inf both ways
      s.push_back(v);
    }
    std::vector<std::pair<int, int>> pairs;
    std::vector<Eigen::MatrixXd> E;
    for (int l = 0; l + 1 < layers; ++l) {
      pairs.emplace_back(l, l + 1);
      Eigen::MatrixXd e(s[static_cast<std::size_t>(l + 1)].size(), s[static_cast<std::size_t>(l)].size());
      for (Eigen::Index k = 0; k < e.size(); ++k) e.data()[k] = unit(rng) < 0.2 ? 0.0 : unit(rng);
      E.push_back(e);
    }
    const double chain = svr::log10_path_metric(s, E);
    const double dag = svr::log10_path_metric(s, pairs, E);
    EXPECT_EQ(chain, dag) << "trial " << trial;
    if (trial % 10 == 9 && layers > 1) EXPECT_EQ(dag, kMinusInf) << trial;
  }
}

TEST(PathMetricDag, MinusInfinityCases) {
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(2);
  const Eigen::MatrixXd zero = Eigen::MatrixXd::Zero(2, 2), full = Eigen::MatrixXd::Ones(2, 2);
  // Every E zero.
  EXPECT_EQ(svr::log10_path_metric({ones, ones, ones}, {{0, 1}, {1, 2}, {0, 2}}, {zero, zero, zero}),
            kMinusInf);
  // The only source dead (s = 0).
  EXPECT_EQ(svr::log10_path_metric({Eigen::VectorXd::Zero(2), ones, ones}, {{0, 1}, {1, 2}, {0, 2}},
                                   {full, full, full}),
            kMinusInf);
  // A sink dead (s = 0), the only sink.
  EXPECT_EQ(svr::log10_path_metric({ones, ones, Eigen::VectorXd::Zero(2)}, {{0, 1}, {1, 2}},
                                   {full, full}),
            kMinusInf);
  // One branch dead, the other alive: the alive one alone. 0 -> 1 -> 3 dead (E_13 = 0),
  // 0 -> 2 -> 3 alive.
  Network net;
  net.s = {ones, ones, 3.0 * ones, ones};
  net.pairs = {{0, 1}, {0, 2}, {1, 3}, {2, 3}};
  net.E = {full, full, zero, full};
  const double alive = svr::log10_path_metric(net.s, net.pairs, net.E);
  // Path 0 -> 2 -> 3: sum over i, j, k of 1 * 1 * 3 * 1 * 1 = 8 * 3 = 24.
  EXPECT_NEAR(alive, std::log10(24.0), 1e-14);
  EXPECT_NEAR(static_cast<double>(brute_force(net)), 24.0, 1e-12);
  // An isolated layer 4 (a source and a sink): dead (s = 0), the others alone; alive, its sum
  // of s (3) added.
  net.s.push_back(Eigen::VectorXd::Zero(3));
  EXPECT_NEAR(svr::log10_path_metric(net.s, net.pairs, net.E), std::log10(24.0), 1e-14);
  net.s.back() = Eigen::VectorXd::Ones(3);
  EXPECT_NEAR(svr::log10_path_metric(net.s, net.pairs, net.E), std::log10(27.0), 1e-14);
}

TEST(PathMetricDag, ShapeErrors) {
  const Eigen::VectorXd two = Eigen::VectorXd::Ones(2), three = Eigen::VectorXd::Ones(3);
  const Eigen::MatrixXd e32 = Eigen::MatrixXd::Ones(3, 2);
  EXPECT_NO_THROW(svr::log10_path_metric({two, three}, {{0, 1}}, {e32}));
  EXPECT_THROW(svr::log10_path_metric({two, three}, {{0, 1}}, {}), std::invalid_argument);
  EXPECT_THROW(svr::log10_path_metric({two, three}, {{1, 0}}, {e32}), std::invalid_argument);
  EXPECT_THROW(svr::log10_path_metric({two, three}, {{0, 0}}, {e32}), std::invalid_argument);
  EXPECT_THROW(svr::log10_path_metric({two, three}, {{0, 2}}, {e32}), std::invalid_argument);
  EXPECT_THROW(svr::log10_path_metric({two, three}, {{-1, 1}}, {e32}), std::invalid_argument);
  EXPECT_THROW(svr::log10_path_metric({two, three}, {{0, 1}}, {e32.transpose()}),
               std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------

// The value m * 10^scale of a scaled vector, in long double.
std::vector<long double> value(const svr::ScaledVector& x) {
  std::vector<long double> out;
  for (Eigen::Index i = 0; i < x.m.size(); ++i)
    out.push_back(static_cast<long double>(x.m(i)) * std::pow(10.0L, x.log10_scale));
  return out;
}

TEST(PathMerge, SumsThePartsAtTheirScales) {
  svr::ScaledVector a{Eigen::Vector3d(1.0, 0.5, 0.0), 2.0, true};    // 100, 50, 0
  svr::ScaledVector b{Eigen::Vector3d(0.25, 1.0, 0.5), -1.0, true};  // 0.025, 0.1, 0.05
  svr::ScaledVector c{Eigen::Vector3d(0.0, 0.0, 1.0), 300.0, true};  // 0, 0, 1e300
  const svr::ScaledVector ab = svr::path_merge({a, b}, 3);
  ASSERT_TRUE(ab.alive);
  const std::vector<long double> v = value(ab);
  const long double want[] = {100.025L, 50.1L, 0.05L};
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(static_cast<double>(v[i] / want[i]), 1.0, 1e-14) << i;
  EXPECT_DOUBLE_EQ(ab.m.cwiseAbs().maxCoeff(), 1.0);  // rescaled
  // Far apart in scale, without overflow.
  const svr::ScaledVector ac = svr::path_merge({a, c}, 3);
  ASSERT_TRUE(ac.alive);
  EXPECT_NEAR(ac.log10_scale, 300.0, 1e-12);
  EXPECT_EQ(ac.m(2), 1.0);
  EXPECT_NEAR(ac.m(0), 1e-298, 1e-310);
  // One alive part is returned as it is, bit for bit; dead parts are left out.
  const svr::ScaledVector dead{Eigen::VectorXd(), 0.0, false};
  const svr::ScaledVector only = svr::path_merge({dead, b, dead}, 3);
  EXPECT_TRUE(only.alive);
  EXPECT_EQ(only.m, b.m);
  EXPECT_EQ(only.log10_scale, b.log10_scale);
  EXPECT_FALSE(svr::path_merge({dead, dead}, 3).alive);
  EXPECT_FALSE(svr::path_merge({}, 3).alive);
  // Parts that cancel to zero (they cannot in the metric, E >= 0, but merge must say so).
  const svr::ScaledVector minus{-a.m, a.log10_scale, true};
  EXPECT_FALSE(svr::path_merge({a, minus}, 3).alive);
}

TEST(PathTotal, LogOfTheSumOfPowers) {
  EXPECT_EQ(svr::path_total({3.25}), 3.25);  // one term as it is
  EXPECT_EQ(svr::path_total({kMinusInf}), kMinusInf);
  EXPECT_EQ(svr::path_total({kMinusInf, kMinusInf}), kMinusInf);
  EXPECT_EQ(svr::path_total({}), kMinusInf);
  EXPECT_NEAR(svr::path_total({1.0, 2.0}), std::log10(110.0), 1e-14);
  EXPECT_NEAR(svr::path_total({2.0, kMinusInf, 1.0}), std::log10(110.0), 1e-14);
  // Beyond double: log10(10^400 + 10^399) = 400 + log10(1.1).
  EXPECT_NEAR(svr::path_total({400.0, 399.0}), 400.0 + std::log10(1.1), 1e-12);
  EXPECT_NEAR(svr::path_total({-400.0, -400.0, -400.0}), -400.0 + std::log10(3.0), 1e-12);
}

TEST(PathStepAndEnd, OneStepByHand) {
  // x = (1, 1) * s = (2, 4), E = [[1, 0.5]] -> 2 + 2 = 4; end with s = (3): 12.
  svr::ScaledVector x{Eigen::Vector2d(1, 1), 0.0, true};
  Eigen::MatrixXd E(1, 2);
  E << 1, 0.5;
  const svr::ScaledVector y = svr::path_step(x, Eigen::Vector2d(2, 4), E);
  ASSERT_TRUE(y.alive);
  EXPECT_NEAR(static_cast<double>(value(y)[0]), 4.0, 1e-14);
  EXPECT_NEAR(svr::path_end(y, Eigen::VectorXd::Constant(1, 3.0)), std::log10(12.0), 1e-14);
  EXPECT_EQ(svr::path_end(y, Eigen::VectorXd::Zero(1)), kMinusInf);
  EXPECT_FALSE(svr::path_step(x, Eigen::Vector2d(0, 0), E).alive);
  EXPECT_FALSE(svr::path_step(x, Eigen::Vector2d(2, 4), Eigen::MatrixXd::Zero(1, 2)).alive);
  EXPECT_FALSE(svr::path_step({Eigen::VectorXd(), 0.0, false}, Eigen::Vector2d(2, 4), E).alive);
}

}  // namespace
