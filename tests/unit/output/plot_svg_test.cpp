// svr.svg: well-formed XML, one circle per spectral neuron, one line per drawn edge, the cap per
// pair keeps the strongest edges and paints them last, tick thinning, small dots for wide
// layers, escaping, determinism.
#include <sys/wait.h>

#include <regex>

#include "svr/core/error.hpp"
#include "svr/output/plot_svg.hpp"
#include "test_support.hpp"

namespace svr {
namespace {

using test::count;

// Every value of attribute `name` on elements whose text starts with `prefix`.
std::vector<double> attribute_values(const std::string& text, const std::string& prefix,
                                     const std::string& name) {
  std::vector<double> values;
  const std::string key = " " + name + "=\"";
  for (std::size_t at = text.find(prefix); at != std::string::npos;
       at = text.find(prefix, at + 1)) {
    const std::size_t end = text.find('>', at), found = text.find(key, at);
    if (found < end) values.push_back(std::stod(text.substr(found + key.size())));
  }
  return values;
}

// A chain of `layers` layers of `width` neurons each, with `edges` significant edges per pair
// (edge k: from neuron k % width to neuron (k / width) % width, log10 p = -(k + 2)) and one
// non-significant edge (as with --all-edges).
SvrResult synthetic(std::size_t layers, Eigen::Index width, int edges) {
  SvrResult r;
  r.model_name = "synthetic.safetensors";
  for (std::size_t l = 0; l < layers; ++l) {
    LayerResult layer;
    layer.name = "blocks." + std::to_string(l) + ".conv.weight";
    layer.kind = "conv2d";
    layer.rows = width;
    layer.cols = width;
    layer.full_rank = width;
    layer.sigma = Eigen::VectorXd(width);
    for (Eigen::Index i = 0; i < width; ++i) {
      layer.sigma[i] = 10.0 * std::pow(0.9, static_cast<double>(i));
      layer.cluster.push_back(static_cast<int>(i));
      layer.near_kernel.push_back(false);
      layer.intensity.push_back(static_cast<double>(width - i) / width);
    }
    r.layers.push_back(layer);
  }
  for (std::size_t l = 0; l + 1 < layers; ++l) {
    PairResult pair;
    pair.from_layer = static_cast<int>(l);
    pair.to_layer = pair.from_layer + 1;
    pair.c = width;
    pair.z = 1;
    pair.E = Eigen::MatrixXd::Constant(width, width, 1.0 / width);
    for (int k = 0; k < edges; ++k) {
      pair.edges.push_back({(k / width) % width, k % width, 0.5, -(k + 2.0), -(k + 1.0), true});
    }
    pair.edges.push_back({0, 0, 0.01, -0.5, -0.1, false});
    pair.significant = edges;
    pair.edges_tested = width * width;
    r.pairs.push_back(pair);
  }
  return r;
}

int run_python(const std::string& script, const std::string& argument) {
  const std::string command = "/usr/bin/python3 '" + script + "' '" + argument + "'";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(PlotSvg, OneCirclePerNeuronAndOneLinePerSignificantEdge) {
  const SvrResult r = test::sample_result();
  const std::string svg = render_svr_svg(r, PlotOptions{});
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(count(svg, "<circle class=\"node"), 8u);
  EXPECT_EQ(count(svg, "<circle class=\"node nk\""), 4u);  // 1 + 1 + 2 near-kernel neurons
  EXPECT_EQ(count(svg, "<line class=\"edge\""), 2u);       // 2 of 4 reported edges significant
  EXPECT_EQ(count(svg, "<polyline class=\"chain\""), 1u);
  EXPECT_EQ(count(svg, "<text class=\"xlabel\""), 3u);
  EXPECT_FALSE(test::contains_nan(svg));
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

TEST(PlotSvg, TitleNamesModelCorrectionAndLevel) {
  PlotOptions o;
  o.significance.alpha = 0.01;
  o.significance.correction = Correction::Holm;
  const std::string svg = render_svr_svg(test::sample_result(), o);
  EXPECT_NE(svg.find(">SVR of tiny_cnn.safetensors</text>"), std::string::npos);
  EXPECT_NE(svg.find("Holm, \u03b1 = 0.01"), std::string::npos);
  o.significance.sigma = 3.0;
  o.significance.correction = Correction::None;
  EXPECT_NE(render_svr_svg(test::sample_result(), o).find("\u03c7\u00b2 rule \u03c3 = 3"),
            std::string::npos);
}

TEST(PlotSvg, ParsesWithPythonXmlEtreeAndCountsMatch) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  test::TempDir dir;
  for (bool log : {true, false}) {
    PlotOptions o;
    o.log_scale = log;
    write_svr_svg(dir / "svr.svg", test::sample_result(), o);
    test::write_file(dir / "check.py", R"(import sys
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + "svg", root.tag
def classes(e):
    return (e.get("class") or "").split()
nodes = [e for e in root.iter(ns + "circle") if "node" in classes(e)]
edges = [e for e in root.iter(ns + "line") if "edge" in classes(e)]
assert len(nodes) == 8, len(nodes)
assert len(edges) == 2, len(edges)
assert sum("nk" in classes(e) for e in nodes) == 4
labels = ["".join(e.itertext()) for e in root.iter(ns + "text") if "xlabel" in classes(e)]
assert any(l.endswith('classifier."1"') for l in labels), labels
assert any(l.endswith("features.0,weight") for l in labels), labels
w, h = float(root.get("width")), float(root.get("height"))
for e in nodes:
    assert 0 < float(e.get("cx")) < w and 0 < float(e.get("cy")) < h
)");
    EXPECT_EQ(run_python(dir / "check.py", dir / "svr.svg"), 0) << (log ? "log" : "linear");
  }
}

TEST(PlotSvg, CapsEdgesPerPairKeepingTheStrongestDrawnLast) {
  const SvrResult r = synthetic(3, 10, 50);
  PlotOptions o;
  o.max_edges = 7;
  const std::string svg = render_svr_svg(r, o);
  EXPECT_EQ(count(svg, "<line class=\"edge\""), 14u);  // 7 per pair, 2 pairs
  // Pair 0 keeps the edges with log10 p = -51 ... -45 (k = 49 ... 43) and not -44.
  for (int k = 43; k <= 49; ++k) {
    EXPECT_NE(svg.find("p = 1e-" + std::to_string(k + 2) + ","), std::string::npos) << k;
  }
  EXPECT_EQ(svg.find("p = 1e-44,"), std::string::npos);
  EXPECT_EQ(svg.find("p = 3.2e-1"), std::string::npos);  // the non-significant edge
  // Weakest first: the last edge line is the strongest.
  const std::size_t strongest = svg.rfind("p = 1e-51,");
  const std::size_t weakest = svg.find("p = 1e-45,");
  ASSERT_NE(strongest, std::string::npos);
  EXPECT_LT(weakest, strongest);
  EXPECT_EQ(svg.find("<line class=\"edge\"", strongest), std::string::npos);
  EXPECT_NE(svg.find("14 of 100 drawn"), std::string::npos);

  o.max_edges = 0;
  EXPECT_EQ(count(render_svr_svg(r, o), "<line class=\"edge\""), 0u);
  o.max_edges = 100;
  EXPECT_EQ(count(render_svr_svg(r, o), "<line class=\"edge\""), 100u);
}

TEST(PlotSvg, ThinsLayerLabelsAt200Layers) {
  const SvrResult r = synthetic(200, 4, 2);
  const std::string svg = render_svr_svg(r, PlotOptions{});
  EXPECT_EQ(count(svg, "<circle class=\"node\""), 800u);
  EXPECT_EQ(count(svg, "<line class=\"edge\""), 2u * 199u);
  const std::size_t labels = count(svg, "<text class=\"xlabel\"");
  EXPECT_LT(labels, 200u);
  EXPECT_GE(labels, 40u);  // still a label every few layers
  EXPECT_NE(svg.find(">blocks.0.conv</text>"), std::string::npos);    // first layer
  EXPECT_NE(svg.find(">blocks.199.conv</text>"), std::string::npos);  // last layer
  // Rotated labels: consecutive labelled columns at least 17 px apart (12 px between the
  // 45-degree baselines), so that they never overlap.
  std::vector<double> xs;
  const std::regex translate("<text class=\"xlabel\" transform=\"translate\\(([-0-9.]+),");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), translate);
       it != std::sregex_iterator(); ++it) {
    xs.push_back(std::stod((*it)[1]));
  }
  ASSERT_EQ(xs.size(), labels);
  for (std::size_t k = 1; k < xs.size(); ++k) EXPECT_GE(xs[k] - xs[k - 1], 17.0 - 1e-9) << k;
  // Every layer still has a tick.
  EXPECT_GE(count(svg, "stroke=\"#444444\"/>"), 200u);
}

TEST(PlotSvg, DotsStaySmallAt4096NeuronsPerLayer) {
  const SvrResult r = synthetic(2, 4096, 3);
  const std::string svg = render_svr_svg(r, PlotOptions{});
  EXPECT_EQ(count(svg, "<circle class=\"node"), 8192u);
  const std::vector<double> radii = attribute_values(svg, "<circle class=\"node", "r");
  ASSERT_EQ(radii.size(), 8192u);
  for (double radius : radii) EXPECT_LE(radius, 1.0);
  EXPECT_EQ(svg.find(": s = "), std::string::npos);  // no per-dot tooltips
  // A small network gets bigger dots.
  const std::vector<double> small =
      attribute_values(render_svr_svg(synthetic(3, 16, 3), PlotOptions{}), "<circle class=\"node", "r");
  ASSERT_FALSE(small.empty());
  EXPECT_GE(small.front(), 3.0);
}

TEST(PlotSvg, EscapesNames) {
  SvrResult r = test::sample_result();
  r.model_name = "a<b>&c\".safetensors";
  r.layers[2].name = "x<script>&y.weight";
  const std::string svg = render_svr_svg(r, PlotOptions{});
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_EQ(svg.find("a<b>"), std::string::npos);
  EXPECT_NE(svg.find("SVR of a&lt;b&gt;&amp;c&quot;.safetensors"), std::string::npos);
  EXPECT_NE(svg.find("x&lt;script&gt;&amp;y"), std::string::npos);
}

TEST(PlotSvg, SameInputSameBytes) {
  const SvrResult r = synthetic(12, 64, 120);
  test::TempDir dir;
  write_svr_svg(dir / "a.svg", r, PlotOptions{});
  write_svr_svg(dir / "b.svg", r, PlotOptions{});
  const std::string a = test::read_file(dir / "a.svg");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, test::read_file(dir / "b.svg"));
  EXPECT_EQ(a, render_svr_svg(r, PlotOptions{}));
}

TEST(PlotSvg, InlineFormHasNoDeclarationNorNamespaceUrl) {
  const std::string svg = render_svr_svg(test::sample_result(), PlotOptions{}, false);
  EXPECT_EQ(svg.rfind("<svg class=\"svr-plot\"", 0), 0u);
  EXPECT_EQ(svg.find("http"), std::string::npos);
}

TEST(PlotSvg, ErrorsNameTheFile) {
  test::TempDir dir;
  const std::string path = dir.path() + "/missing/svr.svg";
  try {
    write_svr_svg(path, test::sample_result(), PlotOptions{});
    FAIL() << "no error";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  SvrResult bad = test::sample_result();
  bad.layers[0].intensity.pop_back();
  EXPECT_THROW(write_svr_svg(dir / "svr.svg", bad, PlotOptions{}), OutputError);
}

}  // namespace
}  // namespace svr
