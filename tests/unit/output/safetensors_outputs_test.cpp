// spectra.safetensors and adjacency.safetensors, read back with a minimal independent parser.
#include <array>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "svr/core/error.hpp"
#include "svr/output/adjacency.hpp"
#include "svr/output/spectra.hpp"
#include "test_support.hpp"

namespace svr {
namespace {

using Json = nlohmann::json;

struct Tensor {
  std::vector<std::int64_t> shape;
  std::vector<double> data;  // row-major
};

struct SafetensorsFile {
  std::vector<std::string> order;  // tensor names by data offset
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

SafetensorsFile read_safetensors(const std::string& path) {
  const std::string bytes = test::read_file(path);
  SafetensorsFile file;
  if (bytes.size() < 8) {
    ADD_FAILURE() << "file too short";
    return file;
  }
  std::uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(bytes[i]);
  const Json header = Json::parse(bytes.substr(8, length));
  const std::size_t base = 8 + length;
  std::vector<std::pair<std::uint64_t, std::string>> by_offset;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      file.metadata = entry.get<std::map<std::string, std::string>>();
      continue;
    }
    EXPECT_EQ(entry["dtype"], "F64") << name;
    Tensor t;
    t.shape = entry["shape"].get<std::vector<std::int64_t>>();
    const auto begin = entry["data_offsets"][0].get<std::uint64_t>();
    const auto end = entry["data_offsets"][1].get<std::uint64_t>();
    EXPECT_LE(base + end, bytes.size()) << name;
    t.data.resize((end - begin) / 8);
    std::memcpy(t.data.data(), bytes.data() + base + begin, end - begin);
    by_offset.emplace_back(begin, name);
    file.tensors[name] = std::move(t);
  }
  std::sort(by_offset.begin(), by_offset.end());
  for (const auto& [offset, name] : by_offset) file.order.push_back(name);
  return file;
}

TEST(Spectra, UsvPerLayerSignedAndStillAFactorisation) {
  const SvrResult r = test::sample_result();
  test::TempDir dir;
  write_spectra(dir / "spectra.safetensors", r, Method::Cosvr);
  const SafetensorsFile f = read_safetensors(dir / "spectra.safetensors");
  EXPECT_EQ(f.order, (std::vector<std::string>{
                         "features.0,weight.U", "features.0,weight.S", "features.0,weight.V",
                         "classifier.\"1\".weight.U", "classifier.\"1\".weight.S",
                         "classifier.\"1\".weight.V", "zero.weight.U", "zero.weight.S",
                         "zero.weight.V"}));
  EXPECT_EQ(f.metadata.at("method"), "cosvr");
  EXPECT_EQ(f.metadata.at("format"), "svr-spectra");
  EXPECT_EQ(f.metadata.at("model"), "tiny_cnn.safetensors");
  EXPECT_EQ(Json::parse(f.metadata.at("layers")),
            Json({test::kCommaName, test::kQuoteName, test::kZeroName}));

  for (const LayerResult& layer : r.layers) {
    const Tensor& u = f.tensors.at(layer.name + ".U");
    const Tensor& s = f.tensors.at(layer.name + ".S");
    const Tensor& v = f.tensors.at(layer.name + ".V");
    const std::int64_t rank = layer.sigma.size();
    ASSERT_EQ(u.shape, (std::vector<std::int64_t>{layer.rows, rank}));
    ASSERT_EQ(s.shape, (std::vector<std::int64_t>{rank}));
    ASSERT_EQ(v.shape, (std::vector<std::int64_t>{layer.cols, rank}));
    for (std::int64_t i = 0; i < rank; ++i) {
      EXPECT_EQ(s.data[i], layer.sigma[i]);
      // Column i of U and V is the input's, times one common sign...
      const double sign = u.data[0 * rank + i] == layer.U(0, i) ? 1.0 : -1.0;
      double largest = 0.0;
      for (std::int64_t row = 0; row < layer.rows; ++row) {
        EXPECT_EQ(u.data[row * rank + i], sign * layer.U(row, i));
        if (std::abs(u.data[row * rank + i]) > std::abs(largest)) largest = u.data[row * rank + i];
      }
      for (std::int64_t row = 0; row < layer.cols; ++row) {
        EXPECT_EQ(v.data[row * rank + i], sign * layer.V(row, i));
      }
      // ...chosen so that the largest-magnitude entry of u_i is positive.
      EXPECT_GT(largest, 0.0) << layer.name << " u_" << i;
    }
  }
  // Layer 0 has u_0 = (0.1, -0.8, 0.5) and u_1 = (-0.9, 0.2, 0.1): both flip.
  EXPECT_EQ(f.tensors.at("features.0,weight.U").data[1 * 3 + 0], 0.8);
  EXPECT_EQ(f.tensors.at("features.0,weight.U").data[0 * 3 + 1], 0.9);
  EXPECT_EQ(f.tensors.at("features.0,weight.U").data[2 * 3 + 2], 0.9);
}

TEST(Spectra, ReleasedSingularVectorsAreAnError) {
  SvrResult r = test::sample_result();
  r.layers[1].U.resize(0, 0);
  test::TempDir dir;
  try {
    write_spectra(dir / "spectra.safetensors", r, Method::Svr);
    FAIL() << "expected OutputError";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find("classifier.\"1\".weight"), std::string::npos);
  }
}

TEST(Adjacency, OneMatrixPerPairRowsAreTheLaterLayer) {
  const SvrResult r = test::sample_result();
  test::TempDir dir;
  write_adjacency(dir / "adjacency.safetensors", r, Method::Svr);
  const SafetensorsFile f = read_safetensors(dir / "adjacency.safetensors");
  EXPECT_EQ(f.order, (std::vector<std::string>{"pair0.E", "pair1.E"}));
  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    const Eigen::MatrixXd& e = r.pairs[k].E;
    const Tensor& t = f.tensors.at("pair" + std::to_string(k) + ".E");
    ASSERT_EQ(t.shape, (std::vector<std::int64_t>{e.rows(), e.cols()}));
    for (Eigen::Index j = 0; j < e.rows(); ++j) {
      for (Eigen::Index i = 0; i < e.cols(); ++i) EXPECT_EQ(t.data[j * e.cols() + i], e(j, i));
    }
  }
  EXPECT_EQ(f.tensors.at("pair0.E").data[1 * 3 + 2], 0.3);  // E[j=1, i=2], row-major
  EXPECT_EQ(f.tensors.at("pair1.E").shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(f.metadata.at("format"), "svr-adjacency");
  EXPECT_EQ(f.metadata.at("method"), "svr");
  EXPECT_EQ(Json::parse(f.metadata.at("layers")),
            Json({test::kCommaName, test::kQuoteName, test::kZeroName}));
  const Json pairs = Json::parse(f.metadata.at("pairs"));
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0], Json({{"tensor", "pair0.E"}, {"from_layer", 0}, {"to_layer", 1},
                            {"c", 3}, {"z", 1}}));
  EXPECT_EQ(pairs[1]["c"], 1);
}

TEST(Adjacency, MatrixOfTheWrongShapeIsAnError) {
  SvrResult r = test::sample_result();
  r.pairs[0].E = Eigen::MatrixXd::Zero(3, 2);
  test::TempDir dir;
  EXPECT_THROW(write_adjacency(dir / "adjacency.safetensors", r, Method::Svr), OutputError);
}

// A layout's promise about a file a serial writer wrote: the same first bytes (8-byte aligned
// data) and the same size.
testing::AssertionResult has_head_and_size(const std::string& bytes, const std::string& head,
                                           std::uint64_t file_size) {
  if (bytes.size() != file_size)
    return testing::AssertionFailure() << bytes.size() << " bytes, layout says " << file_size;
  if (bytes.compare(0, head.size(), head) != 0)
    return testing::AssertionFailure() << "the file does not start with the layout's head";
  if (head.size() % 8 != 0) return testing::AssertionFailure() << "data not 8-byte aligned";
  return testing::AssertionSuccess();
}

// The layout that lets each pair owner write its E into adjacency.safetensors itself.
TEST(AdjacencyLayout, IsWhatWriteAdjacencyWrites) {
  SvrResult r;
  r.model_name = "model.safetensors";
  const std::vector<Eigen::Index> sizes = {3, 5, 2};
  for (std::size_t l = 0; l < sizes.size(); ++l) {
    LayerResult layer;
    layer.name = "layer" + std::to_string(l) + ".weight";
    layer.sigma = Eigen::VectorXd::LinSpaced(sizes[l], 2.0, 1.0);
    r.layers.push_back(layer);
  }
  for (int l = 0; l < 2; ++l) {
    PairResult pair;
    pair.from_layer = l;
    pair.to_layer = l + 1;
    pair.c = 4 + l;
    pair.z = 1 + l;
    pair.E = Eigen::MatrixXd::Random(sizes[l + 1], sizes[l]);
    r.pairs.push_back(pair);
  }
  const Method method = Method::Svr;
  test::TempDir dir;
  write_adjacency(dir / "adjacency.bin", r, method);
  const std::string bytes = test::read_file(dir / "adjacency.bin");

  const AdjacencyLayout layout = adjacency_layout(r, method);
  ASSERT_TRUE(has_head_and_size(bytes, layout.head, layout.file_size));
  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    EXPECT_EQ(layout.rows[k], r.pairs[k].E.rows());
    EXPECT_EQ(layout.cols[k], r.pairs[k].E.cols());
    const std::vector<double> data = adjacency_data(r.pairs[k].E);
    EXPECT_EQ(
        bytes.substr(layout.offsets[k], data.size() * sizeof(double)),
        std::string(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(double)));
  }
  // The layout needs no E: every rank computes it from the singular values alone.
  for (PairResult& pair : r.pairs) pair.E.resize(0, 0);
  EXPECT_EQ(adjacency_layout(r, method).head, layout.head);
}

// The layout that lets each layer's owner write its factors into spectra.safetensors itself.
TEST(SpectraLayout, IsWhatWriteSpectraWrites) {
  SvrResult r;
  r.model_name = "model.safetensors";
  const std::vector<std::array<Eigen::Index, 3>> shapes = {{6, 4, 3}, {5, 9, 2}, {7, 3, 3}};
  for (std::size_t l = 0; l < shapes.size(); ++l) {
    const auto [rows, cols, kept] = shapes[l];
    LayerResult layer;
    layer.name = "layer" + std::to_string(l) + ".weight";
    layer.rows = rows;
    layer.cols = cols;
    layer.sigma = Eigen::VectorXd::LinSpaced(kept, 2.0, 1.0);
    layer.U = Eigen::MatrixXd::Random(rows, kept);
    layer.V = Eigen::MatrixXd::Random(cols, kept);
    r.layers.push_back(layer);
  }
  test::TempDir dir;
  write_spectra(dir / "spectra.bin", r, Method::Svr);
  const std::string bytes = test::read_file(dir / "spectra.bin");

  const SafetensorsLayout layout = spectra_layout(r, Method::Svr);
  ASSERT_TRUE(has_head_and_size(bytes, layout.head, layout.file_size));
  ASSERT_EQ(layout.offsets.size(), 3 * r.layers.size());
  const auto as_bytes = [](const std::vector<double>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
  };
  for (std::size_t l = 0; l < r.layers.size(); ++l) {
    const LayerResult& layer = r.layers[l];
    const std::vector<double> sign = canonical_signs(layer.U);
    const std::vector<double> U = signed_row_major(layer.U, sign);
    const std::vector<double> S(layer.sigma.data(), layer.sigma.data() + layer.sigma.size());
    const std::vector<double> V = signed_row_major(layer.V, sign);
    EXPECT_EQ(bytes.substr(layout.offsets[3 * l], U.size() * 8), as_bytes(U)) << l;
    EXPECT_EQ(bytes.substr(layout.offsets[3 * l + 1], S.size() * 8), as_bytes(S)) << l;
    EXPECT_EQ(bytes.substr(layout.offsets[3 * l + 2], V.size() * 8), as_bytes(V)) << l;
  }
  // The layout needs no factors: every rank computes it from the shapes and singular values.
  for (LayerResult& layer : r.layers) {
    layer.U.resize(0, 0);
    layer.V.resize(0, 0);
  }
  EXPECT_EQ(spectra_layout(r, Method::Svr).head, layout.head);
}

TEST(SpectraLayout, SignsMakeTheLargestEntryPositiveFirstOnATie) {
  Eigen::MatrixXd u(3, 3);
  u << 0.5, -0.7, 0.0,  //
      -0.5, 0.7, 0.0,   //
      0.1, 0.2, 0.0;
  EXPECT_EQ(canonical_signs(u), (std::vector<double>{1.0, -1.0, 1.0}));
  // Only the first sign.size() columns are stored.
  EXPECT_EQ(signed_row_major(u, {-1.0}), (std::vector<double>{-0.5, 0.5, -0.1}));
}

TEST(SpectraLayout, SignsDoNotDependOnTheSignsLapackChose) {
  // Orthonormal columns, as a factor of an SVD has.
  const Eigen::MatrixXd M = Eigen::MatrixXd::Random(12, 8);
  const Eigen::MatrixXd u =
      Eigen::HouseholderQR<Eigen::MatrixXd>(M).householderQ() * Eigen::MatrixXd::Identity(12, 8);
  const std::vector<double> sign = canonical_signs(u);
  Eigen::MatrixXd signed_u = u;
  for (Eigen::Index j = 0; j < u.cols(); ++j) signed_u.col(j) *= sign[static_cast<std::size_t>(j)];
  // The same columns, whichever sign they came with; then every sign is +1.
  EXPECT_EQ(signed_row_major(-u, canonical_signs(-u)), signed_row_major(u, sign));
  EXPECT_EQ(canonical_signs(signed_u),
            std::vector<double>(static_cast<std::size_t>(u.cols()), 1.0));
  for (Eigen::Index j = 0; j < u.cols(); ++j) {
    Eigen::Index i = 0;
    signed_u.col(j).cwiseAbs().maxCoeff(&i);
    EXPECT_GT(signed_u(i, j), 0.0);
  }
}

}  // namespace
}  // namespace svr
