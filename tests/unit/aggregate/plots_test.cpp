// The trend plots: well-formed SVG, one line per pair, one marker per value, broken lines where
// a value is missing, x from --x, and byte-identical output for the same input.
#include "aggregate_test_support.hpp"

namespace svr {
namespace {

// Four checkpoints of one architecture; run 2 has a NaN entropy (null in summary.json) for
// pair 0 and a weighted path metric of -inf (null).
void make_sweep(const std::string& root) {
  for (int k = 0; k < 4; ++k) {
    test::ModelSpec spec;
    spec.model = "ckpt_step" + std::to_string(400 - 100 * k) + ".safetensors";  // decreasing
    spec.significant = {k, 2 * k + 1};
    spec.entropy_normalized = {0.5 + 0.125 * k, 0.25};
    if (k == 2) {
      spec.entropy_normalized[0] = std::numeric_limits<double>::quiet_NaN();
      spec.log10_weighted = -std::numeric_limits<double>::infinity();
    }
    test::write_run(root + "/" + std::to_string(k) + "-ckpt", spec);
  }
}

struct Plots {
  std::string significant, entropy, models;
};

Plots aggregate_plots(const test::TempDir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {dir / "out", "-o", dir / "sweep.csv"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto result = test::aggregate(args);
  EXPECT_EQ(result.code, 0) << result.err;
  return {test::read_file(dir / "sweep-significant.svg"),
          test::read_file(dir / "sweep-entropy.svg"), test::read_file(dir / "sweep-models.svg")};
}

std::size_t polylines(const std::string& svg) { return test::count(svg, "<polyline "); }
std::size_t points(const std::string& svg) { return test::count(svg, "<circle class=\"point\""); }

// Number of "x,y" pairs in every polyline, in document order.
std::vector<std::size_t> polyline_lengths(const std::string& svg) {
  std::vector<std::size_t> lengths;
  for (const std::string& points : test::attribute_values(svg, "<polyline ", "points")) {
    lengths.push_back(test::count(points, ","));
  }
  return lengths;
}

TEST(AggregatePlots, WellFormedWithOneLinePerPair) {
  test::TempDir dir;
  make_sweep(dir / "out");
  const Plots plots = aggregate_plots(dir);
  for (const std::string* svg : {&plots.significant, &plots.entropy, &plots.models}) {
    EXPECT_EQ(test::xml_problem(*svg), "") << *svg;
    EXPECT_EQ(
        svg->rfind(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"",
            0),
        0u);
    EXPECT_EQ(svg->find("nan"), std::string::npos);
    EXPECT_EQ(svg->find("inf"), std::string::npos);
  }
  // Significant edges: two pairs, four runs each, unbroken.
  EXPECT_EQ(polyline_lengths(plots.significant), (std::vector<std::size_t>{4, 4}));
  EXPECT_EQ(points(plots.significant), 8u);
  EXPECT_EQ(test::count(plots.significant, "<g class=\"series\""), 2u);
  EXPECT_NE(plots.significant.find(">pair 0: fc1 \u2192 fc2</text>"), std::string::npos);
  EXPECT_NE(plots.significant.find(">pair 1: fc2 \u2192 fc3</text>"), std::string::npos);
  EXPECT_NE(plots.significant.find("<title>Significant edges per pair</title>"), std::string::npos);
  EXPECT_NE(plots.significant.find("sweep.csv \u00b7 4 runs \u00b7 2 pairs"), std::string::npos);
  EXPECT_NE(plots.significant.find(">run index (i of the run directory &lt;i&gt;-\u2026)</text>"),
            std::string::npos);
  // Entropy: pair 0 has no value for run 2, so its line breaks into runs 0-1 and a lone 3.
  EXPECT_EQ(polyline_lengths(plots.entropy), (std::vector<std::size_t>{2, 4}));
  EXPECT_EQ(points(plots.entropy), 7u);
  // Models: one panel with total significant edges, one with both path metrics; the weighted
  // one lacks run 2.
  EXPECT_EQ(test::count(plots.models, "<g class=\"panel\""), 2u);
  EXPECT_EQ(polyline_lengths(plots.models), (std::vector<std::size_t>{4, 2, 4}));
  EXPECT_EQ(points(plots.models), 4u + 3u + 4u);
}

TEST(AggregatePlots, MarkersFollowTheValues) {
  test::TempDir dir;
  make_sweep(dir / "out");
  const Plots plots = aggregate_plots(dir);
  // Pair 1 has 1, 3, 5, 7 significant edges for runs 0..3: x and y strictly increase (SVG y
  // grows downwards), and the tooltip names run and value.
  const auto cx = test::attribute_values(plots.significant, "<circle class=\"point\"", "cx");
  const auto cy = test::attribute_values(plots.significant, "<circle class=\"point\"", "cy");
  ASSERT_EQ(cx.size(), 8u);
  for (std::size_t k = 5; k < 8; ++k) {
    EXPECT_LT(test::to_double(cx[k - 1]), test::to_double(cx[k]));
    EXPECT_GT(test::to_double(cy[k - 1]), test::to_double(cy[k]));
  }
  EXPECT_EQ(cx[0], cx[4]);  // same run, same x in both series
  EXPECT_NE(plots.significant.find("pair 1: fc2 \u2192 fc3 \u00b7 " + dir / "out/3-ckpt" +
                                   " (ckpt_step100.safetensors): 7</title>"),
            std::string::npos);
  // Axis ticks of the runs: 0, 1, 2, 3 (integers only, no 0.5).
  for (const char* tick : {">0</text>", ">1</text>", ">2</text>", ">3</text>"}) {
    EXPECT_NE(plots.significant.find(tick), std::string::npos) << tick;
  }
  EXPECT_EQ(plots.significant.find(">0.5</text>"), std::string::npos);
}

TEST(AggregatePlots, XFromTheModelNumber) {
  test::TempDir dir;
  make_sweep(dir / "out");
  const Plots plots = aggregate_plots(dir, {"--x", "number"});
  // Steps 400, 300, 200, 100 for runs 0..3: markers are drawn in x order, so the first marker
  // of a series is run 3 (step 100) and the leftmost.
  const auto cx = test::attribute_values(plots.significant, "<circle class=\"point\"", "cx");
  ASSERT_EQ(cx.size(), 8u);
  EXPECT_LT(test::to_double(cx[0]), test::to_double(cx[3]));
  const auto first_title = plots.significant.find("<title>pair 0");
  ASSERT_NE(first_title, std::string::npos);
  EXPECT_NE(plots.significant.substr(first_title, 200).find("out/3-ckpt"), std::string::npos);
  EXPECT_NE(plots.significant.find(">number in the model file name</text>"), std::string::npos);
  EXPECT_NE(plots.significant.find(">400</text>"), std::string::npos);

  // A model name without a number cannot be placed.
  test::ModelSpec spec;
  spec.model = "final.safetensors";
  test::write_run(dir / "out/9-final", spec);
  const auto result = test::aggregate({dir / "out", "-o", dir / "other.csv", "--x", "number"});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.err.find(dir / "out/9-final: model name 'final.safetensors' holds no number"),
            std::string::npos)
      << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "other.csv"));
}

TEST(AggregatePlots, IndexFallsBackToTableOrder) {
  test::TempDir dir;
  test::ModelSpec spec;
  test::write_run(dir / "out/alpha", spec);
  test::write_run(dir / "out/beta", spec);
  const auto result = test::aggregate({dir / "out", "-o", dir / "t.csv"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.err.find("warning: not every run directory is named <i>-<slug>"),
            std::string::npos);
  const std::string svg = test::read_file(dir / "t-significant.svg");
  EXPECT_NE(svg.find(">run (position in the table, from 0)</text>"), std::string::npos);
  EXPECT_EQ(polyline_lengths(svg), (std::vector<std::size_t>{2, 2}));
  // --x order says so itself, without a warning.
  const auto ordered = test::aggregate({dir / "out", "-o", dir / "t.csv", "--x", "order"});
  EXPECT_EQ(ordered.err.find("warning"), std::string::npos) << ordered.err;
}

TEST(AggregatePlots, DifferentArchitecturesGetTheirOwnLines) {
  test::TempDir dir;
  test::ModelSpec a;
  test::write_run(dir / "out/0-a", a);
  test::ModelSpec b;
  b.layers = {"fc1.weight", "fc2.weight", "head.weight"};
  test::write_run(dir / "out/1-b", b);
  const Plots plots = aggregate_plots(dir);
  // fc1->fc2 is shared (one line of two runs), fc2->fc3 and fc2->head have one run each: a
  // marker but no line.
  EXPECT_EQ(test::count(plots.significant, "<g class=\"series\""), 3u);
  EXPECT_EQ(polyline_lengths(plots.significant), (std::vector<std::size_t>{2}));
  EXPECT_EQ(points(plots.significant), 4u);
  EXPECT_NE(plots.significant.find(">pair 1: fc2 \u2192 head</text>"), std::string::npos);
}

TEST(AggregatePlots, SingleRunAndManySeries) {
  test::TempDir dir;
  test::ModelSpec spec;
  spec.layers.clear();
  spec.significant.clear();
  spec.entropy_normalized.clear();
  for (int l = 0; l < 12; ++l) {
    spec.layers.push_back("a.very.long.module.path.block" + std::to_string(l) + ".conv.weight");
    if (l > 0) {
      spec.significant.push_back(l);
      spec.entropy_normalized.push_back(0.5);
    }
  }
  test::write_run(dir / "out/0-only", spec);
  const Plots plots = aggregate_plots(dir);
  EXPECT_EQ(test::xml_problem(plots.significant), "");
  EXPECT_EQ(polylines(plots.significant), 0u);
  EXPECT_EQ(points(plots.significant), 11u);
  // Beyond seven colours the dash pattern changes; long labels are shortened in the middle.
  EXPECT_EQ(test::count(plots.significant, "stroke-dasharray=\"6 3\""), 4u);
  EXPECT_NE(plots.significant.find("\u2026"), std::string::npos);
  // Constant entropy 0.5 still gets a y range around it.
  EXPECT_EQ(test::xml_problem(plots.entropy), "");
  EXPECT_NE(plots.entropy.find(">0.5</text>"), std::string::npos);
}

TEST(AggregatePlots, SameInputSameBytes) {
  test::TempDir dir;
  make_sweep(dir / "out");
  const Plots first = aggregate_plots(dir);
  const std::string table = test::read_file(dir / "sweep.csv");
  const std::string models = test::read_file(dir / "sweep-models.csv");
  const Plots second = aggregate_plots(dir);
  EXPECT_EQ(first.significant, second.significant);
  EXPECT_EQ(first.entropy, second.entropy);
  EXPECT_EQ(first.models, second.models);
  EXPECT_EQ(table, test::read_file(dir / "sweep.csv"));
  EXPECT_EQ(models, test::read_file(dir / "sweep-models.csv"));
}

TEST(AggregatePlots, NoPlotWritesTablesOnly) {
  test::TempDir dir;
  make_sweep(dir / "out");
  ASSERT_EQ(test::aggregate({dir / "out", "-o", dir / "t.csv", "--no-plot"}).code, 0);
  EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"out", "t-models.csv", "t.csv"}));
}

}  // namespace
}  // namespace svr
