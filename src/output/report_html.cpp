// report.html: one self-contained page about an SVR (docs/plots.md). No external resource of any
// kind: CSS, script, the plot (inline SVG) and the heatmaps (canvas filled from base64 data in
// the page) all live in the file, so it opens offline and can be mailed as is.
#include "svr/output/report_html.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "result_checks.hpp"
#include "svr/output/format.hpp"
#include "svr/output/plot_common.hpp"
#include "svr/output/plot_svg.hpp"
#include "svr/output/text_file.hpp"

namespace svr {

namespace {

using output::short_number;
using output::xml_escape;

constexpr Eigen::Index kHeatmapMax = 256;  // larger pairs are shown by block maxima

std::string base64(const std::vector<std::uint8_t>& bytes) {
  static const char* const alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const std::uint32_t v = bytes[i] << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// A table cell holding a number: a short form to read, the exact value (as in summary.json)
// in the tooltip.
std::string number_cell(double x) {
  if (std::isnan(x)) return "<td class=\"num\">\u2013</td>";
  return "<td class=\"num\" title=\"" + output::format_double(x) + "\">" + short_number(x) +
         "</td>";
}

std::string int_cell(std::int64_t x) { return "<td class=\"num\">" + std::to_string(x) + "</td>"; }

std::string text_cell(const std::string& text, const char* cls = nullptr) {
  std::string out = "<td";
  if (cls) out += std::string(" class=\"") + cls + "\"";
  return out + ">" + xml_escape(text) + "</td>";
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out;
  for (std::size_t k = 0; k < shape.size(); ++k) {
    if (k) out += " \u00d7 ";
    out += std::to_string(shape[k]);
  }
  return out.empty() ? "scalar" : out;
}

std::string null_text(const PairResult& pair) {
  switch (pair.null_kind) {
    case NullKind::Beta:
      return "Beta(" + short_number(pair.beta_a) + ", " + short_number(pair.beta_b) + ")";
    case NullKind::Untestable:
      return "untestable (c = 1)";
    case NullKind::Simulated:
      return "simulated (" + std::to_string(pair.simulation_draws) + " draws)";
    case NullKind::ChiSquare:
      return "\u03c7\u00b2 rule, E \u2265 " + short_number(pair.e_threshold);
  }
  return "?";
}

const char* kStyle = R"CSS(
:root { --ink: #1b1b1b; --muted: #5a5a5a; --rule: #d9d9d9; --band: #f4f6f8; --accent: #08519c; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #ffffff;
  font: 15px/1.5 "DejaVu Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 34px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 15px; margin: 0 0 6px; }
p, li { max-width: 78ch; }
.meta { color: var(--muted); margin: 0 0 12px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
.card { background: var(--band); border-radius: 6px; padding: 6px 12px; min-width: 110px; }
.card b { display: block; font-size: 18px; }
.card span { color: var(--muted); font-size: 12px; }
.plot-scroll { overflow-x: auto; border: 1px solid var(--rule); border-radius: 6px; }
.plot-scroll svg { display: block; }
.caption { color: var(--muted); font-size: 13px; margin-top: 6px; }
.table-scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 4px; }
th, td { padding: 3px 9px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
tbody tr:hover { background: #fbf3ea; }
.heatmaps { display: flex; flex-wrap: wrap; gap: 22px; }
figure.heatmap { margin: 0; max-width: 330px; }
figure.heatmap canvas { display: block; image-rendering: pixelated; border: 1px solid #9a9a9a; }
figure.heatmap figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
.ramp { display: inline-block; width: 110px; height: 9px; vertical-align: middle; border: 1px solid #9a9a9a;
  background: linear-gradient(to right, #ffffff, #deebf7, #9ecae1, #4292c6, #08519c, #08306b); }
.readout { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; min-height: 1.5em; }
code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { white-space: pre-wrap; word-break: break-all; background: var(--band); padding: 8px; border-radius: 4px; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 13px; }
dl.run dt { color: var(--muted); }
dl.run dd { margin: 0; }
)CSS";

// Fills every canvas.heatmap from its base64 bytes (0..255 = E / max E of the pair) with the
// same light-to-dark blue ramp as the legend, shows the value under the pointer, and marks the
// page as ready for the render test.
const char* kScript = R"JS(
(function () {
  "use strict";
  var stops = [[255, 255, 255], [222, 235, 247], [158, 202, 225], [66, 146, 198], [8, 81, 156], [8, 48, 107]];
  var lut = new Uint8ClampedArray(256 * 3);
  for (var v = 0; v < 256; v++) {
    var x = v / 255 * (stops.length - 1), k = Math.min(Math.floor(x), stops.length - 2), f = x - k;
    for (var ch = 0; ch < 3; ch++) lut[3 * v + ch] = Math.round(stops[k][ch] + (stops[k + 1][ch] - stops[k][ch]) * f);
  }
  var canvases = document.querySelectorAll("canvas.heatmap");
  for (var n = 0; n < canvases.length; n++) {
    (function (canvas) {
      var w = +canvas.dataset.w, h = +canvas.dataset.h, bx = +canvas.dataset.bx, by = +canvas.dataset.by;
      var emax = +canvas.dataset.emax, bytes = atob(canvas.dataset.e);
      if (bytes.length !== w * h) throw new Error("heatmap data of " + canvas.id + " has the wrong size");
      var ctx = canvas.getContext("2d"), img = ctx.createImageData(w, h);
      for (var p = 0; p < w * h; p++) {
        var b = bytes.charCodeAt(p);
        img.data[4 * p] = lut[3 * b]; img.data[4 * p + 1] = lut[3 * b + 1];
        img.data[4 * p + 2] = lut[3 * b + 2]; img.data[4 * p + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      var readout = document.getElementById(canvas.id + "-readout");
      canvas.addEventListener("mousemove", function (ev) {
        var rect = canvas.getBoundingClientRect();
        var i = Math.min(w - 1, Math.floor((ev.clientX - rect.left) / rect.width * w));
        var j = Math.min(h - 1, Math.floor((ev.clientY - rect.top) / rect.height * h));
        var e = bytes.charCodeAt(j * w + i) / 255 * emax;
        var rows = by > 1 ? "j " + j * by + "\u2013" + ((j + 1) * by - 1) : "j " + j;
        var cols = bx > 1 ? "i " + i * bx + "\u2013" + ((i + 1) * bx - 1) : "i " + i;
        readout.textContent = rows + ", " + cols + ": E \u2248 " + e.toPrecision(3);
      });
    })(canvases[n]);
  }
  document.body.dataset.ready = "1";
})();
)JS";

void explanation(std::string& out, const SvrResult& r, const PlotOptions& o) {
  out += R"HTML(<section id="explain">
<h2>How to read this page</h2>
<p>Every layer of a neural network multiplies its input by a weight matrix. The singular value
decomposition splits that matrix into independent parts, called <em>spectral neurons</em>: each
one reads one direction of the layer's input, multiplies it by a number <i>s</i> (its
<em>singular value</em>) and writes one direction of the layer's output. A large <i>s</i> means
the layer strongly amplifies that direction; a tiny one means the layer almost discards it.</p>
<p>The <em>Singular Value Representation</em> (SVR) turns the network into a graph of these
spectral neurons. Between two consecutive layers, a spectral neuron of the first layer writes a
direction and a spectral neuron of the second layer reads one. Their overlap <i>E</i> lies
between 0 (unrelated) and 1 (the same direction). If the two were unrelated, as in a freshly
initialised random network, <i>E</i> would be about 1/<i>c</i> (<i>c</i> = number of channels
between the layers). Each overlap gets a <em>p-value</em>: the probability of an overlap at least
this large by chance alone. The p-values are then corrected because many edges are tested at
once ()HTML";
  out += xml_escape(output::correction_label(o.significance));
  out += R"HTML(). An edge that passes is <em>significant</em>: a connection that training
created, not one that chance explains.</p>
<ul>
<li><b>The plot</b>: one column per layer, input on the left, output on the right. Each dot is a
spectral neuron, placed at the height of its singular value. Darker dots have a higher
<em>intensity</em> (0 to 1): they start more, and stronger, above-chance connections to the next
layer. Hollow purple dots are <em>near-kernel</em>: their singular value is so small that the
layer practically removes that direction.</li>
<li><b>Grey lines</b> are significant edges; the darker and thicker, the smaller their p-value.
Only the strongest edges of each layer pair are drawn when there are many (the caption says
how many).</li>
<li><b>Orange bands</b> are <em>dominant chains</em>: paths of significant edges through three
or more consecutive layers, the longest and strongest first. They are the main routes
information takes through the network.</li>
<li><b>The heatmaps</b> show <i>E</i> for every pair of spectral neurons of two consecutive
layers. A few dark cells in the top-left corner mean the strongest directions of one layer feed
the strongest of the next; a uniform pale map means the layers are unrelated.</li>
)HTML";
  if (output::has_skip_pairs(r)) {
    out += R"HTML(<li><b>This network is a graph</b>, not a chain: a layer may read the output of
several earlier layers (residual additions, concatenations, branches). The columns follow a
topological order (every layer after the layers it reads), and "consecutive" above means a
<em>pair</em>: a layer and a layer that reads its output. The edges of a pair whose layers are
not neighbouring columns are drawn as <b>arcs</b> above the plot, higher the more columns they
skip; a chain through such a pair follows the arc.</li>
)HTML";
  }
  out += "</ul>\n</section>\n";
}

void cards(std::string& out, const SvrResult& r) {
  std::int64_t neurons = 0, near_kernel = 0, tested = 0, significant = 0;
  for (const LayerResult& layer : r.layers) {
    neurons += layer.sigma.size();
    near_kernel += layer.near_kernel_count();
  }
  for (const PairResult& pair : r.pairs) {
    tested += pair.edges_tested;
    significant += pair.significant;
  }
  auto card = [&](const std::string& value, const std::string& label, const std::string& tip) {
    out += "<div class=\"card\"";
    if (!tip.empty()) out += " title=\"" + tip + "\"";
    out += "><b>" + value + "</b><span>" + label + "</span></div>\n";
  };
  out += "<div class=\"cards\">\n";
  card(std::to_string(r.layers.size()), "layers", "");
  card(std::to_string(neurons), "spectral neurons", "");
  card(std::to_string(near_kernel), "near-kernel neurons", "");
  card(std::to_string(tested), "edges tested", "");
  card(std::to_string(significant), "significant edges", "");
  card(std::to_string(r.chains.size()), "dominant chains", "");
  card(short_number(r.log10_path_metric), "log10 path metric",
       std::isfinite(r.log10_path_metric) ? output::format_double(r.log10_path_metric) : "");
  card(short_number(r.log10_path_metric_unweighted), "same, without s",
       std::isfinite(r.log10_path_metric_unweighted)
           ? output::format_double(r.log10_path_metric_unweighted)
           : "");
  out += "</div>\n";
}

void chains_table(std::string& out, const SvrResult& r) {
  // A graph's chains run along pairs, not necessarily neighbouring columns.
  const std::string layers =
      output::has_skip_pairs(r) ? "layers (pair by pair)" : "consecutive layers";
  out += "<section id=\"chains\">\n<h2>Dominant chains</h2>\n";
  if (r.chains.empty()) {
    out += "<p>No chain of significant edges spans three or more " + layers + ".</p>\n";
    out += "</section>\n";
    return;
  }
  out += "<p>Paths of significant edges through three or more " + layers +
         ", ranked by length, then by their weakest edge (the largest p-value along the path). "
         "<span class=\"mono\">n3</span> is spectral neuron 3 of its layer (0 = largest "
         "singular value).</p>\n<div class=\"table-scroll\"><table>\n<thead><tr><th>#</th>"
         "<th>from layer</th><th>to layer</th><th>length</th><th>spectral neurons</th>"
         "<th>weakest p</th><th>weakest log10 p</th></tr></thead>\n<tbody>\n";
  for (std::size_t c = 0; c < r.chains.size(); ++c) {
    const ChainResult& chain = r.chains[c];
    const auto length = static_cast<std::int64_t>(chain.neurons.size());
    const std::int64_t end = length > 0 ? chain.layer_at(chain.neurons.size() - 1) : chain.start_layer;
    bool consecutive = true;  // a chain network's chains: the neurons say it all
    for (std::size_t k = 0; k < chain.neurons.size(); ++k)
      consecutive = consecutive && chain.layer_at(k) == chain.start_layer + static_cast<int>(k);
    auto name_of = [&](std::int64_t l) {
      return l >= 0 && l < static_cast<std::int64_t>(r.layers.size())
                 ? r.layers[static_cast<std::size_t>(l)].name
                 : std::to_string(l);
    };
    std::string path;
    for (std::size_t k = 0; k < chain.neurons.size(); ++k) {
      path += (k ? " \u2192 n" : "n") + std::to_string(chain.neurons[k]);
      if (!consecutive) path += " (layer " + std::to_string(chain.layer_at(k)) + ")";
    }
    out += "<tr>" + int_cell(static_cast<std::int64_t>(c + 1)) +
           text_cell(std::to_string(chain.start_layer) + " " + name_of(chain.start_layer), "name") +
           text_cell(std::to_string(end) + " " + name_of(end), "name") + int_cell(length) +
           text_cell(path, "name") + "<td class=\"num\">" +
           output::power_of_ten(chain.weakest_log10_p) + "</td>" +
           number_cell(chain.weakest_log10_p) + "</tr>\n";
  }
  out += "</tbody></table></div>\n</section>\n";
}

void layers_table(std::string& out, const SvrResult& r) {
  out += "<section id=\"layers\">\n<h2>Layers</h2>\n<p>One row per layer in " +
         std::string(output::has_skip_pairs(r) ? "topological" : "chain") +
         " order (as "
         "<span class=\"mono\">layers</span> in summary.json; hover a number for its exact "
         "value). The matrix is the weight tensor reshaped to two dimensions; its rank bounds the "
         "number of spectral neurons, of which <i>kept</i> were used.</p>\n"
         "<div class=\"table-scroll\"><table>\n<thead><tr><th>#</th><th>name</th><th>kind</th>"
         "<th>tensor shape</th><th>matrix</th><th>rank</th><th>kept</th><th>s_max</th>"
         "<th>s_min</th><th>near-kernel</th><th>folded BatchNorm</th></tr></thead>\n<tbody>\n";
  for (std::size_t l = 0; l < r.layers.size(); ++l) {
    const LayerResult& layer = r.layers[l];
    const bool empty = layer.sigma.size() == 0;
    out += "<tr>" + int_cell(static_cast<std::int64_t>(l)) + text_cell(layer.name, "name") +
           text_cell(layer.kind) + text_cell(shape_text(layer.tensor_shape)) +
           text_cell(std::to_string(layer.rows) + " \u00d7 " + std::to_string(layer.cols)) +
           int_cell(layer.full_rank) + int_cell(layer.sigma.size()) +
           (empty ? std::string("<td></td><td></td>")
                  : number_cell(layer.largest_singular_value()) +
                        number_cell(layer.sigma.minCoeff())) +
           int_cell(layer.near_kernel_count()) +
           text_cell(layer.folded_bn.empty() ? "\u2013" : layer.folded_bn, "name") + "</tr>\n";
  }
  out += "</tbody></table></div>\n</section>\n";
}

void pairs_table(std::string& out, const SvrResult& r, const PlotOptions& o) {
  const bool graph = output::has_skip_pairs(r);
  out += "<section id=\"pairs\">\n<h2>Layer pairs</h2>\n<p>";
  out += graph ? "One row per pair: a layer (from) and a later layer that reads its output (to), "
                 "named by their index (the plot's column, from 0) and name "
               : "One row per pair of consecutive layers ";
  out +=
      "(as <span class=\"mono\">pairs</span> in summary.json). Map: how the later layer reads "
      "the earlier one's channels (direct, add, concat, split, permute); channels read: how "
      "many of them reach it. <i>c</i>: channels "
      "between the layers; <i>z</i>: positions per channel (kernel size, or the spatial size "
      "flattened before a linear layer); null law: the distribution of <i>E</i> if the layers "
      "were unrelated. Internal dimensions: how many leading spectral neurons of each side "
      "carry the above-chance overlap. Entropy of <i>E</i>: low when a few edges dominate "
      "(normalised: divided by its maximum, comparable across pairs).</p>\n"
      "<div class=\"table-scroll\"><table>\n<thead><tr><th>#</th><th>from</th><th>to</th>"
      "<th>map</th><th>channels<br>read</th>"
      "<th>c</th><th>z</th><th>null law</th><th>tested</th><th>significant</th>"
      "<th>reported</th><th>drawn</th><th>internal dims<br>(to, from)</th><th>entropy</th>"
      "<th>entropy<br>(normalised)</th></tr></thead>\n<tbody>\n";
  auto layer_name = [&](int l) {
    const std::string& name = r.layers[static_cast<std::size_t>(l)].name;
    return graph ? std::to_string(l) + " " + name : name;
  };
  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    const PairResult& pair = r.pairs[k];
    std::int64_t total = 0;
    const auto drawn =
        static_cast<std::int64_t>(output::plot_edges(pair, o.max_edges, total).size());
    out += "<tr>" + int_cell(static_cast<std::int64_t>(k)) +
           text_cell(layer_name(pair.from_layer), "name") +
           text_cell(layer_name(pair.to_layer), "name") + text_cell(pair.map) +
           int_cell(pair.channels_read) + int_cell(pair.c) + int_cell(pair.z) +
           text_cell(null_text(pair), "nowrap") + int_cell(pair.edges_tested) +
           int_cell(pair.significant) + int_cell(pair.edges_reported()) + int_cell(drawn) +
           "<td class=\"num\">" + std::to_string(pair.internal_dim_to) + ", " +
           std::to_string(pair.internal_dim_from) + "</td>" + number_cell(pair.entropy) +
           number_cell(pair.entropy_normalized) + "</tr>\n";
  }
  out += "</tbody></table></div>\n</section>\n";
}

void heatmaps(std::string& out, const SvrResult& r) {
  out +=
      "<section id=\"heatmaps\">\n<h2>Edge weights E per pair</h2>\n<p>Each map shows "
      "<i>E</i>[<i>j</i>, <i>i</i>] for one pair: columns <i>i</i> are the spectral neurons of "
      "the earlier layer, rows <i>j</i> those of the later one, both from the largest singular "
      "value (top left) to the smallest. Shade: <span class=\"ramp\"></span> from 0 to the "
      "largest <i>E</i> of the pair (linear). Point at a cell to read its value. Pairs with "
      "more than 256 neurons on a side are shown by block maxima (each cell is the largest "
      "<i>E</i> of a block), as the captions say.</p>\n<div class=\"heatmaps\">\n";
  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    const PairResult& pair = r.pairs[k];
    const LayerResult& from = r.layers[pair.from_layer];
    const LayerResult& to = r.layers[pair.to_layer];
    const EdgeHeatmap map = pair.E.size() > 0 ? edge_heatmap(pair.E) : pair.heatmap;
    const Eigen::Index rows = map.rows, cols = map.cols;
    const std::string title = "pair " + std::to_string(k) + ": " + xml_escape(from.name) +
                              " \u2192 " + xml_escape(to.name);
    out += "<figure class=\"heatmap\">\n<h3>" + title + "</h3>\n";
    if (rows == 0 || cols == 0 || rows != to.sigma.size() || cols != from.sigma.size() ||
        map.cells.size() != static_cast<std::size_t>(map.h * map.w)) {
      out += "<p class=\"caption\">E is not available for this pair.</p>\n</figure>\n";
      continue;
    }
    const Eigen::Index by = map.by, bx = map.bx, h = map.h, w = map.w;
    const double e_max = map.e_max;
    const std::vector<std::uint8_t>& bytes = map.cells;
    const Eigen::Index scale = std::max<Eigen::Index>(1, 256 / std::max(w, h));
    const std::string id = "heatmap-" + std::to_string(k);
    out += "<canvas class=\"heatmap\" id=\"" + id + "\" width=\"" + std::to_string(w) +
           "\" height=\"" + std::to_string(h) + "\" style=\"width:" + std::to_string(w * scale) +
           "px;height:" + std::to_string(h * scale) + "px\" data-w=\"" + std::to_string(w) +
           "\" data-h=\"" + std::to_string(h) + "\" data-bx=\"" + std::to_string(bx) +
           "\" data-by=\"" + std::to_string(by) + "\" data-emax=\"" + output::format_double(e_max) +
           "\" data-e=\"" + base64(bytes) + "\"></canvas>\n";
    out += "<div class=\"readout\" id=\"" + id + "-readout\"></div>\n<figcaption>" +
           std::to_string(rows) + " \u00d7 " + std::to_string(cols) + " (rows \u00d7 columns); " +
           "max E = " + short_number(e_max) + "; chance level 1/c = " +
           (pair.c > 0 ? short_number(1.0 / static_cast<double>(pair.c)) : std::string("\u2013")) +
           "; " + std::to_string(pair.significant) + " significant edges.";
    if (bx > 1 || by > 1) {
      out += " Reduced to " + std::to_string(h) + " \u00d7 " + std::to_string(w) +
             " by block maxima of " + std::to_string(by) + " \u00d7 " + std::to_string(bx) +
             " blocks.";
    }
    out += "</figcaption>\n</figure>\n";
  }
  out += "</div>\n</section>\n";
}

void run_section(std::string& out, const SvrResult& r) {
  out += "<section id=\"run\">\n<h2>Run</h2>\n<dl class=\"run\">\n";
  auto row = [&](const std::string& key, const std::string& value) {
    out += "<dt>" + key + "</dt><dd class=\"mono\">" + xml_escape(value) + "</dd>\n";
  };
  row("svr version", r.run.version);
  row("command line", r.run.command_line);
  row("input format", r.run.input_format);
  row("input SHA-256", r.run.input_sha256);
  row("MPI ranks", std::to_string(r.run.ranks));
  std::string phases;
  for (const auto& [name, seconds] : r.run.phase_totals()) {
    phases += (phases.empty() ? "" : ", ") + name + " " + short_number(seconds, 3) + " s";
  }
  if (!phases.empty()) row("time per phase", phases);
  row("peak memory", short_number(r.run.peak_memory_mb, 4) + " MB");
  out +=
      "</dl>\n<p class=\"caption\">The same numbers, and every option, are in summary.json; "
      "every spectral neuron is in nodes.csv and every reported edge in edges.csv.</p>\n"
      "</section>\n";
}

}  // namespace

EdgeHeatmap edge_heatmap(const Eigen::MatrixXd& E) {
  EdgeHeatmap map;
  map.rows = E.rows();
  map.cols = E.cols();
  if (map.rows == 0 || map.cols == 0) return map;
  map.by = (map.rows + kHeatmapMax - 1) / kHeatmapMax;
  map.bx = (map.cols + kHeatmapMax - 1) / kHeatmapMax;
  map.h = (map.rows + map.by - 1) / map.by;
  map.w = (map.cols + map.bx - 1) / map.bx;
  std::vector<double> block(static_cast<std::size_t>(map.w * map.h), 0.0);
  for (Eigen::Index i = 0; i < map.cols; ++i) {
    for (Eigen::Index j = 0; j < map.rows; ++j) {
      const double e = E(j, i);
      if (!std::isfinite(e)) continue;
      double& cell = block[static_cast<std::size_t>((j / map.by) * map.w + i / map.bx)];
      cell = std::max(cell, e);
      map.e_max = std::max(map.e_max, e);
    }
  }
  map.cells.resize(block.size());
  for (std::size_t p = 0; p < block.size(); ++p) {
    map.cells[p] = static_cast<std::uint8_t>(
        map.e_max > 0.0 ? std::lround(std::clamp(block[p] / map.e_max, 0.0, 1.0) * 255.0) : 0);
  }
  return map;
}

std::string render_report_html(const SvrResult& r, const PlotOptions& o) {
  output::check_nodes(r, "report.html");
  output::check_edges(r, "report.html");
  const std::string model = xml_escape(r.model_name);
  std::string out;
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>SVR report: " +
      model + "</title>\n<style>" + kStyle +
      "</style>\n</head>\n"
      "<body>\n<main>\n";
  out += "<h1>Singular Value Representation of " + model + "</h1>\n";
  out += "<p class=\"meta\">method " + to_string(o.method) + " \u00b7 BatchNorm " +
         to_string(o.batchnorm) + " \u00b7 " + xml_escape(output::correction_label(o.significance)) +
         " \u00b7 near-kernel \u03c4 = " + short_number(o.near_kernel_tau) + " \u00b7 svr " +
         xml_escape(r.run.version) + "</p>\n";
  cards(out, r);
  out += "<section id=\"plot\">\n<h2>The SVR plot</h2>\n<div class=\"plot-scroll\">\n";
  out += render_svr_svg(r, o, false);
  std::int64_t significant = 0, drawn = 0;
  for (const PairResult& pair : r.pairs) {
    std::int64_t total = 0;
    drawn += static_cast<std::int64_t>(output::plot_edges(pair, o.max_edges, total).size());
    significant += total;
  }
  out += "</div>\n<p class=\"caption\">The same picture is in svr.svg. y axis: singular value, " +
         std::string(o.log_scale ? "log" : "linear") + " scale. " + std::to_string(drawn) + " of " +
         std::to_string(significant) + " significant edges drawn (at most " +
         std::to_string(o.max_edges) +
         " per pair, the smallest p-values). Point at a dot "
         "or a line for its values." +
         (output::has_skip_pairs(r) ? std::string(" Arcs: edges of pairs whose layers are not "
                                                  "neighbouring columns (the network is a graph).")
                                    : std::string()) +
         "</p>\n</section>\n";
  explanation(out, r, o);
  chains_table(out, r);
  layers_table(out, r);
  pairs_table(out, r, o);
  heatmaps(out, r);
  run_section(out, r);
  out += "</main>\n<script>" + std::string(kScript) + "</script>\n</body>\n</html>\n";
  return out;
}

void write_report_html(const std::string& path, const SvrResult& r, const PlotOptions& o) {
  output::check_nodes(r, path);
  output::check_edges(r, path);
  const std::string html = render_report_html(r, o);
  output::TextFile file(path);
  file.write(html);
  file.close();
}

}  // namespace svr
