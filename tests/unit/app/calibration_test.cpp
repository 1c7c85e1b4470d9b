// Calibration of the significance test on randomly initialised chains, where the null law of
// spec section 4 holds exactly: i.i.d. Gaussian weights have Haar-distributed singular vectors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "svr/linalg/edge_weights.hpp"
#include "svr/linalg/svd.hpp"
#include "svr/stats/pvalues.hpp"
#include "svr/stats/significance.hpp"

namespace svr {
namespace {

Eigen::MatrixXd gaussian(Eigen::Index rows, Eigen::Index cols, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = normal(rng);
  return m;
}

// A VGG-like chain in svr layout: convs with 3x3 kernels (z = 9), a flatten to a linear layer
// over 2x2 positions (z = 4), then linear layers (z = 1).
struct RandomChain {
  std::vector<Spectrum> layers;
  std::vector<PairResult> pairs;
};

RandomChain random_vgg_like(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::vector<std::int64_t> channels = {3, 16, 32, 32, 48};  // conv outputs
  const std::vector<std::int64_t> widths = {64, 40, 10};           // linear outputs
  RandomChain chain;
  std::vector<std::int64_t> z_v;
  for (std::size_t l = 1; l < channels.size(); ++l) {
    chain.layers.push_back(thin_svd(gaussian(channels[l], channels[l - 1] * 9, rng)));
    z_v.push_back(9);
  }
  std::int64_t in = channels.back() * 4;
  z_v.back() = 4;  // the pair conv -> linear flattens 2x2 positions
  for (std::int64_t width : widths) {
    chain.layers.push_back(thin_svd(gaussian(width, in, rng)));
    z_v.push_back(1);
    in = width;
  }
  for (std::size_t l = 0; l + 1 < chain.layers.size(); ++l) {
    PairResult pair;
    pair.from_layer = static_cast<int>(l);
    pair.to_layer = pair.from_layer + 1;
    pair.c = chain.layers[l].U.rows();
    pair.z_u = 1;
    pair.z_v = z_v[l];
    pair.E = edge_weights(chain.layers[l].U, chain.layers[l + 1].V, pair.c, 1, pair.z_v);
    chain.pairs.push_back(std::move(pair));
  }
  return chain;
}

TEST(Calibration, RawPValuesAreUniformOnRandomChains) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    RandomChain chain = random_vgg_like(seed);
    for (const PairResult& pair : chain.pairs) {
      if (pair.c == 1) continue;
      const double a = 0.5 * pair.z_v, b = 0.5 * (pair.c * pair.z_v - pair.z_v);
      const double n = static_cast<double>(pair.E.size());
      double below = 0.0;
      for (Eigen::Index k = 0; k < pair.E.size(); ++k)
        below += log10_beta_sf(pair.E.data()[k], a, b) < -2.0 ? 1.0 : 0.0;
      // Binomial(n, 0.01) limits at 4 standard deviations, floored at 3 edges for small pairs.
      const double sd = std::sqrt(n * 0.01 * 0.99);
      EXPECT_NEAR(below, 0.01 * n, std::max(4.0 * sd, 3.0))
          << "seed " << seed << " pair " << pair.from_layer << " (" << pair.E.rows() << "x"
          << pair.E.cols() << ")";
    }
  }
}

TEST(Calibration, BenjaminiHochbergFindsNoEdgeOnARandomVggLikeNet) {
  RandomChain chain = random_vgg_like(20230216);
  SignificanceOptions options;  // BH at 0.05 over the network
  test_edges(chain.pairs, options);
  std::int64_t tested = 0;
  for (const PairResult& pair : chain.pairs) {
    EXPECT_EQ(pair.significant, 0) << "pair " << pair.from_layer;
    EXPECT_TRUE(pair.edges.empty());
    tested += pair.edges_tested;
  }
  EXPECT_GT(tested, 9000);  // every edge of the 7 pairs is tested
}

TEST(Calibration, BenjaminiHochbergFindsAPlantedConnection) {
  // The same net with layer 2's top right singular vector aligned with layer 1's top left one
  // (over the first kernel position): the one real edge must be found, and only a few others.
  RandomChain chain = random_vgg_like(20230216);
  Spectrum& later = chain.layers[2];
  const Eigen::VectorXd u0 = chain.layers[1].U.col(0);
  Eigen::VectorXd v = Eigen::VectorXd::Zero(later.V.rows());
  for (Eigen::Index a = 0; a < u0.size(); ++a) v(a * 9) = u0(a);
  later.V.col(0) = v;
  PairResult& pair = chain.pairs[1];
  pair.E = edge_weights(chain.layers[1].U, later.V, pair.c, 1, pair.z_v);
  EXPECT_NEAR(pair.E(0, 0), 1.0, 1e-12);
  SignificanceOptions options;
  test_edges(chain.pairs, options);
  ASSERT_GE(pair.significant, 1);
  bool found = false;
  for (const EdgeRecord& edge : pair.edges) found |= edge.to_neuron == 0 && edge.from_neuron == 0;
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace svr

namespace svr {
namespace {

// Screening the edges that cannot be significant must not change any reported number.
TEST(Significance, ScreeningKeepsEverySignificantEdgeExact) {
  // None matters most: there every edge with p <= alpha is significant, right at the cut.
  for (Correction correction : {Correction::None, Correction::BH, Correction::BY, Correction::Holm,
                                Correction::Bonferroni}) {
    RandomChain planted = random_vgg_like(7);
    // Plant strong and borderline edges by mixing a singular vector into its neighbour's.
    for (std::size_t l = 0; l + 1 < planted.pairs.size(); ++l) {
      PairResult& pair = planted.pairs[l];
      for (Eigen::Index k = 0; k < std::min<Eigen::Index>(pair.E.rows(), 6); ++k)
        pair.E(k, k) = std::min(1.0, pair.E(k, k) + 1.5 * static_cast<double>(k + 1) / pair.c);
    }
    std::vector<PairResult> all = planted.pairs, screened = planted.pairs;
    SignificanceOptions every;
    every.correction = correction;
    every.all_edges = true;
    SignificanceOptions significant_only = every;
    significant_only.all_edges = false;
    test_edges(all, every);
    test_edges(screened, significant_only);
    std::int64_t found = 0;
    for (std::size_t l = 0; l < all.size(); ++l) {
      ASSERT_EQ(all[l].significant, screened[l].significant) << "pair " << l;
      EXPECT_EQ(all[l].edges_tested, screened[l].edges_tested);
      std::size_t k = 0;
      for (const EdgeRecord& edge : all[l].edges) {
        if (!edge.significant) continue;
        ASSERT_LT(k, screened[l].edges.size());
        const EdgeRecord& other = screened[l].edges[k++];
        EXPECT_EQ(edge.to_neuron, other.to_neuron);
        EXPECT_EQ(edge.from_neuron, other.from_neuron);
        EXPECT_EQ(edge.log10_p, other.log10_p);
        EXPECT_EQ(edge.log10_q, other.log10_q);
        ++found;
      }
      EXPECT_EQ(k, screened[l].edges.size());
    }
    EXPECT_GT(found, 0) << to_string(correction);
  }
}

}  // namespace
}  // namespace svr
