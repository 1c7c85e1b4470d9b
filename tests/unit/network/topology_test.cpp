// plan_from_topology (src/network/topology.cpp): a topology file over small in-memory models,
// the pairs it gives (channel maps, geometry, groups, batch norms, flatten order) checked
// against values worked out by hand, and every refusal with its one-line message naming the
// topology file and the layer.
#include "svr/network/topology.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "svr/network/network_plan.hpp"
#include "svr_test/temp_dir.hpp"
#include "svr_test/topology_json.hpp"
#include "test_model.hpp"

namespace svr {
namespace {

// A topology file in a fresh directory.
class TopologyFile {
 public:
  // `layers`: the JSON text of the "layers" array's entries.
  static std::string document(const std::string& layers) {
    return R"({"format": "svr-topology", "schema_version": 1, "model": "test", "layers": [)" +
           layers + "]}";
  }
  const std::string& write(const std::string& text) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << text;
    return path_;
  }

 private:
  test::TempDir dir_;
  std::string path_ = dir_ / "net.topology.json";
};

NetworkPlan plan_of(const ModelFile& model, const std::string& layers, NetworkOptions options = {}) {
  TopologyFile file;
  options.topology = file.write(TopologyFile::document(layers));
  return plan_from_topology(model, options);
}

// The refusal of a whole file `text`, whose message must name the file and contain `parts`.
void expect_refused_text(const ModelFile& model, const std::string& text,
                         std::vector<std::string> parts, NetworkOptions options = {}) {
  TopologyFile file;
  options.topology = file.write(text);
  parts.push_back(options.topology);
  test::expect_input_error([&] { plan_from_topology(model, options); }, parts);
  // plan_network goes through the same planner when --topology is given.
  test::expect_input_error([&] { plan_network(model, options); }, parts);
}

void expect_refused(const ModelFile& model, const std::string& layers,
                    const std::vector<std::string>& parts, NetworkOptions options = {}) {
  expect_refused_text(model, TopologyFile::document(layers), parts, options);
}

std::string layer(const std::string& name, const std::string& kind,
                  const std::string& reads = "", const std::string& extra = "") {
  return test::topology_layer(name, kind, reads, extra);
}

std::string read(const std::string& from, const std::string& map, const std::string& extra = "") {
  return test::topology_read(from, map, extra);
}

// ---------------------------------------------------------------------------------------------
// Pairs

void expect_same_pair(const PairSpec& a, const PairSpec& b, const std::string& what) {
  EXPECT_EQ(a.from, b.from) << what;
  EXPECT_EQ(a.to, b.to) << what;
  EXPECT_EQ(a.c, b.c) << what;
  EXPECT_EQ(a.z_u, b.z_u) << what;
  EXPECT_EQ(a.z_v, b.z_v) << what;
  EXPECT_EQ(a.map.first, b.map.first) << what;
  EXPECT_EQ(a.map.count, b.map.count) << what;
  EXPECT_EQ(a.map.offset, b.map.offset) << what;
  EXPECT_EQ(a.map.permutation, b.map.permutation) << what;
  EXPECT_EQ(a.flatten, b.flatten) << what;
  EXPECT_EQ(a.producer_channels, b.producer_channels) << what;
  EXPECT_EQ(a.producer_groups, b.producer_groups) << what;
  EXPECT_EQ(a.consumer_groups, b.consumer_groups) << what;
  EXPECT_EQ(a.identity, b.identity) << what;
  EXPECT_EQ(a.source_of_target, b.source_of_target) << what;
}

TEST(Topology, AChainWrittenAsATopologyGivesThePairsOfPlanNetwork) {
  test::TestModel m;
  m.add_random("features.0.weight", {4, 3, 3, 3})
      .add_batchnorm("features.1", {1, 2, 3, 4}, {1, 1, 1, 1})
      .add_random("features.3.weight", {6, 4, 3, 3})
      .add_random("classifier.0.weight", {10, 30})  // flatten: 6 channels x 5 positions
      .add_random("classifier.2.weight", {3, 10});
  m.model.order_is_state_dict = true;
  const std::string layers =
      layer("features.0.weight", "conv2d", "", R"("batchnorm": "features.1")") + "," +
      layer("features.3.weight", "conv2d", read("features.0.weight", "direct")) + "," +
      layer("classifier.0.weight", "linear", read("features.3.weight", "direct")) + "," +
      layer("classifier.2.weight", "linear", read("classifier.0.weight", "direct"));
  struct Expected {
    std::int64_t c, z_u, z_v;
  };
  for (const Method method : {Method::Svr, Method::Cosvr}) {
    NetworkOptions options;
    options.read.method = method;
    const NetworkPlan chain = plan_network(m.model, options);
    const NetworkPlan graph = plan_of(m.model, layers, options);
    ASSERT_EQ(graph.layers.size(), 4u);
    ASSERT_EQ(chain.layers.size(), 4u);
    for (std::size_t k = 0; k < 4; ++k) {
      EXPECT_EQ(graph.layers[k].name, chain.layers[k].name);
      EXPECT_EQ(graph.layers[k].shape, chain.layers[k].shape);
      EXPECT_EQ(graph.layers[k].groups, 1);
      EXPECT_EQ(graph.layers[k].bn.has_value(), chain.layers[k].bn.has_value());
    }
    ASSERT_TRUE(graph.layers[0].bn.has_value());
    EXPECT_EQ(graph.layers[0].bn->prefix, "features.1");
    EXPECT_EQ(graph.layers[0].bn->running_var, "features.1.running_var");
    EXPECT_TRUE(graph.unfolded_batchnorms.empty());
    ASSERT_EQ(graph.pairs.size(), 3u);
    ASSERT_EQ(chain.pairs.size(), 3u);
    // By hand: svr carries the consumer's positions (kernel 3x3, then the flatten's 5), cosvr
    // the producer's kernel (and the flatten's positions on both sides).
    const std::vector<Expected> expected =
        method == Method::Svr ? std::vector<Expected>{{4, 1, 9}, {6, 1, 5}, {10, 1, 1}}
                              : std::vector<Expected>{{4, 9, 1}, {6, 9, 5}, {10, 1, 1}};
    for (std::size_t q = 0; q < 3; ++q) {
      const std::string what = to_string(method) + " pair " + std::to_string(q);
      expect_same_pair(graph.pairs[q], chain.pairs[q], what);
      EXPECT_EQ(graph.pairs[q].from, static_cast<int>(q)) << what;
      EXPECT_EQ(graph.pairs[q].to, static_cast<int>(q) + 1) << what;
      EXPECT_EQ(graph.pairs[q].c, expected[q].c) << what;
      EXPECT_EQ(graph.pairs[q].z_u, expected[q].z_u) << what;
      EXPECT_EQ(graph.pairs[q].z_v, expected[q].z_v) << what;
      EXPECT_EQ(graph.pairs[q].map.kind, MapKind::Direct) << what;
      EXPECT_EQ(graph.pairs[q].map.count, expected[q].c) << what;
      EXPECT_TRUE(graph.pairs[q].identity) << what;
      EXPECT_TRUE(graph.pairs[q].reads_all_channels()) << what;
    }
  }
}

TEST(Topology, ResidualAddPairsByConsumerThenReadOrder) {
  test::TestModel m;
  m.add_random("conv1.weight", {4, 3, 3, 3})
      .add_random("block.a.weight", {4, 4, 3, 3})
      .add_random("block.b.weight", {4, 4, 1, 1})
      .add_random("fc.weight", {5, 24});  // 4 channels x 6 positions
  const NetworkPlan plan =
      plan_of(m.model, layer("conv1.weight", "conv2d") + "," +
                           layer("block.a.weight", "conv2d", read("conv1.weight", "direct")) + "," +
                           layer("block.b.weight", "conv2d", read("block.a.weight", "direct")) +
                           "," +
                           layer("fc.weight", "linear",
                                 read("conv1.weight", "add") + "," + read("block.b.weight", "add")));
  ASSERT_EQ(plan.pairs.size(), 4u);
  const std::vector<std::pair<int, int>> ends = {{0, 1}, {1, 2}, {0, 3}, {2, 3}};
  const std::vector<std::int64_t> z_v = {9, 1, 6, 6};
  const std::vector<MapKind> kinds = {MapKind::Direct, MapKind::Direct, MapKind::Add, MapKind::Add};
  for (std::size_t q = 0; q < 4; ++q) {
    const PairSpec& p = plan.pairs[q];
    EXPECT_EQ(std::make_pair(p.from, p.to), ends[q]) << q;
    EXPECT_EQ(p.c, 4) << q;
    EXPECT_EQ(p.z_u, 1) << q;
    EXPECT_EQ(p.z_v, z_v[q]) << q;
    EXPECT_EQ(p.map.kind, kinds[q]) << q;
    EXPECT_EQ(p.map.first, 0) << q;
    EXPECT_EQ(p.map.count, 4) << q;
    EXPECT_EQ(p.flatten, FlattenOrder::ChannelMajor) << q;
    EXPECT_TRUE(p.identity) << q;
    EXPECT_TRUE(p.source_of_target.empty()) << q;
  }
}

TEST(Topology, ConcatPlacesEachProducerAtItsOffset) {
  test::TestModel m;
  m.add_random("a.weight", {3, 2, 1, 1})
      .add_random("b.weight", {5, 2, 1, 1})
      .add_random("cat.weight", {4, 8, 3, 3})
      .add_random("fc.weight", {2, 16});  // a flatten of the 8 concatenated channels, z = 2
  const std::string cat = read("b.weight", "concat", R"("offset": 3)") + "," +
                          read("a.weight", "concat", R"("offset": 0)");
  const NetworkPlan plan =
      plan_of(m.model, layer("a.weight", "conv2d") + "," + layer("b.weight", "conv2d") + "," +
                           layer("cat.weight", "conv2d", cat) + "," + layer("fc.weight", "linear", cat));
  ASSERT_EQ(plan.pairs.size(), 4u);
  for (std::size_t q = 0; q < 4; ++q) {
    const PairSpec& p = plan.pairs[q];
    const bool from_b = q % 2 == 0;  // the reads are listed b first
    EXPECT_EQ(p.from, from_b ? 1 : 0) << q;
    EXPECT_EQ(p.to, q < 2 ? 2 : 3) << q;
    EXPECT_EQ(p.c, 8) << q;
    EXPECT_EQ(p.z_v, q < 2 ? 9 : 2) << q;
    EXPECT_EQ(p.map.kind, MapKind::Concat) << q;
    EXPECT_EQ(p.map.first, 0) << q;
    EXPECT_EQ(p.map.count, from_b ? 5 : 3) << q;
    EXPECT_EQ(p.map.offset, from_b ? 3 : 0) << q;
    EXPECT_EQ(p.producer_channels, from_b ? 5 : 3) << q;
    EXPECT_TRUE(p.reads_all_channels()) << q;
    EXPECT_FALSE(p.identity) << q;
    const std::vector<std::int64_t> source =
        from_b ? std::vector<std::int64_t>{-1, -1, -1, 0, 1, 2, 3, 4}
               : std::vector<std::int64_t>{0, 1, 2, -1, -1, -1, -1, -1};
    EXPECT_EQ(p.source_of_target, source) << q;
  }
  // V rows of the linear consumer (channel-major, z = 2): row b z + p; b from a: a z + p.
  const PairSpec& fc_from_b = plan.pairs[2];
  for (std::int64_t row = 0; row < 16; ++row) {
    const std::int64_t b = row / 2, p = row % 2;
    EXPECT_EQ(v_row_of(fc_from_b, row), b >= 3 ? (b - 3) * 2 + p : -1) << row;
  }
}

TEST(Topology, SplitReadsSlicesOfTheProducer) {
  test::TestModel m;
  m.add_random("a.weight", {6, 2, 1, 1})
      .add_random("lo.weight", {2, 2, 3, 3})
      .add_random("hi.weight", {3, 4, 1, 1})
      .add_random("swap.weight", {1, 6, 1, 1});
  const NetworkPlan plan = plan_of(
      m.model,
      layer("a.weight", "conv2d") + "," +
          layer("lo.weight", "conv2d", read("a.weight", "split", R"("source": [0, 2])")) + "," +
          layer("hi.weight", "conv2d", read("a.weight", "split", R"("source": [2, 4])")) + "," +
          layer("swap.weight", "conv2d",
                read("a.weight", "split", R"("source": [4, 2])") + "," +
                    read("a.weight", "split", R"("source": [0, 4], "offset": 2)")));
  ASSERT_EQ(plan.pairs.size(), 4u);
  const PairSpec &lo = plan.pairs[0], &hi = plan.pairs[1], &s1 = plan.pairs[2], &s2 = plan.pairs[3];
  EXPECT_EQ(lo.c, 2);
  EXPECT_EQ(lo.z_v, 9);
  EXPECT_EQ(lo.map.kind, MapKind::Split);
  EXPECT_EQ(lo.map.first, 0);
  EXPECT_EQ(lo.map.count, 2);
  EXPECT_EQ(lo.producer_channels, 6);
  EXPECT_FALSE(lo.reads_all_channels());
  EXPECT_FALSE(lo.identity);
  EXPECT_EQ(lo.source_of_target, (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(hi.c, 4);
  EXPECT_EQ(hi.map.first, 2);
  EXPECT_EQ(hi.map.count, 4);
  EXPECT_EQ(hi.map.offset, 0);
  EXPECT_EQ(hi.source_of_target, (std::vector<std::int64_t>{0, 1, 2, 3}));
  // U rows: producer channels 2..5 become rows 0..3, the others are not used.
  for (std::int64_t row = 0; row < 6; ++row)
    EXPECT_EQ(u_row_of(hi, row), row >= 2 ? row - 2 : -1) << row;
  // Two slices of one producer, swapped: input 0..1 <- a 4..5, input 2..5 <- a 0..3.
  EXPECT_EQ(s1.from, 0);
  EXPECT_EQ(s2.from, 0);
  EXPECT_EQ(s1.c, 6);
  EXPECT_EQ(s1.map.first, 4);
  EXPECT_EQ(s1.map.offset, 0);
  EXPECT_EQ(s1.source_of_target, (std::vector<std::int64_t>{0, 1, -1, -1, -1, -1}));
  EXPECT_EQ(s2.map.first, 0);
  EXPECT_EQ(s2.map.count, 4);
  EXPECT_EQ(s2.map.offset, 2);
  EXPECT_EQ(s2.source_of_target, (std::vector<std::int64_t>{-1, -1, 0, 1, 2, 3}));
}

TEST(Topology, PermuteWithAndWithoutSource) {
  test::TestModel m;
  m.add_random("a.weight", {4, 2, 1, 1})
      .add_random("b.weight", {3, 4, 3, 3})
      .add_random("wide.weight", {6, 2, 1, 1})
      .add_random("c.weight", {2, 3, 1, 1});
  const NetworkPlan plan = plan_of(
      m.model, layer("a.weight", "conv2d") + "," +
                   layer("b.weight", "conv2d",
                         read("a.weight", "permute", R"("permutation": [2, 0, 3, 1])")) +
                   "," + layer("wide.weight", "conv2d") + "," +
                   layer("c.weight", "conv2d",
                         read("wide.weight", "permute",
                              R"("source": [1, 3], "permutation": [1, 2, 0])")));
  ASSERT_EQ(plan.pairs.size(), 2u);
  const PairSpec& p = plan.pairs[0];
  EXPECT_EQ(p.map.kind, MapKind::Permute);
  EXPECT_EQ(p.map.permutation, (std::vector<std::int64_t>{2, 0, 3, 1}));
  EXPECT_EQ(p.c, 4);
  EXPECT_FALSE(p.identity);
  // source_of_target[perm[a]] = a.
  EXPECT_EQ(p.source_of_target, (std::vector<std::int64_t>{1, 3, 0, 2}));
  const PairSpec& q = plan.pairs[1];
  EXPECT_EQ(q.from, 2);
  EXPECT_EQ(q.to, 3);
  EXPECT_EQ(q.map.first, 1);
  EXPECT_EQ(q.map.count, 3);
  EXPECT_EQ(q.producer_channels, 6);
  EXPECT_EQ(q.source_of_target, (std::vector<std::int64_t>{2, 0, 1}));
  // A permutation that is the identity of all channels is the identity pair.
  const NetworkPlan same = plan_of(
      m.model, layer("a.weight", "conv2d") + "," +
                   layer("b.weight", "conv2d",
                         read("a.weight", "permute", R"("permutation": [0, 1, 2, 3])")));
  EXPECT_TRUE(same.pairs.at(0).identity);
}

TEST(Topology, FlattenOrderFromTheFileAndFromTheOption) {
  test::TestModel m;
  m.add_random("conv.weight", {3, 2, 3, 3})
      .add_random("fc.weight", {5, 12})  // 3 channels x 4 positions
      .add_random("conv2.weight", {2, 3, 1, 1});
  auto plan_with = [&](const std::string& fc_extra, std::optional<FlattenOrder> option) {
    NetworkOptions options;
    options.flatten_order = option;
    return plan_of(m.model,
                   layer("conv.weight", "conv2d") + "," +
                       layer("fc.weight", "linear", read("conv.weight", "direct"), fc_extra) + "," +
                       layer("conv2.weight", "conv2d", read("conv.weight", "direct")),
                   options);
  };
  const NetworkPlan chw = plan_with("", std::nullopt);
  const NetworkPlan hwc = plan_with(R"("flatten_order": "hwc")", std::nullopt);
  const NetworkPlan file_chw = plan_with(R"("flatten_order": "chw")", std::nullopt);
  const NetworkPlan forced_chw = plan_with(R"("flatten_order": "hwc")", FlattenOrder::ChannelMajor);
  const NetworkPlan forced_hwc = plan_with("", FlattenOrder::ChannelsLast);
  for (const NetworkPlan* plan : {&chw, &hwc, &file_chw, &forced_chw, &forced_hwc}) {
    ASSERT_EQ(plan->pairs.size(), 2u);
    EXPECT_EQ(plan->pairs[0].c, 3);
    EXPECT_EQ(plan->pairs[0].z_v, 4);
    // The conv -> conv pair has no flatten: the order never touches it.
    EXPECT_EQ(plan->pairs[1].flatten, FlattenOrder::ChannelMajor);
    EXPECT_TRUE(plan->pairs[1].identity);
  }
  for (const NetworkPlan* plan : {&chw, &file_chw, &forced_chw}) {
    EXPECT_EQ(plan->pairs[0].flatten, FlattenOrder::ChannelMajor);
    EXPECT_TRUE(plan->pairs[0].identity);
  }
  for (const NetworkPlan* plan : {&hwc, &forced_hwc}) {
    const PairSpec& p = plan->pairs[0];
    EXPECT_EQ(p.flatten, FlattenOrder::ChannelsLast);
    EXPECT_FALSE(p.identity);
    // hwc: input feature r is channel r % c at position r / c; V' row a z + p.
    for (std::int64_t row = 0; row < 12; ++row)
      EXPECT_EQ(v_row_of(p, row), (row % 3) * 4 + row / 3) << row;
  }
}

TEST(Topology, GroupedAndDepthwiseLayers) {
  test::TestModel m;
  m.add_random("a.weight", {8, 3, 3, 3})
      .add_random("g.weight", {6, 4, 3, 3})  // groups 2: 8 input channels, 4 per group
      .add_random("dw.weight", {6, 1, 3, 3})  // depthwise: groups 6
      .add_random("pw.weight", {5, 6, 1, 1});
  const NetworkPlan plan = plan_of(
      m.model, layer("a.weight", "conv2d") + "," +
                   layer("g.weight", "conv2d", read("a.weight", "direct"), R"("groups": 2)") + "," +
                   layer("dw.weight", "conv2d", read("g.weight", "direct"), R"("groups": 6)") +
                   "," + layer("pw.weight", "conv2d", read("dw.weight", "direct")));
  ASSERT_EQ(plan.layers.size(), 4u);
  EXPECT_EQ(plan.layers[0].groups, 1);
  EXPECT_EQ(plan.layers[1].groups, 2);
  EXPECT_EQ(plan.layers[2].groups, 6);
  EXPECT_EQ(plan.layers[3].groups, 1);
  // M is out x (in * groups * z) for svr, (out z) x (in * groups) for cosvr.
  EXPECT_EQ(plan.layers[1].rows(Method::Svr), 6);
  EXPECT_EQ(plan.layers[1].cols(Method::Svr), 72);
  EXPECT_EQ(plan.layers[1].rows(Method::Cosvr), 54);
  EXPECT_EQ(plan.layers[1].cols(Method::Cosvr), 8);
  EXPECT_EQ(plan.layers[2].cols(Method::Svr), 54);
  EXPECT_EQ(plan.layers[2].cols(Method::Cosvr), 6);
  EXPECT_EQ(plan.layers[3].cols(Method::Svr), 6);
  ASSERT_EQ(plan.pairs.size(), 3u);
  const std::vector<std::int64_t> c = {8, 6, 6}, z_v = {9, 9, 1};
  const std::vector<std::int64_t> producer_groups = {1, 2, 6}, consumer_groups = {2, 6, 1};
  for (std::size_t q = 0; q < 3; ++q) {
    EXPECT_EQ(plan.pairs[q].c, c[q]) << q;
    EXPECT_EQ(plan.pairs[q].z_v, z_v[q]) << q;
    EXPECT_EQ(plan.pairs[q].producer_groups, producer_groups[q]) << q;
    EXPECT_EQ(plan.pairs[q].consumer_groups, consumer_groups[q]) << q;
    EXPECT_TRUE(plan.pairs[q].identity) << q;
  }
}

TEST(Topology, BatchnormFoldsOnlyWhereListedAndMustExistWhenIgnored) {
  test::TestModel m;
  m.add_random("conv1.weight", {4, 3, 3, 3})
      .add_batchnorm("bn1", {1, 2, 3, 4}, {1, 2, 3, 4})
      .add_random("conv2.weight", {2, 4, 1, 1})
      .add_batchnorm("bn2", {1, 1}, {1, 1});
  const std::string layers =
      layer("conv1.weight", "conv2d", "", R"("batchnorm": "bn1")") + "," +
      layer("conv2.weight", "conv2d", read("conv1.weight", "direct"), R"("batchnorm": null)");
  const NetworkPlan fold = plan_of(m.model, layers);
  ASSERT_TRUE(fold.layers[0].bn.has_value());
  EXPECT_EQ(fold.layers[0].bn->prefix, "bn1");
  EXPECT_EQ(fold.layers[0].bn->weight, "bn1.weight");
  EXPECT_EQ(fold.layers[0].bn->bias, "bn1.bias");
  EXPECT_EQ(fold.layers[0].bn->running_mean, "bn1.running_mean");
  EXPECT_EQ(fold.layers[0].bn->running_var, "bn1.running_var");
  // bn2 follows conv2 in the model, but the file does not name it: no automatic association.
  EXPECT_FALSE(fold.layers[1].bn.has_value());
  EXPECT_EQ(fold.unfolded_batchnorms, (std::vector<std::string>{"bn2"}));

  NetworkOptions ignore;
  ignore.read.batchnorm = BatchNormMode::Ignore;
  const NetworkPlan ignored = plan_of(m.model, layers, ignore);
  EXPECT_FALSE(ignored.layers[0].bn.has_value());
  EXPECT_FALSE(ignored.layers[1].bn.has_value());
  ASSERT_EQ(ignored.pairs.size(), 1u);

  // A batch norm the model does not have is refused in both modes.
  const std::string missing = layer("conv1.weight", "conv2d", "", R"("batchnorm": "bn9")") + "," +
                              layer("conv2.weight", "conv2d", read("conv1.weight", "direct"));
  for (const NetworkOptions& options : {NetworkOptions{}, ignore})
    expect_refused(m.model, missing,
                   {"layer 'conv1.weight'", "batch norm 'bn9' is not in", "bn9.running_var"},
                   options);
  // A batch norm of the wrong size is refused when folded.
  const std::string wrong = layer("conv1.weight", "conv2d", "", R"("batchnorm": "bn2")") + "," +
                            layer("conv2.weight", "conv2d", read("conv1.weight", "direct"));
  test::expect_input_error([&] { plan_of(m.model, wrong); },
                           {"batch norm 'bn2' has size 2", "conv1.weight"});
  EXPECT_NO_THROW(plan_of(m.model, wrong, ignore));
}

TEST(Topology, LayersWithoutReadsReadTheInputAndAreNotPaired) {
  test::TestModel m;
  m.add_random("a.weight", {4, 3})
      .add_random("b.weight", {2, 3})
      .add_random("c.weight", {5, 6});
  const NetworkPlan plan = plan_of(
      m.model, layer("a.weight", "linear") + "," + layer("b.weight", "linear") + "," +
                   layer("c.weight", "linear",
                         read("a.weight", "concat", R"("offset": 2)") + "," +
                             read("b.weight", "concat", R"("offset": 0)")));
  ASSERT_EQ(plan.pairs.size(), 2u);
  EXPECT_EQ(plan.pairs[0].c, 6);
  EXPECT_EQ(plan.pairs[0].z_v, 1);
  EXPECT_EQ(plan.pairs[0].source_of_target, (std::vector<std::int64_t>{-1, -1, 0, 1, 2, 3}));
  EXPECT_EQ(plan.pairs[1].source_of_target, (std::vector<std::int64_t>{0, 1, -1, -1, -1, -1}));
}

// ---------------------------------------------------------------------------------------------
// Refusals: one line naming the topology file (and the layer, once known).

class TopologyRefusal : public ::testing::Test {
 protected:
  TopologyRefusal() {
    m.add_random("a.weight", {4, 3, 3, 3})
        .add_random("b.weight", {4, 4, 3, 3})
        .add_random("s.weight", {2, 4, 1, 1})
        .add_random("g.weight", {6, 2, 3, 3})
        .add_random("fc.weight", {5, 16})
        .add_random("fc15.weight", {5, 15})
        .add_random("lin.weight", {3, 5})
        .add_random("mix.weight", {2, 9});
  }
  std::string a() const { return layer("a.weight", "conv2d"); }
  test::TestModel m;
};

TEST_F(TopologyRefusal, NotJson) {
  expect_refused_text(m.model, R"({"format": "svr-topology", )", {});
}

TEST_F(TopologyRefusal, SchemaOfTheFile) {
  const std::string two = a() + "," + layer("b.weight", "conv2d", read("a.weight", "direct"));
  expect_refused_text(m.model, "[1, 2]", {"a topology file is a JSON object"});
  expect_refused_text(
      m.model,
      R"({"format": "svr-topology", "schema_version": 1, "colour": 3, "layers": [)" + two + "]}",
      {"unknown field 'colour'"});
  expect_refused_text(m.model, R"({"format": "svr-graph", "schema_version": 1, "layers": [)" + two + "]}",
                      {"'format' must be \"svr-topology\""});
  expect_refused_text(m.model, R"({"schema_version": 1, "layers": [)" + two + "]}",
                      {"'format' must be \"svr-topology\""});
  expect_refused_text(m.model, R"({"format": "svr-topology", "schema_version": 2, "layers": [)" + two + "]}",
                      {"'schema_version' must be 1"});
  expect_refused_text(m.model, R"({"format": "svr-topology", "layers": [)" + two + "]}",
                      {"'schema_version' must be 1"});
  expect_refused_text(
      m.model,
      R"({"format": "svr-topology", "schema_version": 1, "model": 7, "layers": [)" + two + "]}",
      {"'model' must be a string"});
  expect_refused(m.model, a(), {"'layers' must list at least two layers"});
  expect_refused(m.model, "", {"'layers' must list at least two layers"});
  expect_refused_text(m.model, R"({"format": "svr-topology", "schema_version": 1})",
                      {"'layers' must list at least two layers"});
  expect_refused(m.model, a() + R"(, {"kind": "conv2d"})",
                 {"layers[1] must be an object with a non-empty 'name'"});
  expect_refused(m.model, a() + R"(, {"name": "", "kind": "conv2d"})",
                 {"layers[1] must be an object with a non-empty 'name'"});
}

TEST_F(TopologyRefusal, SchemaOfALayer) {
  const std::string reads = read("a.weight", "direct");
  expect_refused(m.model, a() + "," + layer("b.weight", "conv2d", reads, R"("colour": 1)"),
                 {"layer 'b.weight'", "unknown field 'colour'"});
  expect_refused(m.model, a() + "," + layer("b.weight", "dense", reads),
                 {"layer 'b.weight'", "'kind' must be one of linear, conv1d, conv2d, conv3d",
                  "not \"dense\""});
  expect_refused(m.model, a() + R"(, {"name": "b.weight", "reads_from": [)" + reads + "]}",
                 {"layer 'b.weight'", "'kind' must be one of"});
  expect_refused(m.model, a() + "," + layer("b.weight", "conv2d", reads, R"("groups": 0)"),
                 {"layer 'b.weight'", "'groups' must be at least 1"});
  expect_refused(m.model, a() + "," + layer("b.weight", "conv2d", reads, R"("groups": 1.5)"),
                 {"layer 'b.weight'", "'groups' must be an integer >= 0"});
  expect_refused(m.model, a() + "," + layer("b.weight", "conv2d", reads, R"("batchnorm": 3)"),
                 {"layer 'b.weight'", "'batchnorm' must be a module prefix or null"});
  expect_refused(m.model, a() + "," + layer("b.weight", "conv2d", reads, R"("batchnorm": "")"),
                 {"layer 'b.weight'", "'batchnorm' must be a module prefix or null"});
  expect_refused(m.model,
                 a() + "," + layer("fc.weight", "linear", reads, R"("flatten_order": "whc")"),
                 {"layer 'fc.weight'", "'flatten_order' must be chw or hwc, not \"whc\""});
  expect_refused(m.model, a() + R"(, {"name": "b.weight", "kind": "conv2d", "reads_from": 3})",
                 {"layer 'b.weight'", "'reads_from' must be a list"});
}

TEST_F(TopologyRefusal, SchemaOfARead) {
  auto with = [&](const std::string& r) {
    return a() + "," + layer("b.weight", "conv2d", r);
  };
  const std::vector<std::string> b = {"layer 'b.weight'", "reads_from[0]"};
  auto parts = [&](const std::string& problem) {
    std::vector<std::string> out = b;
    out.push_back(problem);
    return out;
  };
  expect_refused(m.model, with(read("a.weight", "direct", R"("weight": 2)")),
                 parts("unknown field 'weight'"));
  expect_refused(m.model, with(read("a.weight", "sum")),
                 parts("'map' must be one of direct, add, concat, split, permute, not \"sum\""));
  expect_refused(m.model, with(R"({"layer": "a.weight"})"),
                 parts("'map' must be one of direct, add, concat, split, permute"));
  expect_refused(m.model, with(R"({"map": "direct"})"), parts("'layer' must name a layer"));
  expect_refused(m.model, with("7"), parts("must be an object with 'layer' and 'map'"));
  expect_refused(m.model, with(read("a.weight", "split")), parts("map split needs 'source'"));
  expect_refused(m.model, with(read("a.weight", "split", R"("offset": 0)")),
                 parts("map split needs 'source'"));
  expect_refused(m.model, with(read("a.weight", "concat")), parts("map concat needs 'offset'"));
  expect_refused(m.model, with(read("a.weight", "concat", R"("source": [0, 4])")),
                 parts("map concat needs 'offset'"));
  expect_refused(m.model, with(read("a.weight", "permute")),
                 parts("map permute needs 'permutation'"));
  for (const std::string plain : {"direct", "add"})
    for (const std::string extra :
         {R"("source": [0, 4])", R"("offset": 0)", R"("permutation": [0, 1, 2, 3])"})
      expect_refused(m.model, with(read("a.weight", plain, extra)),
                     parts("map " + plain +
                           " reads all channels as they are: no source, offset or permutation"));
  expect_refused(m.model,
                 with(read("a.weight", "concat", R"("offset": 0, "permutation": [0, 1, 2, 3])")),
                 parts("'permutation' belongs to map permute"));
  expect_refused(m.model, with(read("a.weight", "split", R"("source": [0])")),
                 parts("'source' must be [first channel, count]"));
  expect_refused(m.model, with(read("a.weight", "split", R"("source": [-1, 2])")),
                 parts("'source' must be an integer >= 0"));
  expect_refused(m.model, with(read("a.weight", "concat", R"("offset": -2)")),
                 parts("'offset' must be an integer >= 0"));
  expect_refused(m.model, with(read("a.weight", "permute", R"("permutation": 3)")),
                 parts("'permutation' must be a list of channels"));
  expect_refused(m.model, with(read("a.weight", "permute", R"("permutation": [0, -1, 2, 3])")),
                 parts("'permutation' must be an integer >= 0"));
}

TEST_F(TopologyRefusal, LayersAgainstTheModel) {
  const std::string reads = read("a.weight", "direct");
  expect_refused(m.model, a() + "," + a(), {"layer 'a.weight'", "is listed twice"});
  expect_refused(m.model,
                 a() + "," + layer("b.weight", "conv2d", reads) + "," +
                     layer("a.weight", "conv2d", read("b.weight", "direct")),
                 {"layer 'a.weight'", "is listed twice"});
  expect_refused(m.model, a() + "," + layer("zz.weight", "conv2d", reads),
                 {"layer 'zz.weight'", "is not a tensor of " + m.model.path});
  expect_refused(m.model, a() + "," + layer("b.weight", "linear", reads),
                 {"layer 'b.weight'", "kind linear does not match the tensor's shape [4, 4, 3, 3]"});
  expect_refused(m.model, a() + "," + layer("b.weight", "conv1d", reads),
                 {"layer 'b.weight'", "kind conv1d does not match the tensor's shape"});
  expect_refused(m.model, a() + "," + layer("fc.weight", "conv2d", reads),
                 {"layer 'fc.weight'", "kind conv2d does not match the tensor's shape [5, 16]"});
}

TEST_F(TopologyRefusal, ReadsOfLaterOrUnknownLayers) {
  // A read of a layer listed after it: a cycle or a wrong order.
  expect_refused(m.model,
                 layer("a.weight", "conv2d", read("b.weight", "direct")) + "," +
                     layer("b.weight", "conv2d", read("a.weight", "direct")),
                 {"layer 'a.weight'", "reads 'b.weight', which is not listed before it",
                  "must not form a cycle"});
  expect_refused(m.model,
                 a() + "," + layer("b.weight", "conv2d",
                                   read("b.weight", "add") + "," + read("a.weight", "add")),
                 {"layer 'b.weight'", "reads 'b.weight', which is not listed before it"});
  expect_refused(m.model, a() + "," + layer("b.weight", "conv2d", read("q.weight", "direct")),
                 {"layer 'b.weight'", "reads 'q.weight', which is not a layer of the file"});
}

TEST_F(TopologyRefusal, SumsAndDirectReads) {
  const std::string ab = a() + "," + layer("b.weight", "conv2d", read("a.weight", "direct"));
  expect_refused(m.model, a() + "," + layer("b.weight", "conv2d", read("a.weight", "add")),
                 {"layer 'b.weight'", "reads one layer with map add"});
  expect_refused(m.model,
                 ab + "," + layer("fc.weight", "linear",
                                  read("b.weight", "add") + "," + read("b.weight", "add")),
                 {"layer 'fc.weight'", "adds 'b.weight' twice"});
  expect_refused(m.model,
                 ab + "," + layer("fc.weight", "linear",
                                  read("a.weight", "direct") + "," + read("b.weight", "add")),
                 {"layer 'fc.weight'", "reads several layers, one of them with map direct"});
  expect_refused(m.model,
                 ab + "," + layer("fc.weight", "linear",
                                  read("a.weight", "direct") + "," + read("b.weight", "direct")),
                 {"layer 'fc.weight'", "reads several layers, one of them with map direct"});
  expect_refused(m.model,
                 ab + "," + layer("fc.weight", "linear",
                                  read("a.weight", "direct") + "," +
                                      read("b.weight", "concat", R"("offset": 4)")),
                 {"layer 'fc.weight'", "mixes direct or add reads with concat, split or permute"});
  expect_refused(m.model,
                 ab + "," + layer("fc.weight", "linear",
                                  read("a.weight", "add") + "," +
                                      read("b.weight", "split", R"("source": [0, 4])")),
                 {"layer 'fc.weight'", "mixes direct or add reads"});
  // A direct read with the wrong channel count.
  expect_refused(m.model,
                 a() + "," + layer("s.weight", "conv2d", read("a.weight", "direct")) + "," +
                     layer("b.weight", "conv2d", read("s.weight", "direct")),
                 {"layer 'b.weight'", "channel counts do not match: 's.weight' has 2 output "
                                      "channels, b.weight reads 4"});
  // Summands of different widths.
  expect_refused(m.model,
                 a() + "," + layer("s.weight", "conv2d", read("a.weight", "direct")) + "," +
                     layer("b.weight", "conv2d",
                           read("a.weight", "add") + "," + read("s.weight", "add")),
                 {"layer 'b.weight'", "channel counts do not match: 's.weight' has 2"});
}

TEST_F(TopologyRefusal, ChannelsOfSlicesConcatsAndPermutations) {
  const std::string as = a() + "," + layer("s.weight", "conv2d", read("a.weight", "direct"));
  auto b_reads = [&](const std::string& reads) {
    return as + "," + layer("b.weight", "conv2d", reads);
  };
  // A slice outside the producer's 4 channels.
  expect_refused(m.model, b_reads(read("a.weight", "split", R"("source": [2, 3])")),
                 {"layer 'b.weight'", "reads channels 2..4 of 'a.weight', which has 4 output channels"});
  expect_refused(m.model, b_reads(read("a.weight", "split", R"("source": [0, 0])")),
                 {"layer 'b.weight'", "of 'a.weight', which has 4 output channels"});
  expect_refused(m.model, b_reads(read("a.weight", "concat", R"("source": [3, 2], "offset": 0)")),
                 {"layer 'b.weight'", "reads channels 3..4 of 'a.weight'"});
  expect_refused(m.model,
                 b_reads(read("a.weight", "permute", R"("source": [1, 4], "permutation": [0, 1, 2, 3])")),
                 {"layer 'b.weight'", "reads channels 1..4 of 'a.weight'"});
  // Overlapping reads.
  expect_refused(m.model,
                 b_reads(read("a.weight", "concat", R"("offset": 0)") + "," +
                         read("s.weight", "concat", R"("offset": 2)")),
                 {"layer 'b.weight'", "overlapping reads: input channel 2 is read from both "
                                      "'a.weight' and 's.weight'"});
  expect_refused(m.model,
                 b_reads(read("a.weight", "split", R"("source": [0, 2], "offset": 1)") + "," +
                         read("s.weight", "permute", R"("permutation": [3, 1])")),
                 {"layer 'b.weight'", "overlapping reads: input channel 1"});
  expect_refused(m.model,
                 b_reads(read("a.weight", "permute", R"("permutation": [0, 0, 1, 2])")),
                 {"layer 'b.weight'", "overlapping reads: input channel 0"});
  // An input channel nobody reads.
  expect_refused(m.model, b_reads(read("s.weight", "concat", R"("offset": 0)")),
                 {"layer 'b.weight'", "input channel 2 of its 4 is read from no layer"});
  expect_refused(m.model,
                 b_reads(read("s.weight", "concat", R"("offset": 0)") + "," +
                         read("a.weight", "split", R"("source": [0, 1], "offset": 3)")),
                 {"layer 'b.weight'", "input channel 2 of its 4 is read from no layer"});
  // A read beyond the consumer's channels.
  expect_refused(m.model,
                 b_reads(read("a.weight", "concat", R"("offset": 0)") + "," +
                         read("s.weight", "concat", R"("offset": 4)")),
                 {"layer 'b.weight'", "channel counts do not match: 's.weight' reaches input "
                                      "channel 4 of its 4"});
  expect_refused(m.model, b_reads(read("a.weight", "permute", R"("permutation": [0, 1, 2, 7])")),
                 {"layer 'b.weight'", "reaches input channel 7 of its 4"});
  // Permutations of the wrong length.
  expect_refused(m.model, b_reads(read("a.weight", "permute", R"("permutation": [1, 0, 2])")),
                 {"layer 'b.weight'", "the permutation of 'a.weight' has 3 entries for the 4 "
                                      "channels read"});
  expect_refused(m.model,
                 b_reads(read("a.weight", "permute", R"("permutation": [1, 0, 3, 2, 4])")),
                 {"layer 'b.weight'", "the permutation of 'a.weight' has 5 entries for the 4 "
                                      "channels read"});
}

// BUG (message only; the file is refused either way): a permutation of the wrong length is
// not always reported as such. (1) Shorter than the channels it reads, with entries that reach
// the channels past its end: the overlap check (topology.cpp, targets_of) takes the channels
// without an entry as offset + a and reports "overlapping reads: input channel 3 is read from
// both 'a.weight' and 'a.weight'". (2) Longer, into a linear layer reading convolutions:
// consumer_geometry takes the flatten's channels from every entry and reports "a flatten of 5
// channels does not divide its 16 input features".
TEST_F(TopologyRefusal, APermutationOfTheWrongLengthIsReportedAsSuch) {
  const std::string as = a() + "," + layer("s.weight", "conv2d", read("a.weight", "direct"));
  expect_refused(m.model,
                 as + "," + layer("b.weight", "conv2d",
                                  read("a.weight", "permute", R"("permutation": [3, 1, 0])")),
                 {"layer 'b.weight'", "the permutation of 'a.weight' has 3 entries for the 4 "
                                      "channels read"});
  expect_refused(m.model,
                 a() + "," + layer("fc.weight", "linear",
                                   read("a.weight", "permute",
                                        R"("permutation": [1, 0, 3, 2, 4])")),
                 {"layer 'fc.weight'", "the permutation of 'a.weight' has 5 entries for the 4 "
                                       "channels read"});
}

TEST_F(TopologyRefusal, FlattenGeometry) {
  const std::string ab = a() + "," + layer("b.weight", "conv2d", read("a.weight", "direct"));
  // 4 channels do not divide 15 input features.
  expect_refused(m.model, ab + "," + layer("fc15.weight", "linear", read("b.weight", "direct")),
                 {"layer 'fc15.weight'", "a flatten of 4 channels does not divide its 15 input "
                                         "features"});
  // A linear layer reading a linear and a convolution layer.
  expect_refused(m.model,
                 ab + "," + layer("lin.weight", "linear") + "," +
                     layer("mix.weight", "linear",
                           read("lin.weight", "concat", R"("offset": 0)") + "," +
                               read("b.weight", "concat", R"("offset": 3)")),
                 {"layer 'mix.weight'", "reads both linear and convolution layers"});
  // Linear reading linear: the input features must match exactly.
  expect_refused(m.model,
                 ab + "," + layer("lin.weight", "linear") + "," +
                     layer("fc.weight", "linear", read("lin.weight", "direct")),
                 {"layer 'fc.weight'", "channel counts do not match: 'lin.weight' has 3 output "
                                       "channels, fc.weight reads 16"});
}

TEST_F(TopologyRefusal, Groups) {
  const std::string reads = read("a.weight", "direct");
  expect_refused(m.model, a() + "," + layer("fc.weight", "linear", reads, R"("groups": 2)"),
                 {"layer 'fc.weight'", "a linear layer has no groups"});
  // g: 6 outputs, 2 inputs per group; groups 4 do not divide 6.
  expect_refused(m.model, a() + "," + layer("g.weight", "conv2d", "", R"("groups": 4)") + "," +
                              layer("b.weight", "conv2d", read("g.weight", "direct")),
                 {"layer 'g.weight'", "groups 4 do not divide its 6 output channels"});
  // groups 2 on g: 4 input channels, which a has; fine for svr, refused for cosvr.
  const std::string grouped = a() + "," + layer("g.weight", "conv2d", reads, R"("groups": 2)");
  EXPECT_NO_THROW(plan_of(m.model, grouped));
  NetworkOptions cosvr;
  cosvr.read.method = Method::Cosvr;
  expect_refused(m.model, grouped,
                 {"layer 'g.weight'", "grouped convolution (groups 2): method cosvr is not "
                                      "supported for it; use --method svr"},
                 cosvr);
  // Groups 3 on g: 6 input channels, a has 4.
  expect_refused(m.model, a() + "," + layer("g.weight", "conv2d", reads, R"("groups": 3)"),
                 {"layer 'g.weight'", "channel counts do not match: 'a.weight' has 4 output "
                                      "channels, g.weight reads 6"});
}

TEST_F(TopologyRefusal, CosvrNeedsIdentityMaps) {
  NetworkOptions cosvr;
  cosvr.read.method = Method::Cosvr;
  expect_refused(m.model,
                 a() + "," + layer("b.weight", "conv2d",
                                   read("a.weight", "permute", R"("permutation": [1, 0, 3, 2])")),
                 {"layer 'b.weight'", "reads 'a.weight' with map permute: method cosvr supports "
                                      "only direct and add reads"},
                 cosvr);
  expect_refused(m.model,
                 a() + "," + layer("s.weight", "conv2d", read("a.weight", "direct")) + "," +
                     layer("b.weight", "conv2d",
                           read("s.weight", "concat", R"("offset": 0)") + "," +
                               read("a.weight", "split", R"("source": [0, 2], "offset": 2)")),
                 {"layer 'b.weight'", "reads 's.weight' with map concat", "use --method svr"},
                 cosvr);
  expect_refused(m.model,
                 a() + "," + layer("b.weight", "conv2d", read("a.weight", "direct")) + "," +
                     layer("fc.weight", "linear", read("b.weight", "direct"),
                           R"("flatten_order": "hwc")"),
                 {"layer 'fc.weight'", "reads 'b.weight' with map direct and flatten order hwc"},
                 cosvr);
  // The same files pass with svr, and direct/add reads pass with cosvr.
  EXPECT_NO_THROW(plan_of(m.model,
                          a() + "," + layer("b.weight", "conv2d",
                                            read("a.weight", "permute",
                                                 R"("permutation": [1, 0, 3, 2])"))));
  const NetworkPlan plan =
      plan_of(m.model,
              a() + "," + layer("b.weight", "conv2d", read("a.weight", "direct")) + "," +
                  layer("fc.weight", "linear",
                        read("a.weight", "add") + "," + read("b.weight", "add")),
              cosvr);
  ASSERT_EQ(plan.pairs.size(), 3u);
  EXPECT_EQ(plan.pairs[1].z_u, 9);  // a's kernel 3x3 on the u side
  EXPECT_EQ(plan.pairs[1].z_v, 4);   // the flatten's 4 positions on the v side
}

TEST_F(TopologyRefusal, NoPairAtAll) {
  expect_refused(m.model, a() + "," + layer("b.weight", "conv2d"),
                 {"no layer reads from another: the SVR needs at least one pair"});
}

TEST_F(TopologyRefusal, MissingTopologyFile) {
  NetworkOptions options;
  options.topology = "/nonexistent/dir/net.topology.json";
  test::expect_input_error([&] { plan_from_topology(m.model, options); },
                           {options.topology, "cannot read the topology file"});
}

}  // namespace
}  // namespace svr
