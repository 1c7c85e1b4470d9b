// Calibration of the per-pair null laws of networks that are graphs (spec section 7, issue 11):
// with i.i.d. Gaussian weights the null holds exactly, so the p-values svr computes must be
// Uniform(0, 1). Each case is a tiny network planned from a topology file (plan_from_topology),
// whose weights are drawn many times and go through svr's own one-rank path: read and factored
// by factor_lapack_layers (block_diagonal_svd for a grouped layer), E and the producer norms by
// serial_edge_weights (the pair's channel map), the null law and p-values by reduce_owned_pairs
// (test_pair with the pair's EdgeNormalisers). One edge per draw and per sample keeps each sample
// i.i.d. (the edges of one draw share their factors); the edge is picked by a second generator,
// independent of the weights. A one-sample Kolmogorov-Smirnov test at alpha = 1e-4 then holds
// the p-values to uniformity, and rejects those of a wrong null (the power of the check).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "svr/app/options.hpp"
#include "svr/app/phase_edges.hpp"
#include "svr/app/phase_read.hpp"
#include "svr/app/phase_significance.hpp"
#include "svr/app/phase_svd.hpp"
#include "svr/network/topology.hpp"
#include "svr/stats/pvalues.hpp"
#include "svr_test/temp_dir.hpp"
#include "svr_test/topology_json.hpp"

namespace svr {
namespace {

// ---------------------------------------------------------------------------------------------
// One-sample Kolmogorov-Smirnov test against Uniform(0, 1).

constexpr double kAlpha = 1e-4;  // deterministic seeds; a small alpha leaves a wide margin
constexpr int kDraws = 2000;

// D = sup |F_n(x) - x| of the sample.
double ks_statistic(std::vector<double> sample) {
  std::sort(sample.begin(), sample.end());
  const double n = static_cast<double>(sample.size());
  double d = 0.0;
  for (std::size_t k = 0; k < sample.size(); ++k) {
    const double x = std::clamp(sample[k], 0.0, 1.0);
    d = std::max({d, (static_cast<double>(k) + 1.0) / n - x, x - static_cast<double>(k) / n});
  }
  return d;
}

// Asymptotic Kolmogorov law: P(sqrt(n) D > t) ~ 2 exp(-2 t^2), its leading term; slightly
// conservative at n in the thousands (n = 2000, alpha = 1e-4: 0.04976, the exact law 0.04966).
double ks_critical(std::size_t n, double alpha) {
  return std::sqrt(-std::log(alpha / 2.0) / 2.0) / std::sqrt(static_cast<double>(n));
}

// A property name for RecordProperty (the XML report): letters and digits only.
std::string property_name(const std::string& what) {
  std::string name = "ks_";
  for (const char ch : what) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return name;
}

std::string ks_text(const std::string& what, double d, std::size_t n) {
  char text[200];
  std::snprintf(text, sizeof text, "%s: KS D = %.4f, critical value %.4f (n = %zu, alpha = %g)",
                what.c_str(), d, ks_critical(n, kAlpha), n, kAlpha);
  return text;
}

// The p-values are Uniform(0, 1): D below the critical value.
void expect_uniform(const std::vector<double>& p, const std::string& what) {
  ASSERT_EQ(p.size(), static_cast<std::size_t>(kDraws)) << what;
  const double d = ks_statistic(p);
  ::testing::Test::RecordProperty(property_name(what), ks_text(what, d, p.size()));
  EXPECT_LT(d, ks_critical(p.size(), kAlpha)) << ks_text(what, d, p.size());
}

// The same test rejects p-values from a wrong null: the check has power.
void expect_rejected(const std::vector<double>& p, const std::string& what) {
  ASSERT_EQ(p.size(), static_cast<std::size_t>(kDraws)) << what;
  const double d = ks_statistic(p);
  ::testing::Test::RecordProperty(property_name(what), ks_text(what, d, p.size()));
  EXPECT_GT(d, ks_critical(p.size(), kAlpha)) << ks_text(what, d, p.size());
}

TEST(KolmogorovSmirnov, StatisticAndCriticalValue) {
  EXPECT_DOUBLE_EQ(ks_statistic({0.5}), 0.5);
  EXPECT_DOUBLE_EQ(ks_statistic({0.1, 0.6}), 0.4);  // F_n = 0.5 at 0.1, 1 at 0.6
  EXPECT_DOUBLE_EQ(ks_statistic({0.25, 0.75}), 0.25);
  // The table value of the asymptotic law: P(K > 1.3581) = 0.05.
  EXPECT_NEAR(ks_critical(1, 0.05), 1.3581, 2e-4);
  EXPECT_NEAR(ks_critical(10000, 0.05), 0.013581, 2e-6);
  // A uniform sample passes, a shifted one fails.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> u(4000), shifted(4000);
  for (std::size_t k = 0; k < u.size(); ++k) {
    u[k] = unit(rng);
    shifted[k] = std::pow(u[k], 1.2);
  }
  EXPECT_LT(ks_statistic(u), ks_critical(u.size(), kAlpha));
  EXPECT_GT(ks_statistic(shifted), ks_critical(shifted.size(), kAlpha));
}

// ---------------------------------------------------------------------------------------------
// A tiny network with Gaussian weights, redrawn in place, analysed as svr does on one rank.

struct Weight {
  std::string name;
  std::vector<std::int64_t> shape;
};

// Every layer of these networks is a convolution.
std::string layer(const std::string& name, const std::string& reads,
                  const std::string& extra = "") {
  return test::topology_layer(name, "conv2d", reads, extra);
}

std::string read(const std::string& from, const std::string& map, const std::string& extra = "") {
  return test::topology_read(from, map, extra);
}

// Every edge of every pair of one draw: e and log10 p (all edges, column-major like E).
struct Draw {
  std::vector<EdgeCandidates> edges;
};

class RandomNetwork {
 public:
  // `weights` in the model's order; `layers`: the entries of the topology's "layers" array.
  RandomNetwork(const std::vector<Weight>& weights, const std::string& layers) {
    std::uint64_t offset = 0;
    for (const Weight& w : weights) {
      TensorInfo t;
      t.name = w.name;
      t.dtype = DType::F64;
      t.shape = w.shape;
      t.file = data_;
      t.offset = offset;
      t.nbytes = static_cast<std::uint64_t>(t.numel()) * 8;
      offset += t.nbytes;
      plans_.model.tensors.push_back(t);
    }
    plans_.model.path = dir_ / "model.safetensors";
    plans_.model.format = "safetensors";
    values_.resize(offset / 8);
    std::ofstream(data_, std::ios::binary)
        .write(reinterpret_cast<const char*>(values_.data()),
               static_cast<std::streamsize>(values_.size() * sizeof(double)));
    std::ofstream(topology_, std::ios::binary | std::ios::trunc)
        << R"({"format": "svr-topology", "schema_version": 1, "model": "test", "layers": [)"
        << layers << "]}";
    options_.network.topology = topology_;
    options_.plot = false;
    options_.significance.all_edges = true;  // the exact p of every edge
    plans_.network = plan_from_topology(plans_.model, options_.network);
    // The execution plan of one rank, as read_phase makes it: every layer LAPACK on rank 0.
    std::vector<LayerShape> shapes;
    for (const LayerSpec& spec : plans_.network.layers)
      shapes.push_back({spec.rows(options_.method()), spec.cols(options_.method()), spec.groups});
    std::vector<PairLayers> pairs;
    for (const PairSpec& pair : plans_.network.pairs) pairs.push_back({pair.from, pair.to});
    plans_.execution = plan_execution(shapes, pairs, 1, options_.execution.scalapack_min_dim,
                                      options_.execution.block_size);
    describe_plans(plans_, options_, described_);
  }

  const NetworkPlan& plan() const { return plans_.network; }

  // The index of the pair from `from` to `to` (the k-th such pair: a consumer may read two
  // slices of one producer).
  std::size_t pair(const std::string& from, const std::string& to, int k = 0) const {
    const NetworkPlan& plan = plans_.network;
    for (std::size_t l = 0; l < plan.pairs.size(); ++l)
      if (plan.layers[static_cast<std::size_t>(plan.pairs[l].from)].name == from &&
          plan.layers[static_cast<std::size_t>(plan.pairs[l].to)].name == to && k-- == 0)
        return l;
    ADD_FAILURE() << "no pair " << from << " -> " << to;
    return 0;
  }

  // New Gaussian weights, then svr's pipeline pieces on one rank: the factors
  // (factor_lapack_layers), what share_singular_values gives every rank (s, each neuron's
  // group), E and norms (serial_edge_weights, as pair_edge_weights on one rank), the null law and
  // p-values of each pair (reduce_owned_pairs). `pairs` gets each pair's law.
  Draw draw(std::mt19937_64& rng, std::vector<PairResult>* pairs = nullptr) {
    std::normal_distribution<double> normal;
    for (double& x : values_) x = normal(rng);
    write_weights();
    LayerFactors factors;
    factor_lapack_layers(factors, plans_.model, plans_.network, plans_.execution, options_, 0);
    std::vector<LayerResult> layers = described_.layers;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      layers[l].sigma = factors.local[l].s;
      if (layers[l].groups > 1) layers[l].group = factors.local[l].group;
    }
    EdgeWeights E;
    E.E.resize(plans_.network.pairs.size());
    E.u_norm2.resize(plans_.network.pairs.size());
    for (std::size_t l = 0; l < plans_.network.pairs.size(); ++l) {
      const PairSpec& geometry = plans_.network.pairs[l];
      E.E[l] = serial_edge_weights(factors.local[static_cast<std::size_t>(geometry.from)].U,
                                   factors.local[static_cast<std::size_t>(geometry.to)].V, geometry,
                                   pair_null(geometry, options_.method()), E.u_norm2[l]);
    }
    std::vector<PairResult> results = described_.pairs;
    std::vector<PairOutcome> outcomes =
        reduce_owned_pairs(results, layers, E, plans_.execution, options_, 0);
    Draw out;
    for (PairOutcome& outcome : outcomes) out.edges.push_back(std::move(outcome.candidates));
    if (pairs != nullptr) *pairs = std::move(results);
    return out;
  }

 private:
  // In place: truncating a file and writing it again makes some file systems (ext4) flush it,
  // milliseconds per draw.
  void write_weights() {
    std::fstream out(data_, std::ios::binary | std::ios::in | std::ios::out);
    out.write(reinterpret_cast<const char*>(values_.data()),
              static_cast<std::streamsize>(values_.size() * sizeof(double)));
    if (!out) throw std::runtime_error("cannot write " + data_);
  }

  test::TempDir dir_;
  std::string data_ = dir_ / "weights.bin";
  std::string topology_ = dir_ / "net.topology.json";
  std::vector<double> values_;
  Options options_;
  RunPlans plans_;
  SvrResult described_;
};

// One testable edge of a pair, picked uniformly by `pick` (independent of the weights): its
// index into the pair's candidates. Untestable edges (norm 0, disjoint supports) are skipped;
// whether an edge is testable depends on the neurons' groups only, not on the values the null
// is about.
std::size_t pick_edge(const EdgeCandidates& edges, std::mt19937_64& pick) {
  std::vector<std::size_t> testable;
  for (std::size_t k = 0; k < edges.size(); ++k)
    if (edges.testable(k)) testable.push_back(k);
  if (testable.empty()) throw std::runtime_error("no testable edge");
  std::uniform_int_distribution<std::size_t> any(0, testable.size() - 1);
  return testable[any(pick)];
}

// A p-value sample of one pair: svr's p and, for the power checks, the p of a wrong Beta law
// applied to E itself.
struct Sample {
  std::size_t pair = 0;
  std::vector<double> p, wrong_p;
  double wrong_a = 0.0, wrong_b = 0.0;  // 0: no power check on this sample
  std::int64_t untestable_seen = 0;     // untestable edges met in the pair over all draws
};

// kDraws draws of the network; one edge per draw for every sample. Checks each pair's law in
// the first draw against `laws` ({a, b} per sample).
void simulate(RandomNetwork& net, std::vector<Sample>& samples,
              const std::vector<std::pair<double, double>>& laws, std::uint64_t seed) {
  std::mt19937_64 weights(seed), pick(seed + 1000003);
  for (int d = 0; d < kDraws; ++d) {
    std::vector<PairResult> pairs;
    const Draw draw = net.draw(weights, d == 0 ? &pairs : nullptr);
    for (std::size_t s = 0; s < samples.size(); ++s) {
      Sample& sample = samples[s];
      const EdgeCandidates& edges = draw.edges[sample.pair];
      if (d == 0) {
        const PairResult& law = pairs[sample.pair];
        EXPECT_EQ(law.null_kind, NullKind::Beta) << "sample " << s;
        EXPECT_EQ(law.beta_a, laws[s].first) << "sample " << s;
        EXPECT_EQ(law.beta_b, laws[s].second) << "sample " << s;
      }
      for (std::size_t k = 0; k < edges.size(); ++k) sample.untestable_seen += !edges.testable(k);
      const std::size_t k = pick_edge(edges, pick);
      sample.p.push_back(std::pow(10.0, edges.log10_p[k]));
      if (sample.wrong_a > 0.0)
        sample.wrong_p.push_back(
            std::pow(10.0, log10_beta_sf(edges.e[k], sample.wrong_a, sample.wrong_b)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The six cases of spec section 7.

TEST(NullCalibrationGraph, ResidualAdd) {
  // c reads the sum of a and b: each summand's producer is a pair with the chain law of c's
  // input, c_B = 4, z = 9: Beta(4.5, 13.5), no division (all channels read).
  RandomNetwork net(
      {{"a.weight", {4, 3, 3, 3}}, {"b.weight", {4, 4, 3, 3}}, {"c.weight", {2, 4, 3, 3}}},
      layer("a.weight", "") + "," + layer("b.weight", read("a.weight", "direct")) + "," +
          layer("c.weight", read("a.weight", "add") + "," + read("b.weight", "add")));
  std::vector<Sample> samples(3);
  samples[0].pair = net.pair("a.weight", "b.weight");
  samples[1].pair = net.pair("a.weight", "c.weight");
  samples[2].pair = net.pair("b.weight", "c.weight");
  ASSERT_EQ(net.plan().pairs[samples[1].pair].map.kind, MapKind::Add);
  simulate(net, samples, {{4.5, 13.5}, {4.5, 13.5}, {4.5, 13.5}}, 101);
  expect_uniform(samples[0].p, "add: direct a -> b");
  expect_uniform(samples[1].p, "add: summand a -> c");
  expect_uniform(samples[2].p, "add: summand b -> c");
}

TEST(NullCalibrationGraph, ConcatAtAnOffset) {
  // cat reads b at channels 3..7 and a at 0..2: E sums over the 5 (or 3) channels read, the law
  // is the consumer's, c_B = 8, z = 9: Beta(4.5, 31.5). Wrong: the law of the channels read,
  // c = count (as if the consumer had only those inputs).
  RandomNetwork net(
      {{"a.weight", {3, 4, 1, 1}}, {"b.weight", {5, 4, 1, 1}}, {"cat.weight", {4, 8, 3, 3}}},
      layer("a.weight", "") + "," + layer("b.weight", "") + "," +
          layer("cat.weight", read("b.weight", "concat", R"("offset": 3)") + "," +
                                  read("a.weight", "concat", R"("offset": 0)")));
  std::vector<Sample> samples(2);
  samples[0].pair = net.pair("b.weight", "cat.weight");
  samples[1].pair = net.pair("a.weight", "cat.weight");
  ASSERT_EQ(net.plan().pairs[samples[0].pair].map.offset, 3);
  samples[0].wrong_a = samples[1].wrong_a = 4.5;
  samples[0].wrong_b = (5 * 9 - 9) / 2.0;
  samples[1].wrong_b = (3 * 9 - 9) / 2.0;
  simulate(net, samples, {{4.5, 31.5}, {4.5, 31.5}}, 202);
  expect_uniform(samples[0].p, "concat: b at offset 3");
  expect_uniform(samples[1].p, "concat: a at offset 0");
  expect_rejected(samples[0].wrong_p, "concat: b at offset 3, law of the 5 channels read");
  expect_rejected(samples[1].wrong_p, "concat: a at offset 0, law of the 3 channels read");
}

TEST(NullCalibrationGraph, SplitSlices) {
  // lo reads a's channels 3..7 (c_B = 5, z = 9): E / ||u_S||^2 ~ Beta(4.5, 18). swap reads a's
  // channels 8..11 at its inputs 2..5 and 0..1 at 0..1 (c_B = 6, z = 1): Beta(0.5, 2.5).
  // Wrong: the same law on E itself, without the division by ||u_S||^2.
  RandomNetwork net(
      {{"a.weight", {12, 4, 1, 1}}, {"lo.weight", {2, 5, 3, 3}}, {"swap.weight", {2, 6, 1, 1}}},
      layer("a.weight", "") + "," +
          layer("lo.weight", read("a.weight", "split", R"("source": [3, 5])")) + "," +
          layer("swap.weight", read("a.weight", "split", R"("source": [8, 4], "offset": 2)") + "," +
                                   read("a.weight", "split", R"("source": [0, 2])")));
  std::vector<Sample> samples(3);
  samples[0].pair = net.pair("a.weight", "lo.weight");
  samples[1].pair = net.pair("a.weight", "swap.weight", 0);
  samples[2].pair = net.pair("a.weight", "swap.weight", 1);
  ASSERT_EQ(net.plan().pairs[samples[1].pair].map.first, 8);
  ASSERT_EQ(net.plan().pairs[samples[1].pair].map.offset, 2);
  samples[0].wrong_a = 4.5;
  samples[0].wrong_b = 18.0;
  samples[1].wrong_a = samples[2].wrong_a = 0.5;
  samples[1].wrong_b = samples[2].wrong_b = 2.5;
  simulate(net, samples, {{4.5, 18.0}, {0.5, 2.5}, {0.5, 2.5}}, 303);
  expect_uniform(samples[0].p, "split: a[3..7] -> lo");
  expect_uniform(samples[1].p, "split: a[8..11] -> swap at offset 2");
  expect_uniform(samples[2].p, "split: a[0..1] -> swap");
  expect_rejected(samples[0].wrong_p, "split: a[3..7] -> lo, E not divided by ||u_S||^2");
  expect_rejected(samples[1].wrong_p, "split: a[8..11] -> swap, E not divided by ||u_S||^2");
  expect_rejected(samples[2].wrong_p, "split: a[0..1] -> swap, E not divided by ||u_S||^2");
}

TEST(NullCalibrationGraph, GroupedConsumer) {
  // g: 3 groups of c_g = 4 of a's 12 channels, z = 9: E / ||u_g||^2 ~ Beta(4.5, 13.5), u_g the
  // producer neuron over the consumer neuron's group. g2: 2 groups of 3 channels, z = 1:
  // Beta(0.5, 1), fed by two slices of a: a[2..5] at inputs 2..5 (across both groups) and
  // a[8..9] at 0..1 (group 0 only: the edges to group 1 are untestable). Wrong for g: the chain
  // law of c_B = 12, Beta(4.5, 49.5), on E (groups ignored).
  RandomNetwork net(
      {{"a.weight", {12, 4, 1, 1}}, {"g.weight", {6, 4, 3, 3}}, {"g2.weight", {2, 3, 1, 1}}},
      layer("a.weight", "") + "," +
          layer("g.weight", read("a.weight", "direct"), R"("groups": 3)") + "," +
          layer("g2.weight",
                read("a.weight", "split", R"("source": [2, 4], "offset": 2)") + "," +
                    read("a.weight", "split", R"("source": [8, 2])"),
                R"("groups": 2)"));
  std::vector<Sample> samples(3);
  samples[0].pair = net.pair("a.weight", "g.weight");
  samples[1].pair = net.pair("a.weight", "g2.weight", 0);
  samples[2].pair = net.pair("a.weight", "g2.weight", 1);
  ASSERT_EQ(net.plan().pairs[samples[0].pair].consumer_groups, 3);
  ASSERT_EQ(net.plan().pairs[samples[1].pair].map.offset, 2);
  samples[0].wrong_a = 4.5;
  samples[0].wrong_b = 49.5;
  simulate(net, samples, {{4.5, 13.5}, {0.5, 1.0}, {0.5, 1.0}}, 404);
  EXPECT_EQ(samples[0].untestable_seen, 0);
  EXPECT_EQ(samples[1].untestable_seen, 0);
  // One of g2's two neurons is in group 1 (2 x 4 edges): 4 untestable edges per draw.
  EXPECT_EQ(samples[2].untestable_seen, static_cast<std::int64_t>(kDraws) * 4);
  expect_uniform(samples[0].p, "grouped consumer: a -> g (3 groups of 4)");
  expect_uniform(samples[1].p, "grouped consumer: a[2..5] -> g2 at offset 2 (2 groups of 3)");
  expect_uniform(samples[2].p, "grouped consumer: a[8..9] -> g2 (2 groups of 3)");
  expect_rejected(samples[0].wrong_p, "grouped consumer: a -> g, chain law of c_B = 12");
}

TEST(NullCalibrationGraph, DepthwiseConsumer) {
  // dw has one channel per group: E = u_i[a]^2, the producer-side null Beta(1/2, (c_u - 1)/2).
  // a -> dw: c_u = 8, Beta(0.5, 3.5). p (2 groups of 4 channels) -> dw2 (depthwise, 2 outputs per
  // channel): c_u = 4, Beta(0.5, 1.5), and the edges across p's groups are exactly 0, untestable.
  // Wrong for dw: the consumer-side chain law, c = 8, z = 9: Beta(4.5, 31.5).
  RandomNetwork net({{"a.weight", {8, 2, 1, 1}},
                     {"dw.weight", {8, 1, 3, 3}},
                     {"p.weight", {8, 1, 1, 1}},
                     {"dw2.weight", {16, 1, 3, 3}}},
                    layer("a.weight", "") + "," +
                        layer("dw.weight", read("a.weight", "direct"), R"("groups": 8)") + "," +
                        layer("p.weight", "", R"("groups": 2)") + "," +
                        layer("dw2.weight", read("p.weight", "direct"), R"("groups": 8)"));
  std::vector<Sample> samples(2);
  samples[0].pair = net.pair("a.weight", "dw.weight");
  samples[1].pair = net.pair("p.weight", "dw2.weight");
  samples[0].wrong_a = 4.5;
  samples[0].wrong_b = 31.5;
  simulate(net, samples, {{0.5, 3.5}, {0.5, 1.5}}, 505);
  EXPECT_EQ(samples[0].untestable_seen, 0);
  // p has one neuron per group (4 x 1 blocks), each reaching 4 of dw2's 8 channels: half of the
  // 16 x 2 edges of every draw.
  EXPECT_EQ(samples[1].untestable_seen, static_cast<std::int64_t>(kDraws) * 16);
  expect_uniform(samples[0].p, "depthwise consumer: a -> dw");
  expect_uniform(samples[1].p, "depthwise consumer: grouped p -> dw2");
  expect_rejected(samples[0].wrong_p, "depthwise consumer: a -> dw, consumer-side chain law");
}

TEST(NullCalibrationGraph, DepthwiseProducer) {
  // dw's neurons are u_i = +-e_a: the null is the consumer's. pw (ungrouped, c_B = 8, z = 9):
  // Beta(4.5, 31.5). gc (2 groups of 4, z = 1): Beta(0.5, 1.5) on E / ||u_g||^2 = E, and the
  // edges to the other group untestable. Wrong: for pw the producer-side law of a depthwise
  // consumer, Beta(0.5, 3.5); for gc the chain law of c_B = 8, Beta(0.5, 3.5).
  RandomNetwork net(
      {{"dw.weight", {8, 1, 3, 3}}, {"pw.weight", {2, 8, 3, 3}}, {"gc.weight", {4, 4, 1, 1}}},
      layer("dw.weight", "", R"("groups": 8)") + "," +
          layer("pw.weight", read("dw.weight", "direct")) + "," +
          layer("gc.weight", read("dw.weight", "direct"), R"("groups": 2)"));
  std::vector<Sample> samples(2);
  samples[0].pair = net.pair("dw.weight", "pw.weight");
  samples[1].pair = net.pair("dw.weight", "gc.weight");
  samples[0].wrong_a = samples[1].wrong_a = 0.5;
  samples[0].wrong_b = samples[1].wrong_b = 3.5;
  simulate(net, samples, {{4.5, 31.5}, {0.5, 1.5}}, 606);
  EXPECT_EQ(samples[0].untestable_seen, 0);
  EXPECT_EQ(samples[1].untestable_seen, static_cast<std::int64_t>(kDraws) * 16);  // 4 x 8 / 2
  expect_uniform(samples[0].p, "depthwise producer: dw -> pw");
  expect_uniform(samples[1].p, "depthwise producer: dw -> gc (2 groups of 4)");
  expect_rejected(samples[0].wrong_p, "depthwise producer: dw -> pw, producer-side law");
  expect_rejected(samples[1].wrong_p, "depthwise producer: dw -> gc, chain law of c_B = 8");
}

}  // namespace
}  // namespace svr
