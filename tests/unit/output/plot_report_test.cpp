// report.html: self-contained (no external reference of any kind), escapes names, holds the plot,
// the tables with the numbers of summary.json, the chains, and heatmaps reduced by block maxima.
#include <regex>

#include "svr/core/error.hpp"
#include "svr/output/report_html.hpp"
#include "test_support.hpp"

namespace svr {
namespace {

using test::count;

std::string section(const std::string& html, const std::string& id) {
  const std::size_t begin = html.find("<section id=\"" + id + "\">");
  if (begin == std::string::npos) return "";
  return html.substr(begin, html.find("</section>", begin) - begin);
}

std::vector<unsigned char> unbase64(const std::string& text) {
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<unsigned char> out;
  unsigned value = 0;
  int bits = 0;
  for (char ch : text) {
    if (ch == '=') break;
    const auto at = alphabet.find(ch);
    EXPECT_NE(at, std::string::npos) << "not base64: " << ch;
    value = (value << 6) | static_cast<unsigned>(at);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>((value >> bits) & 0xFF));
    }
  }
  return out;
}

// The value of attribute `name` of the first element starting with `element_start` (a plain
// scan: std::regex recurses per character and overflows the stack on long base64 values).
std::string attribute(const std::string& html, const std::string& element_start,
                      const std::string& name) {
  const std::size_t at = html.find(element_start);
  if (at == std::string::npos) return "";
  const std::size_t end = html.find('>', at);
  const std::size_t key = html.find(" " + name + "=\"", at);
  if (key == std::string::npos || key > end) return "";
  const std::size_t begin = key + name.size() + 3;
  return html.substr(begin, html.find('"', begin) - begin);
}

TEST(ReportHtml, SelfContained) {
  SvrResult r = test::sample_result();
  const std::string html = render_report_html(r, PlotOptions{});
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n<html lang=\"en\">", 0), 0u);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_FALSE(std::regex_search(html, std::regex("(src|href)\\s*=", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex("@import|<link|<iframe|<img", std::regex::icase)));
  // CSS url() only to fragments of the page itself (the SVG gradient).
  for (std::size_t at = html.find("url("); at != std::string::npos; at = html.find("url(", at + 1))
    EXPECT_EQ(html[at + 4], '#') << html.substr(at, 40);
  EXPECT_EQ(count(html, "<script>"), 1u);
  EXPECT_NE(html.find("document.body.dataset.ready = \"1\""), std::string::npos);
  // A URL in the user's data (the command line) is text, never a reference.
  r.run.command_line = "svr https://example.org/m.pth -o out";
  const std::string with_url = render_report_html(r, PlotOptions{});
  EXPECT_FALSE(std::regex_search(with_url, std::regex("(src|href)\\s*=", std::regex::icase)));
}

TEST(ReportHtml, HoldsThePlotAndTheTables) {
  const SvrResult r = test::sample_result();
  const std::string html = render_report_html(r, PlotOptions{});
  EXPECT_EQ(count(html, "<svg class=\"svr-plot\""), 1u);
  EXPECT_EQ(count(html, "<circle class=\"node"), 8u);
  EXPECT_EQ(count(html, "<line class=\"edge\""), 2u);
  EXPECT_NE(html.find("How to read this page"), std::string::npos);

  const std::string layers = section(html, "layers");
  EXPECT_EQ(count(layers, "<tr>"), 1u + 3u);  // header + one row per layer
  EXPECT_NE(layers.find("<td class=\"num\" title=\"3\">3</td>"), std::string::npos);  // s_max
  EXPECT_NE(layers.find("title=\"0.01\""), std::string::npos);                        // s_min
  EXPECT_NE(layers.find("title=\"1e-300\""), std::string::npos);  // exact, as in summary.json
  EXPECT_NE(layers.find("features.1"), std::string::npos);        // folded BN

  const std::string pairs = section(html, "pairs");
  EXPECT_EQ(count(pairs, "<tr>"), 1u + 2u);
  EXPECT_NE(pairs.find("title=\"1.25\""), std::string::npos);  // entropy of pair 0
  EXPECT_NE(pairs.find("untestable"), std::string::npos);
  EXPECT_NE(pairs.find("Beta(0.5, 1)"), std::string::npos);

  const std::string chains = section(html, "chains");
  EXPECT_EQ(count(chains, "<tr>"), 1u + 1u);
  EXPECT_NE(chains.find("n0 \u2192 n0 \u2192 n1"), std::string::npos);
  EXPECT_NE(chains.find("1e-700"), std::string::npos);
  EXPECT_FALSE(test::contains_nan(html));
}

TEST(ReportHtml, GraphPairsNamedByTheirLayersWithMapAndChannelsRead) {
  SvrResult r = test::sample_result();
  PairResult skip;  // layer 2 also reads layer 0: a pair that skips a column
  skip.from_layer = 0;
  skip.to_layer = 2;
  skip.map = "concat";
  skip.channels_read = 2;
  skip.c = 5;
  skip.z = 1;
  skip.E = Eigen::MatrixXd::Constant(2, 3, 0.2);
  skip.edges = {{1, 0, 0.7, -5.0, -4.0, true}};
  skip.significant = 1;
  skip.edges_tested = 6;
  r.pairs.push_back(skip);
  r.pairs[0].channels_read = 3;
  const std::string html = render_report_html(r, PlotOptions{});
  EXPECT_EQ(count(html, "<path class=\"edge arc\""), 1u);

  const std::string pairs = section(html, "pairs");
  EXPECT_EQ(count(pairs, "<tr>"), 1u + 3u);
  EXPECT_NE(pairs.find("<th>map</th><th>channels<br>read</th>"), std::string::npos);
  // Each pair by its two layers (index and name), then map and channels read.
  EXPECT_NE(pairs.find("<td class=\"name\">0 features.0,weight</td><td class=\"name\">2 "
                       "zero.weight</td><td>concat</td><td class=\"num\">2</td>"
                       "<td class=\"num\">5</td>"),
            std::string::npos);
  EXPECT_NE(pairs.find("<td class=\"name\">0 features.0,weight</td><td class=\"name\">1 "
                       "classifier.&quot;1&quot;.weight</td><td>direct</td>"
                       "<td class=\"num\">3</td><td class=\"num\">3</td>"),
            std::string::npos);
  const std::string heatmaps = section(html, "heatmaps");
  EXPECT_NE(heatmaps.find("<h3>pair 2: features.0,weight \u2192 zero.weight</h3>"),
            std::string::npos);
  EXPECT_NE(section(html, "explain").find("This network is a graph"), std::string::npos);
  EXPECT_NE(section(html, "chains").find("three or more layers (pair by pair)"), std::string::npos);
  EXPECT_NE(section(html, "layers").find("in topological order"), std::string::npos);
  EXPECT_NE(section(html, "plot").find("Arcs: edges of pairs"), std::string::npos);

  // A chain network: the same columns, no index before the names, none of the graph's text.
  const std::string chain = render_report_html(test::sample_result(), PlotOptions{});
  EXPECT_NE(section(chain, "pairs")
                .find("<td class=\"name\">features.0,weight</td>"
                      "<td class=\"name\">classifier.&quot;1&quot;.weight"
                      "</td><td>direct</td><td class=\"num\">0</td>"),
            std::string::npos);
  EXPECT_EQ(chain.find("This network is a graph"), std::string::npos);
  EXPECT_EQ(chain.find("edge arc"), std::string::npos);
  EXPECT_EQ(chain.find("Arcs:"), std::string::npos);
  EXPECT_NE(section(chain, "chains").find("three or more consecutive layers"), std::string::npos);
  EXPECT_NE(section(chain, "layers").find("in chain order"), std::string::npos);
}

TEST(ReportHtml, EscapesNames) {
  SvrResult r = test::sample_result();
  r.model_name = "<img src=x onerror=alert(1)>.pth";
  r.layers[2].name = "a&b<script>alert(1)</script>";
  const std::string html = render_report_html(r, PlotOptions{});
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(count(html, "<script>"), 1u);  // only the page's own
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;.pth"), std::string::npos);
  EXPECT_NE(html.find("a&amp;b&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("classifier.&quot;1&quot;.weight"), std::string::npos);
}

TEST(ReportHtml, HeatmapsOfLargePairsUseBlockMaxima) {
  SvrResult r = test::sample_result();
  // Pair 0 becomes 600 x 300 (rows x columns): blocks of 3 x 2, a 200 x 150 map.
  LayerResult& a = r.layers[0];
  LayerResult& b = r.layers[1];
  a.sigma = Eigen::VectorXd::LinSpaced(300, 3.0, 1.0);
  b.sigma = Eigen::VectorXd::LinSpaced(600, 2.0, 1.0);
  for (LayerResult* layer : {&a, &b}) {
    const auto n = static_cast<std::size_t>(layer->sigma.size());
    layer->cluster.assign(n, 0);
    layer->near_kernel.assign(n, false);
    layer->intensity.assign(n, 0.5);
  }
  r.pairs[0].E = Eigen::MatrixXd::Constant(600, 300, 0.001);
  r.pairs[0].E(301, 77) = 0.5;   // block (100, 38)
  r.pairs[0].E(5, 299) = 0.25;   // block (1, 149)
  r.pairs[1].E = Eigen::MatrixXd::Constant(2, 600, 0.5);
  r.chains.clear();
  const std::string html = render_report_html(r, PlotOptions{});
  const std::string start = "<canvas class=\"heatmap\" id=\"heatmap-0\"";
  EXPECT_EQ(attribute(html, start, "data-w"), "150");
  EXPECT_EQ(attribute(html, start, "data-h"), "200");
  EXPECT_EQ(attribute(html, start, "data-bx"), "2");
  EXPECT_EQ(attribute(html, start, "data-by"), "3");
  EXPECT_EQ(attribute(html, start, "data-emax"), "0.5");
  const std::vector<unsigned char> bytes = unbase64(attribute(html, start, "data-e"));
  ASSERT_EQ(bytes.size(), 150u * 200u);
  EXPECT_EQ(bytes[100 * 150 + 38], 255);
  EXPECT_EQ(bytes[1 * 150 + 149], 128);  // 0.25 / 0.5 * 255 = 127.5, rounded
  EXPECT_EQ(bytes[0], 1);                // 0.001 / 0.5 * 255 = 0.51
  EXPECT_NE(html.find("by block maxima of 3 \u00d7 2 blocks"), std::string::npos);
  // Pair 1 (2 x 600): only the columns are reduced.
  const std::string start1 = "<canvas class=\"heatmap\" id=\"heatmap-1\"";
  EXPECT_EQ(attribute(html, start1, "data-w"), "200");
  EXPECT_EQ(attribute(html, start1, "data-h"), "2");
  // Small pairs keep one cell per entry and say nothing about blocks.
  const std::string small = render_report_html(test::sample_result(), PlotOptions{});
  EXPECT_EQ(attribute(small, start, "data-w"), "3");
  EXPECT_EQ(small.find("block maxima of"), std::string::npos);
  // The maps stay small: 150 x 200 + 2 x 200 bytes as base64, not 180 000 numbers.
  EXPECT_LT(section(html, "heatmaps").size(), 50000u);
}

TEST(ReportHtml, SameInputSameBytesAndErrorsNameTheFile) {
  test::TempDir dir;
  write_report_html(dir / "a.html", test::sample_result(), PlotOptions{});
  write_report_html(dir / "b.html", test::sample_result(), PlotOptions{});
  EXPECT_EQ(test::read_file(dir / "a.html"), test::read_file(dir / "b.html"));
  const std::string path = dir.path() + "/missing/report.html";
  try {
    write_report_html(path, test::sample_result(), PlotOptions{});
    FAIL() << "no error";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace svr
