#pragma once
// Helpers of the aggregate tests: run directories whose summary.json is written by svr's own
// writer (so the schema the aggregator reads cannot drift from the one svr writes), tables by
// column name, a minimal XML checker, and a way to call `svr aggregate`. The shared helpers
// (TempDir, read_file, parse_csv, ...) come with it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "svr/aggregate/aggregate.hpp"
#include "svr/core/results.hpp"
#include "svr/output/summary_json.hpp"
#include "svr_test/files.hpp"
#include "svr_test/temp_dir.hpp"
#include "svr_test/text.hpp"

namespace svr::test {

// A parsed table with access by column name.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  explicit Table(const std::string& text) {
    auto records = parse_csv(text);
    if (records.empty()) {
      ADD_FAILURE() << "empty table";
      return;
    }
    header = records.front();
    rows.assign(records.begin() + 1, records.end());
    for (const auto& row : rows) EXPECT_EQ(row.size(), header.size()) << "ragged row";
  }
  std::size_t column(const std::string& name) const {
    for (std::size_t k = 0; k < header.size(); ++k) {
      if (header[k] == name) return k;
    }
    ADD_FAILURE() << "no column " << name;
    return 0;
  }
  const std::string& at(std::size_t row, const std::string& name) const {
    return rows.at(row).at(column(name));
  }
};

// What a test model looks like; the defaults give exactly representable totals.
struct ModelSpec {
  std::string model = "net.safetensors";
  std::vector<std::string> layers = {"fc1.weight", "fc2.weight", "fc3.weight"};
  std::vector<std::int64_t> significant = {2, 5};
  std::vector<double> entropy_normalized = {0.5, 0.75};
  double log10_weighted = 1.5, log10_unweighted = 0.25;
  std::string sha256 = std::string(64, 'b');
};

// Layer l keeps 3 + l singular values, the last one near-kernel except in layer 0; pair l tests
// every edge, reports one, and has `significant[l]` significant edges. Two chains (lengths 3
// and 2), phases summing to 3 s with "svd" reported twice.
inline SvrResult make_result(const ModelSpec& spec) {
  SvrResult r;
  r.model_name = spec.model;
  for (std::size_t l = 0; l < spec.layers.size(); ++l) {
    LayerResult layer;
    const int n = 3 + static_cast<int>(l);
    layer.name = spec.layers[l];
    layer.kind = "linear";
    layer.rows = n;
    layer.cols = n;
    layer.tensor_shape = {n, n};
    layer.full_rank = n;
    layer.sigma = Eigen::VectorXd::LinSpaced(n, static_cast<double>(n), 1.0);
    layer.cluster.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) layer.cluster[static_cast<std::size_t>(i)] = i;
    layer.near_kernel.assign(static_cast<std::size_t>(n), false);
    if (l > 0) layer.near_kernel.back() = true;
    layer.intensity.assign(static_cast<std::size_t>(n), 0.5);
    r.layers.push_back(layer);
  }
  for (std::size_t l = 0; l + 1 < spec.layers.size(); ++l) {
    PairResult p;
    p.from_layer = static_cast<int>(l);
    p.to_layer = p.from_layer + 1;
    p.c = 4;
    p.z = 1;
    p.null_kind = NullKind::Beta;
    p.beta_a = 0.5;
    p.beta_b = 1.5;
    p.edges_tested = r.layers[l].sigma.size() * r.layers[l + 1].sigma.size();
    p.significant = spec.significant.at(l);
    p.internal_dim_to = 1;
    p.internal_dim_from = 2;
    p.entropy_normalized = spec.entropy_normalized.at(l);
    p.entropy = 2.0 * p.entropy_normalized;
    p.edges = {{0, 0, 0.75, -3.0, -2.5, true}};
    r.pairs.push_back(p);
  }
  r.log10_path_metric = spec.log10_weighted;
  r.log10_path_metric_unweighted = spec.log10_unweighted;
  r.chains = {{0, {0, 0, 0}, -3.0}, {1, {1, 1}, -2.0}};
  r.run.version = "0.1.0";
  r.run.command_line = "svr " + spec.model;
  r.run.input_sha256 = spec.sha256;
  r.run.input_format = "safetensors";
  r.run.ranks = 2;
  r.run.phases = {{"read", 0.5},   {"checksum", 0.375},     {"svd", 1.25},
                  {"edges", 0.25}, {"significance", 0.125}, {"svd", 0.5}};
  r.run.peak_memory_mb = 12.5;
  return r;
}

// A finished run directory: DIR/summary.json written by svr's writer.
inline void write_run(const std::string& dir, const ModelSpec& spec = {}) {
  std::filesystem::create_directories(dir);
  // The options object as svr records it (app/options.hpp options_record) with the defaults; the
  // aggregate reads correction, fdr_scope, alpha and sigma from it.
  const nlohmann::ordered_json options = {
      {"model_path", spec.model}, {"outdir", dir}, {"layers", nlohmann::ordered_json::array()},
      {"method", "svr"},          {"batchnorm", "fold"}, {"bn_eps", 1e-5},
      {"alpha", 0.05},            {"correction", "bh"},  {"fdr_scope", "network"},
      {"sigma", nullptr},         {"reference", false},  {"max_rank", nullptr},
      {"near_kernel_tau", 0.01},  {"path_threshold", 0.0}, {"top_chains", 10},
      {"all_edges", false},       {"save_spectra", false}, {"save_adjacency", false},
      {"force", false},           {"quiet", false},      {"simulation_draws", 1000000},
      {"seed", 20230216}};
  write_summary_json(dir + "/summary.json", make_result(spec), options, Method::Svr);
}

struct Outcome {
  int code = -1;
  std::string out, err;
};

// `svr aggregate ARGS...` in this process, stdout and stderr captured.
inline Outcome aggregate(std::vector<std::string> args) {
  args.insert(args.begin(), "aggregate");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  Outcome outcome;
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  outcome.code = aggregate_main(static_cast<int>(args.size()), argv.data());
  outcome.err = testing::internal::GetCapturedStderr();
  outcome.out = testing::internal::GetCapturedStdout();
  return outcome;
}

// Minimal XML well-formedness: declarations skipped, tags balanced and properly nested,
// attributes quoted, only the five predefined entities and numeric references. Returns "" when
// fine, else the first problem.
inline std::string xml_problem(const std::string& text) {
  std::vector<std::string> open;
  std::size_t at = 0;
  auto check_text = [&](const std::string& chunk) -> std::string {
    for (std::size_t k = 0; k < chunk.size(); ++k) {
      if (chunk[k] == '<') return "stray '<'";
      if (chunk[k] != '&') continue;
      const auto semi = chunk.find(';', k);
      if (semi == std::string::npos) return "unterminated entity";
      const std::string name = chunk.substr(k + 1, semi - k - 1);
      if (name != "amp" && name != "lt" && name != "gt" && name != "quot" && name != "apos" &&
          !(name.size() > 1 && name[0] == '#')) {
        return "unknown entity &" + name + ";";
      }
    }
    return "";
  };
  bool root_seen = false;
  while (at < text.size()) {
    const auto lt = text.find('<', at);
    const std::string chunk =
        text.substr(at, lt == std::string::npos ? std::string::npos : lt - at);
    if (auto problem = check_text(chunk); !problem.empty()) return problem;
    if (open.empty() && root_seen && chunk.find_first_not_of(" \n\r\t") != std::string::npos) {
      return "text after the root element";
    }
    if (lt == std::string::npos) break;
    if (text.compare(lt, 5, "<?xml") == 0) {
      const auto end = text.find("?>", lt);
      if (end == std::string::npos) return "unterminated declaration";
      at = end + 2;
      continue;
    }
    const auto gt = text.find('>', lt);
    if (gt == std::string::npos) return "unterminated tag";
    std::string tag = text.substr(lt + 1, gt - lt - 1);
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name) return "mismatched </" + name + ">";
      open.pop_back();
    } else {
      const bool self_closing = !tag.empty() && tag.back() == '/';
      if (self_closing) tag.pop_back();
      const auto space = tag.find_first_of(" \n\t");
      const std::string name = tag.substr(0, space);
      if (name.empty()) return "empty tag name";
      if (open.empty() && root_seen) return "second root element <" + name + ">";
      // Attributes: name="value" pairs with balanced quotes.
      if (space != std::string::npos && count(tag, "\"") % 2 != 0)
        return "unbalanced quotes in <" + name;
      if (space != std::string::npos && tag.find('=') != std::string::npos) {
        if (auto problem = check_text(tag.substr(space)); !problem.empty()) return problem;
      }
      root_seen = true;
      if (!self_closing) open.push_back(name);
    }
    at = gt + 1;
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  if (!root_seen) return "no root element";
  return "";
}

// The values of attribute `name` of every element that carries `marker` (e.g. class="point"),
// in document order.
inline std::vector<std::string> attribute_values(const std::string& svg, const std::string& marker,
                                                 const std::string& name) {
  std::vector<std::string> values;
  for (std::size_t at = svg.find(marker); at != std::string::npos; at = svg.find(marker, at + 1)) {
    const auto start = svg.rfind('<', at);
    const auto end = svg.find('>', at);
    const std::string tag = svg.substr(start, end - start);
    const auto key = tag.find(" " + name + "=\"");
    if (key == std::string::npos) continue;
    const auto value_start = key + name.size() + 3;
    values.push_back(tag.substr(value_start, tag.find('"', value_start) - value_start));
  }
  return values;
}

}  // namespace svr::test
