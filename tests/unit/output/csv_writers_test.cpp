// nodes.csv and edges.csv, parsed back with an independent CSV reader.
#include "svr/core/error.hpp"
#include "svr/output/edges_csv.hpp"
#include "svr/output/graphml.hpp"
#include "svr/output/nodes_csv.hpp"
#include "svr/output/summary_json.hpp"
#include "test_support.hpp"

namespace svr {
namespace {

using test::parse_csv;
using test::to_double;

TEST(NodesCsv, RoundTripsEveryValue) {
  const SvrResult r = test::sample_result();
  test::TempDir dir;
  write_nodes_csv(dir / "nodes.csv", r);
  const std::string text = test::read_file(dir / "nodes.csv");
  EXPECT_FALSE(test::contains_nan(text));
  const auto rows = parse_csv(text);
  ASSERT_EQ(rows.size(), 1u + 3 + 3 + 2);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"layer", "layer_name", "neuron", "sigma",
                                               "sigma_rel", "cluster", "near_kernel",
                                               "intensity", "group"}));
  std::size_t row = 1;
  for (std::size_t l = 0; l < r.layers.size(); ++l) {
    const LayerResult& layer = r.layers[l];
    const double top = layer.sigma.maxCoeff();
    for (Eigen::Index i = 0; i < layer.sigma.size(); ++i, ++row) {
      const auto& f = rows[row];
      ASSERT_EQ(f.size(), 9u) << "row " << row;
      EXPECT_EQ(f[0], std::to_string(l));
      EXPECT_EQ(f[1], layer.name);
      EXPECT_EQ(f[2], std::to_string(i));
      EXPECT_EQ(to_double(f[3]), layer.sigma[i]);
      EXPECT_EQ(to_double(f[4]), top > 0 ? layer.sigma[i] / top : 0.0);
      EXPECT_EQ(f[5], std::to_string(layer.cluster[i]));
      EXPECT_EQ(f[6], layer.near_kernel[i] ? "1" : "0");
      EXPECT_EQ(to_double(f[7]), layer.intensity[i]);
      EXPECT_EQ(f[8], layer.group.empty() ? "0" : std::to_string(layer.group[i]));
    }
  }
  // Spot checks of the awkward cases, in the file's own spelling.
  EXPECT_NE(text.find("0,\"features.0,weight\",1,0.30000000000000004,"), std::string::npos);
  EXPECT_NE(text.find("1,\"classifier.\"\"1\"\".weight\",2,1e-300,4e-301,1,1,0,0\n"),
            std::string::npos);
  EXPECT_NE(text.find("2,zero.weight,0,0,0,0,1,1,0\n"), std::string::npos);  // no 0/0
}

TEST(NodesCsv, MismatchedVectorsAreAnErrorNotAWrongFile) {
  SvrResult r = test::sample_result();
  r.layers[1].intensity.pop_back();
  test::TempDir dir;
  try {
    write_nodes_csv(dir / "nodes.csv", r);
    FAIL() << "expected OutputError";
  } catch (const OutputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(dir / "nodes.csv"), std::string::npos) << message;
    EXPECT_NE(message.find("intensities"), std::string::npos) << message;
  }
}

TEST(EdgesCsv, RoundTripsEveryValue) {
  const SvrResult r = test::sample_result();
  test::TempDir dir;
  write_edges_csv(dir / "edges.csv", r);
  const std::string text = test::read_file(dir / "edges.csv");
  EXPECT_FALSE(test::contains_nan(text));
  const auto rows = parse_csv(text);
  ASSERT_EQ(rows.size(), 1u + 3 + 1);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"pair", "from_layer", "from_neuron", "to_layer",
                                               "to_neuron", "e", "ce", "p", "log10_p", "q",
                                               "significant", "map"}));
  std::size_t row = 1;
  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    const PairResult& pair = r.pairs[k];
    for (const EdgeRecord& edge : pair.edges) {
      const auto& f = rows[row++];
      ASSERT_EQ(f.size(), 12u);
      EXPECT_EQ(f[0], std::to_string(k));
      EXPECT_EQ(f[1], std::to_string(pair.from_layer));
      EXPECT_EQ(f[2], std::to_string(edge.from_neuron));
      EXPECT_EQ(f[3], std::to_string(pair.to_layer));
      EXPECT_EQ(f[4], std::to_string(edge.to_neuron));
      EXPECT_EQ(to_double(f[5]), edge.e);
      EXPECT_EQ(to_double(f[6]), static_cast<double>(pair.c) * edge.e);
      if (pair.null_kind == NullKind::Untestable) {
        EXPECT_EQ(f[7], "");
        EXPECT_EQ(f[8], "");
        EXPECT_EQ(f[9], "");
      } else {
        EXPECT_EQ(to_double(f[7]), std::pow(10.0, edge.log10_p));
        EXPECT_EQ(to_double(f[8]), edge.log10_p);
        EXPECT_EQ(to_double(f[9]), std::pow(10.0, edge.log10_q));
      }
      EXPECT_EQ(f[10], edge.significant ? "1" : "0");
      EXPECT_EQ(f[11], pair.map);
    }
  }
  // p underflows to 0 where log10_p keeps the magnitude; a subnormal p is kept as is.
  EXPECT_EQ(rows[1][7], "0");
  EXPECT_EQ(rows[1][8], "-700");
  EXPECT_EQ(rows[1][9], "0");
  EXPECT_GT(to_double(rows[3][7]), 0.0);
  EXPECT_EQ(rows[3][8], "-310");
  EXPECT_EQ(rows[2][6], "0.8999999999999999");  // 3 * 0.3 in double, not rounded to 0.9
  EXPECT_EQ(rows[4], (std::vector<std::string>{"1", "1", "0", "2", "1", "1", "1", "", "", "",
                                               "0", "direct"}));
}

TEST(EdgesCsv, EdgeOutsideTheLayerIsAnError) {
  SvrResult r = test::sample_result();
  r.pairs[0].edges.push_back({3, 0, 0.5, -1.0, -1.0, false});  // layer 1 has 3 neurons: 0..2
  test::TempDir dir;
  EXPECT_THROW(write_edges_csv(dir / "edges.csv", r), OutputError);
  r = test::sample_result();
  r.pairs[1].from_layer = 2;  // no layer 3
  r.pairs[1].to_layer = 3;
  EXPECT_THROW(write_edges_csv(dir / "edges.csv", r), OutputError);
}

TEST(EdgesCsv, EmptyResultGivesHeaderOnly) {
  test::TempDir dir;
  write_edges_csv(dir / "edges.csv", SvrResult{});
  EXPECT_EQ(test::read_file(dir / "edges.csv"),
            "pair,from_layer,from_neuron,to_layer,to_neuron,e,ce,p,log10_p,q,significant,map\n");
}

// Every writer reports I/O failures with the path: a missing directory when opening, a full
// disk when the buffered data is flushed at close.
TEST(Writers, IoErrorsNameThePath) {
  const SvrResult r = test::sample_result();
  test::TempDir dir;
  const std::string missing = dir / "no-such-dir/file";
  const auto expect_error = [](const std::string& path, const std::function<void()>& write,
                               const std::string& reason) {
    try {
      write();
      ADD_FAILURE() << "expected OutputError for " << path;
    } catch (const OutputError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
      EXPECT_NE(message.find(reason), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  };
  for (const std::string& path : {missing, std::string("/dev/full")}) {
    const std::string reason = path == missing ? "No such file" : "No space left";
    expect_error(path, [&] { write_nodes_csv(path, r); }, reason);
    expect_error(path, [&] { write_edges_csv(path, r); }, reason);
    expect_error(path, [&] { write_graphml(path, r); }, reason);
    expect_error(path, [&] { write_summary_json(path, r, nlohmann::ordered_json::object(), Method::Svr); }, reason);
  }
}

}  // namespace
}  // namespace svr
