// svr.svg: well-formed XML, one circle per spectral neuron, one line per drawn edge, the cap per
// pair keeps the strongest edges and paints them last, tick thinning, small dots for wide
// layers, escaping, determinism; graphs: an arc per edge of a pair that skips columns, chains
// along arcs, a ResNet-50-sized graph laid out readably, chain networks' bytes unchanged.
#include "svr/output/plot_svg.hpp"

#include <sys/wait.h>

#include <cstdint>
#include <limits>
#include <map>
#include <regex>
#include <set>

#include "svr/core/error.hpp"
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

// The pair (from, to) of two layers of `width` neurons, with `edges` significant edges (edge k:
// from neuron k % width to neuron (k / width) % width, log10 p = -(k + 2)) and one
// non-significant edge (as with --all-edges).
PairResult synthetic_pair(int from, int to, Eigen::Index width, int edges) {
  PairResult pair;
  pair.from_layer = from;
  pair.to_layer = to;
  pair.c = width;
  pair.z = 1;
  pair.E = Eigen::MatrixXd::Constant(width, width, 1.0 / width);
  for (int k = 0; k < edges; ++k) {
    pair.edges.push_back({(k / width) % width, k % width, 0.5, -(k + 2.0), -(k + 1.0), true});
  }
  pair.edges.push_back({0, 0, 0.01, -0.5, -0.1, false});
  pair.significant = edges;
  pair.edges_tested = width * width;
  return pair;
}

// A chain of `layers` layers of `width` neurons each, with `edges` significant edges per pair
// (synthetic_pair).
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
    r.pairs.push_back(synthetic_pair(static_cast<int>(l), static_cast<int>(l) + 1, width, edges));
  }
  return r;
}

// A graph: the chain of synthetic(layers, width, edges) plus the pairs `skips` (from, to) that
// skip columns, `edges` significant edges each.
SvrResult synthetic_graph(std::size_t layers, Eigen::Index width, int edges,
                          const std::vector<std::pair<int, int>>& skips) {
  SvrResult r = synthetic(layers, width, edges);
  for (const auto& [from, to] : skips) {
    r.pairs.push_back(synthetic_pair(from, to, width, edges));
    r.pairs.back().map = "add";
  }
  return r;
}

// A ResNet-50-like graph: conv1 and 16 bottleneck blocks (3, 4, 6, 3 per stage, a downsample in
// each stage's first block), 53 layers in topological order; a chain of 52 adjacent pairs plus
// 59 pairs of span 2 and 3 (111 pairs), four significant edges each; two chains along skips.
SvrResult resnet50_like() {
  SvrResult r;
  r.model_name = "resnet50_like.safetensors";
  std::vector<std::string> names = {"conv1.weight"};
  std::vector<Eigen::Index> widths = {16};
  const int blocks[] = {3, 4, 6, 3};
  for (int s = 0; s < 4; ++s) {
    for (int b = 0; b < blocks[s]; ++b) {
      const std::string prefix = "layer" + std::to_string(s + 1) + "." + std::to_string(b) + ".";
      for (const char* conv : {"conv1", "conv2", "conv3"}) {
        names.push_back(prefix + conv + ".weight");
        widths.push_back(16 + 8 * s + (conv[4] == '3' ? 16 : 0));
      }
      if (b == 0) {
        names.push_back(prefix + "downsample.0.weight");
        widths.push_back(32 + 8 * s);
      }
    }
  }
  for (std::size_t l = 0; l < names.size(); ++l) {
    LayerResult layer;
    layer.name = names[l];
    layer.kind = "conv2d";
    const Eigen::Index width = widths[l];
    layer.rows = layer.cols = layer.full_rank = width;
    layer.sigma = Eigen::VectorXd(width);
    for (Eigen::Index i = 0; i < width; ++i) {
      layer.sigma[i] =
          (2.0 + 0.05 * static_cast<double>(l % 7)) * std::pow(0.93, static_cast<double>(i));
      layer.cluster.push_back(static_cast<int>(i));
      layer.near_kernel.push_back(false);
      layer.intensity.push_back(static_cast<double>((i * 7 + l) % 11) / 10.0);
    }
    r.layers.push_back(layer);
  }
  const int n = static_cast<int>(r.layers.size());
  auto add_pair = [&](int from, int to) {
    PairResult pair;
    pair.from_layer = from;
    pair.to_layer = to;
    pair.map = to == from + 1 ? "direct" : "add";
    const Eigen::Index wf = r.layers[from].sigma.size(), wt = r.layers[to].sigma.size();
    pair.c = pair.channels_read = wf;
    pair.z = 9;
    pair.E = Eigen::MatrixXd::Constant(wt, wf, 1.0 / static_cast<double>(wf));
    for (int k = 0; k < 4; ++k) {
      pair.edges.push_back({(k * 3 + from) % wt, (k * 5 + to) % wf, 0.4, -(k + 3.0 + from % 5),
                            -(k + 2.0 + from % 5), true});
    }
    pair.significant = 4;
    pair.edges_tested = wt * wf;
    r.pairs.push_back(pair);
  };
  for (int l = 0; l + 1 < n; ++l) add_pair(l, l + 1);
  for (int l = 0; l + 2 < n; ++l) {
    if (l % 3 != 2) add_pair(l, l + 2);
  }
  for (int l = 0; l + 3 < n; ++l) {
    if (l % 2 == 0) add_pair(l, l + 3);
  }
  ChainResult a;
  a.start_layer = 0;
  a.layers = {0, 1, 3, 4, 6, 9, 10};
  a.neurons = {0, 1, 2, 0, 1, 3, 0};
  a.weakest_log10_p = -3.0;
  r.chains.push_back(a);
  ChainResult b;
  b.start_layer = 30;
  b.layers = {30, 31, 32, 34, 37};
  b.neurons = {2, 2, 1, 0, 4};
  b.weakest_log10_p = -2.5;
  r.chains.push_back(b);
  return r;
}

// The x of each layer's column (its dots' cx).
std::vector<double> column_x(const std::string& svg, std::size_t layers) {
  std::vector<double> xs;
  for (std::size_t l = 0; l < layers; ++l) {
    const std::size_t at = svg.find("<g class=\"layer\" data-layer=\"" + std::to_string(l) + "\">");
    const std::size_t cx = svg.find(" cx=\"", at);
    xs.push_back(at == std::string::npos ? -1.0 : std::stod(svg.substr(cx + 5)));
  }
  return xs;
}

// The numbers of an SVG path's data, as (x, y) points.
std::vector<std::pair<double, double>> path_points(const std::string& d) {
  std::vector<double> numbers;
  const std::regex number("-?[0-9]+(\\.[0-9]+)?");
  for (auto it = std::sregex_iterator(d.begin(), d.end(), number); it != std::sregex_iterator();
       ++it) {
    numbers.push_back(std::stod(it->str()));
  }
  std::vector<std::pair<double, double>> points;
  for (std::size_t k = 0; k + 1 < numbers.size(); k += 2) {
    points.emplace_back(numbers[k], numbers[k + 1]);
  }
  return points;
}

struct Arc {
  std::string d, title;
  std::vector<std::pair<double, double>> points;
  double apex() const {
    double y = std::numeric_limits<double>::infinity();
    for (const auto& point : points) y = std::min(y, point.second);
    return y;
  }
};

// Every element starting with `prefix` (e.g. "<path class=\"edge arc\""): its d and title.
std::vector<Arc> paths(const std::string& svg, const std::string& prefix) {
  std::vector<Arc> arcs;
  for (std::size_t at = svg.find(prefix); at != std::string::npos; at = svg.find(prefix, at + 1)) {
    Arc arc;
    const std::size_t d = svg.find(" d=\"", at) + 4;
    arc.d = svg.substr(d, svg.find('"', d) - d);
    const std::size_t title = svg.find("<title>", at), end = svg.find('>', at);
    if (title == end + 1)
      arc.title = svg.substr(title + 7, svg.find("</title>", title) - title - 7);
    arc.points = path_points(arc.d);
    arcs.push_back(arc);
  }
  return arcs;
}

// The y of the dot of neuron `neuron` of the layer labelled `label` (from its tooltip).
double dot_y(const std::string& svg, const std::string& label, std::int64_t neuron) {
  const std::size_t title = svg.find("<title>" + label + " n" + std::to_string(neuron) + ": s = ");
  const std::size_t circle = svg.rfind("<circle", title);
  return std::stod(svg.substr(svg.find(" cy=\"", circle) + 5));
}

// The layers and neurons an edge's tooltip "blocks.0.conv n1 → blocks.2.conv n0: ..." names.
struct TooltipEdge {
  int from = -1, to = -1;
  std::int64_t i = -1, j = -1;
};
TooltipEdge tooltip_edge(const std::string& title) {
  static const std::regex edge(
      "^blocks\\.([0-9]+)\\.conv n([0-9]+) \u2192 blocks\\.([0-9]+)\\.conv n([0-9]+): ");
  std::smatch m;
  if (!std::regex_search(title, m, edge)) return {};
  return {std::stoi(m[1]), std::stoi(m[3]), std::stoll(m[2]), std::stoll(m[4])};
}

// The top of the plot area (where the frame starts).
double plot_top(const std::string& svg) {
  const std::size_t at = svg.find("<path class=\"frame\" d=\"M");
  return std::stod(svg.substr(svg.find(',', at) + 1));
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

TEST(PlotSvg, PairsSkippingColumnsAreArcsFromColumnToColumn) {
  // Adjacent pairs (0, 1) ... (3, 4), span-2 pairs (0, 2) and (1, 3), span-3 pairs (0, 3), (1, 4).
  const SvrResult r = synthetic_graph(5, 6, 3, {{0, 2}, {1, 3}, {0, 3}, {1, 4}});
  const std::string svg = render_svr_svg(r, PlotOptions{});
  EXPECT_EQ(count(svg, "<line class=\"edge\""), 4u * 3u);      // adjacent pairs: lines
  EXPECT_EQ(count(svg, "<path class=\"edge arc\""), 4u * 3u);  // one path per skipping edge
  EXPECT_EQ(count(svg, "<polyline class=\"chain\""), 0u);
  const std::vector<double> xs = column_x(svg, 5);
  const double spacing = xs[1] - xs[0];
  const double top = plot_top(svg);
  EXPECT_GT(top, 70.0);  // the band above the plot area that holds the arcs
  // Lines join adjacent columns only, and only adjacent pairs are lines.
  const std::regex line(
      "<line class=\"edge\" x1=\"([-0-9.]+)\" y1=\"[-0-9.]+\" "
      "x2=\"([-0-9.]+)\"[^>]*><title>([^<]*)<");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), line); it != std::sregex_iterator();
       ++it) {
    EXPECT_NEAR(std::stod((*it)[2]) - std::stod((*it)[1]), spacing, 0.011);
    const TooltipEdge edge = tooltip_edge((*it)[3]);
    EXPECT_EQ(edge.to, edge.from + 1) << (*it)[3];
  }
  std::map<int, std::set<double>> apexes;  // per span
  for (const Arc& arc : paths(svg, "<path class=\"edge arc\"")) {
    const TooltipEdge edge = tooltip_edge(arc.title);
    const int from = edge.from, to = edge.to;
    ASSERT_GE(from, 0) << arc.title;
    EXPECT_GE(to - from, 2) << arc.title;
    ASSERT_GE(arc.points.size(), 2u);
    EXPECT_EQ(arc.d.rfind("M", 0), 0u) << arc.d;
    EXPECT_NE(arc.d.find('C'), std::string::npos) << arc.d;  // a curve, not a polyline
    // From the producer's dot to the consumer's dot.
    const std::string a = "blocks." + std::to_string(from) + ".conv";
    const std::string b = "blocks." + std::to_string(to) + ".conv";
    EXPECT_DOUBLE_EQ(arc.points.front().first, xs[from]);
    EXPECT_DOUBLE_EQ(arc.points.front().second, dot_y(svg, a, edge.i));
    EXPECT_DOUBLE_EQ(arc.points.back().first, xs[to]);
    EXPECT_DOUBLE_EQ(arc.points.back().second, dot_y(svg, b, edge.j));
    // Monotonic halves: every control point lies between the columns, none above the apex.
    for (const auto& [x, y] : arc.points) {
      EXPECT_GE(x, xs[from] - 1e-9);
      EXPECT_LE(x, xs[to] + 1e-9);
    }
    EXPECT_LT(arc.apex(), top);   // above the plot area ...
    EXPECT_GT(arc.apex(), 56.0);  // ... below the subtitle
    EXPECT_EQ(arc.title.find("E = 0.5, p = "), arc.title.find(": ") + 2);  // the edge tooltip
    apexes[to - from].insert(arc.apex());
  }
  ASSERT_EQ(apexes.size(), 2u);
  ASSERT_EQ(apexes[2].size(), 1u);  // one height per span
  ASSERT_EQ(apexes[3].size(), 1u);
  EXPECT_GE(*apexes[2].begin() - *apexes[3].begin(), 10.0);  // higher for the longer span
  EXPECT_NE(svg.find("layer (in topological order)"), std::string::npos);
  EXPECT_NE(svg.find("edge skipping columns (arc)"), std::string::npos);
  // Strongest last, arcs and lines alike: the last edge drawn has the smallest p (1e-4).
  const std::size_t last =
      std::max(svg.rfind("<line class=\"edge\""), svg.rfind("<path class=\"edge"));
  EXPECT_NE(svg.find("p = 1e-4,", last), std::string::npos);
}

TEST(PlotSvg, ChainsAcrossSkippedColumnsFollowTheArcs) {
  SvrResult r = synthetic_graph(5, 6, 3, {{1, 3}});
  r.chains.clear();
  ChainResult skip;  // 0 -> 1 -> 3 -> 4: an arc between columns 1 and 3
  skip.start_layer = 0;
  skip.layers = {0, 1, 3, 4};
  skip.neurons = {0, 1, 2, 0};
  skip.weakest_log10_p = -3.0;
  ChainResult along;  // 0 -> 1 -> 2 of the same graph: a polyline
  along.start_layer = 0;
  along.layers = {0, 1, 2};
  along.neurons = {1, 1, 1};
  along.weakest_log10_p = -2.0;
  r.chains = {skip, along};
  const std::string svg = render_svr_svg(r, PlotOptions{});
  EXPECT_EQ(count(svg, "<polyline class=\"chain\""), 1u);
  const std::vector<Arc> chains = paths(svg, "<path class=\"chain\"");
  ASSERT_EQ(chains.size(), 1u);
  const Arc& chain = chains[0];
  const std::vector<double> xs = column_x(svg, 5);
  EXPECT_EQ(count(chain.d, "L"), 2u);  // 0 -> 1 and 3 -> 4 straight
  EXPECT_EQ(count(chain.d, "C"), 1u);  // 1 -> 3 an arc
  EXPECT_DOUBLE_EQ(chain.points.front().first, xs[0]);
  EXPECT_DOUBLE_EQ(chain.points[1].first, xs[1]);
  EXPECT_DOUBLE_EQ(chain.points.back().first, xs[4]);
  EXPECT_DOUBLE_EQ(chain.points.back().second, dot_y(svg, "blocks.4.conv", 0));
  EXPECT_DOUBLE_EQ(chain.points[chain.points.size() - 2].first, xs[3]);
  // The same arc as the edges of pair (1, 3).
  const std::vector<Arc> arcs = paths(svg, "<path class=\"edge arc\"");
  ASSERT_FALSE(arcs.empty());
  EXPECT_DOUBLE_EQ(chain.apex(), arcs[0].apex());
  EXPECT_NE(chain.title.find("blocks.1.conv n1 \u2192 blocks.3.conv n2"), std::string::npos)
      << chain.title;
}

TEST(PlotSvg, ChainNetworkPlotUnchangedByGraphSupport) {
  SvrResult r = synthetic(12, 64, 120);
  r.chains.push_back({2, {0, 1, 0, 2}, -5.0});
  r.chains.push_back({0, {3, 3, 3}, -4.0});
  PlotOptions o;
  const std::string svg = render_svr_svg(r, o);
  EXPECT_EQ(svg.find(" arc"), std::string::npos);
  EXPECT_EQ(svg.find("<path class=\"chain"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline class=\"chain\""), 2u);
  EXPECT_NE(svg.find("layer (in chain order)"), std::string::npos);
  EXPECT_DOUBLE_EQ(plot_top(svg), 70.0);
  // FNV-1a of the bytes main wrote before graphs were drawn with arcs (commit c449230): a chain
  // network's svr.svg must not change. Update only for an intended change of chain plots.
  auto fnv1a = [](const std::string& text) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ull;
    return h;
  };
  EXPECT_EQ(svg.size(), 413578u);
  EXPECT_EQ(fnv1a(svg), 0xfa05692f794d4256ull);
  o.log_scale = false;
  o.max_edges = 5;
  const std::string linear = render_svr_svg(r, o);
  EXPECT_EQ(linear.size(), 186857u);
  EXPECT_EQ(fnv1a(linear), 0xf6bf582d824d9bb9ull);
}

TEST(PlotSvg, ResNet50SizedGraphStaysReadable) {
  const SvrResult r = resnet50_like();
  ASSERT_EQ(r.layers.size(), 53u);
  ASSERT_EQ(r.pairs.size(), 111u);
  const std::string svg = render_svr_svg(r, PlotOptions{});
  EXPECT_EQ(count(svg, "<line class=\"edge\""), 52u * 4u);
  EXPECT_EQ(count(svg, "<path class=\"edge arc\""), 59u * 4u);
  EXPECT_EQ(count(svg, "<path class=\"chain\""), 2u);
  // A sensible size: one column per layer, about 720 px of columns plus axis and legend.
  const double width = std::stod(svg.substr(svg.find(" width=\"") + 8));
  const double height = std::stod(svg.substr(svg.find(" height=\"") + 9));
  EXPECT_LE(width, 1200.0);
  EXPECT_LE(height, 900.0);
  const std::vector<double> xs = column_x(svg, 53);
  for (std::size_t l = 1; l < xs.size(); ++l) EXPECT_GE(xs[l] - xs[l - 1], 12.0) << l;
  // Labels rotated and thinned so that neighbours never overlap (>= 17 px apart), the first
  // and last layer labelled.
  std::vector<double> label_xs;
  const std::regex translate("<text class=\"xlabel\" transform=\"translate\\(([-0-9.]+),");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), translate);
       it != std::sregex_iterator(); ++it) {
    label_xs.push_back(std::stod((*it)[1]));
  }
  EXPECT_GE(label_xs.size(), 26u);
  for (std::size_t k = 1; k < label_xs.size(); ++k) {
    EXPECT_GE(label_xs[k] - label_xs[k - 1], 17.0 - 1e-9) << k;
  }
  EXPECT_NE(svg.find(">conv1</text>"), std::string::npos);
  EXPECT_NE(svg.find(">layer4.2.conv3</text>"), std::string::npos);
  // The arcs: in the band between subtitle and plot area, one height per span, apart.
  const double top = plot_top(svg);
  std::map<int, std::set<double>> apexes;
  for (const Arc& arc : paths(svg, "<path class=\"edge arc\"")) {
    EXPECT_LT(arc.apex(), top);
    EXPECT_GT(arc.apex(), 56.0);
    const int from =
        static_cast<int>(std::lround((arc.points.front().first - xs[0]) / (xs[1] - xs[0])));
    const int to =
        static_cast<int>(std::lround((arc.points.back().first - xs[0]) / (xs[1] - xs[0])));
    apexes[to - from].insert(arc.apex());
  }
  ASSERT_EQ(apexes.size(), 2u);
  EXPECT_EQ(apexes[2].size(), 1u);
  EXPECT_EQ(apexes[3].size(), 1u);
  EXPECT_GE(*apexes[2].begin() - *apexes[3].begin(), 10.0);
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
