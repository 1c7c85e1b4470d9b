#pragma once
// Helpers of the output tests: a small hand-built SvrResult covering the awkward cases, and a
// check for NaN in written text. The helpers shared with other tests (TempDir, read_file,
// parse_csv, ...) come with it.
#include <cmath>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "svr/core/results.hpp"
#include "svr_test/files.hpp"
#include "svr_test/temp_dir.hpp"
#include "svr_test/text.hpp"

namespace svr::test {

inline constexpr const char* kCommaName = "features.0,weight";
inline constexpr const char* kQuoteName = "classifier.\"1\".weight";
inline constexpr const char* kZeroName = "zero.weight";

// Three layers: a conv whose name holds a comma, a linear whose name holds quotes and whose
// first two singular values form a cluster, and an all-zero layer (s_max = 0). Pair 0 is a Beta
// pair with an edge at log10 p = -700 (p underflows) and one at -310 (p subnormal); pair 1 has
// c = 1 (untestable). The weighted path metric is -inf.
inline SvrResult sample_result() {
  SvrResult r;
  r.model_name = "tiny_cnn.safetensors";

  LayerResult a;
  a.name = kCommaName;
  a.kind = "conv2d";
  a.tensor_shape = {3, 2, 2, 2};
  a.rows = 3;
  a.cols = 8;
  a.full_rank = 3;
  a.folded_bn = "features.1";
  a.sigma = Eigen::Vector3d(3.0, 0.1 + 0.2, 0.01);  // 0.30000000000000004 must survive
  a.U = Eigen::MatrixXd(3, 3);
  a.U << 0.1, -0.9, 0.3,  //
      -0.8, 0.2, 0.3,     //
      0.5, 0.1, -0.9;
  a.V = Eigen::MatrixXd::Zero(8, 3);
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 3; ++j) a.V(i, j) = 0.01 * (i + 1) * (j % 2 == 0 ? 1 : -1) + 0.001 * j;
  }
  a.cluster = {0, 1, 2};
  a.near_kernel = {false, false, true};
  a.intensity = {1.0, 1.0 / 3.0, 0.0};
  r.layers.push_back(a);

  LayerResult b;
  b.name = kQuoteName;
  b.kind = "linear";
  b.tensor_shape = {4, 3};
  b.rows = 4;
  b.cols = 3;
  b.full_rank = 3;
  b.sigma = Eigen::Vector3d(2.5, 2.5, 1e-300);
  b.U = Eigen::MatrixXd::Identity(4, 3);
  b.V = -Eigen::MatrixXd::Identity(3, 3);
  b.cluster = {0, 0, 1};
  b.near_kernel = {false, false, true};
  b.intensity = {0.5, 0.125, 0.0};
  r.layers.push_back(b);

  LayerResult z;
  z.name = kZeroName;
  z.kind = "linear";
  z.tensor_shape = {2, 4};
  z.rows = 2;
  z.cols = 4;
  z.full_rank = 2;
  z.sigma = Eigen::Vector2d(0.0, 0.0);
  z.U = Eigen::MatrixXd::Identity(2, 2);
  z.V = Eigen::MatrixXd::Identity(4, 2);
  z.cluster = {0, 0};
  z.near_kernel = {true, true};
  z.intensity = {1.0, 1.0};
  r.layers.push_back(z);

  PairResult p0;
  p0.from_layer = 0;
  p0.to_layer = 1;
  p0.c = 3;
  p0.z = 1;
  p0.null_kind = NullKind::Beta;
  p0.beta_a = 0.5;
  p0.beta_b = 1.0;
  p0.E = Eigen::MatrixXd(3, 3);
  p0.E << 0.9, 0.05, 0.05,  //
      0.05, 0.6, 0.3,       //
      0.05, 0.1, 0.65;
  p0.edges_tested = 9;
  p0.significant = 2;
  p0.internal_dim_to = 2;
  p0.internal_dim_from = 1;
  p0.entropy = 1.25;
  p0.entropy_normalized = 1.25 / std::log(9.0);
  p0.edges = {{0, 0, 0.9, -700.0, -699.5, true},
              {1, 2, 0.3, -2.5, -1.25, false},
              {2, 1, 0.1, -310.0, -309.75, true}};
  r.pairs.push_back(p0);

  PairResult p1;
  p1.from_layer = 1;
  p1.to_layer = 2;
  p1.c = 1;
  p1.z = 1;
  p1.null_kind = NullKind::Untestable;
  p1.E = Eigen::MatrixXd::Ones(2, 3);
  p1.edges = {{1, 0, 1.0, 0.0, 0.0, false}};
  r.pairs.push_back(p1);

  r.log10_path_metric = -std::numeric_limits<double>::infinity();
  r.log10_path_metric_unweighted = 1.2345;
  r.chains.push_back({0, {0, 0, 1}, -700.0});

  r.run.version = "0.1.0";
  r.run.command_line = "svr tiny_cnn.safetensors -o \"out dir\"";
  r.run.input_sha256 = std::string(64, 'a');
  r.run.input_format = "safetensors";
  r.run.ranks = 2;
  r.run.phases = {{"read", 0.5}, {"svd", 1.5}, {"edges", 0.25}, {"svd", 0.5}};
  r.run.peak_memory_mb = 12.5;
  return r;
}

// Whether the text holds the word "nan" in any case (a number written as NaN).
inline bool contains_nan(const std::string& text) {
  static const std::regex word("(^|[^A-Za-z_])nan($|[^A-Za-z_])", std::regex::icase);
  return std::regex_search(text, word);
}

}  // namespace svr::test
