// svr.svg: the SVR as a figure (docs/plots.md). Everything is computed from the SvrResult and
// the options only, in a fixed order, with fixed-precision coordinates: same input, same bytes.
#include "svr/output/plot_svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "result_checks.hpp"
#include "svr/output/format.hpp"
#include "svr/output/plot_common.hpp"
#include "svr/output/text_file.hpp"

namespace svr {

namespace {

using output::px;

// Colour-blind-safe choices: a single-hue sequential ramp (ColorBrewer Blues) for the intensity
// of the dots, greys for the edges, and Okabe-Ito vermillion / reddish purple for the chains and
// the near-kernel marker, which differ from the ramps in lightness and shape as well as in hue.
struct Rgb {
  double r, g, b;
};
constexpr Rgb kIntensityRamp[] = {{0xc6, 0xdb, 0xef}, {0x9e, 0xca, 0xe1}, {0x6b, 0xae, 0xd6},
                                  {0x31, 0x82, 0xbd}, {0x08, 0x51, 0x9c}, {0x08, 0x30, 0x6b}};
constexpr Rgb kEdgeWeak = {0x8c, 0x8c, 0x8c};
constexpr Rgb kEdgeStrong = {0x1a, 0x1a, 0x1a};
constexpr const char* kChainColour = "#d55e00";
constexpr const char* kNearKernelColour = "#cc79a7";
constexpr const char* kAxisColour = "#444444";
constexpr const char* kGridColour = "#e6e6e6";
constexpr const char* kFont = "DejaVu Sans, Helvetica, Arial, sans-serif";

constexpr double kLabelFont = 11.0;
constexpr double kCharWidth = 6.4;  // average advance of kLabelFont-px sans-serif text
constexpr std::size_t kMaxLabelChars = 28;
constexpr double kPlotHeight = 520.0;
constexpr double kLegendWidth = 230.0;
constexpr double kRelativeFloor = 1e-12;       // log axis: s below this * max s sits on the bottom
constexpr std::size_t kNodeTitleLimit = 4000;  // tooltips per dot only for small networks

std::string hex(const Rgb& c) {
  char buffer[8];
  auto channel = [](double v) { return static_cast<int>(std::lround(std::clamp(v, 0.0, 255.0))); };
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", channel(c.r), channel(c.g), channel(c.b));
  return buffer;
}

Rgb mix(const Rgb& a, const Rgb& b, double t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

double unit(double t) { return std::isfinite(t) ? std::clamp(t, 0.0, 1.0) : 0.0; }

std::string intensity_colour(double t) {
  constexpr int n = static_cast<int>(sizeof kIntensityRamp / sizeof kIntensityRamp[0]);
  const double x = unit(t) * (n - 1);
  const int k = std::min(static_cast<int>(x), n - 2);
  return hex(mix(kIntensityRamp[k], kIntensityRamp[k + 1], x - k));
}

// Cuts a label to kMaxLabelChars characters, keeping its end (the most specific part), on a
// UTF-8 character boundary.
std::string short_label(const std::string& name) {
  std::string label = output::layer_label(name);
  std::size_t chars = 0;
  for (unsigned char ch : label) chars += (ch & 0xC0) != 0x80;
  if (chars <= kMaxLabelChars) return label;
  std::size_t skip = chars - (kMaxLabelChars - 1), at = 0;
  while (at < label.size() && skip > 0) {
    ++at;
    while (at < label.size() && (static_cast<unsigned char>(label[at]) & 0xC0) == 0x80) ++at;
    --skip;
  }
  return "\u2026" + label.substr(at);
}

double text_width(const std::string& text, double font = kLabelFont) {
  std::size_t chars = 0;
  for (unsigned char ch : text) chars += (ch & 0xC0) != 0x80;
  return static_cast<double>(chars) * kCharWidth * font / kLabelFont;
}

// The y axis: log10 or linear, mapping [lo, hi] onto [y_bottom, y_top].
struct YAxis {
  bool log = true;
  double lo = 0.0, hi = 1.0;  // log: decades; linear: values
  double y_top = 0.0, y_bottom = 1.0;
  bool clamped = false;  // some positive or zero s lies below the log axis

  double y(double s) const {
    double v;
    if (log) {
      v = (s > 0.0 && std::isfinite(s)) ? std::log10(s) : lo;
      v = std::max(v, lo);
    } else {
      v = std::isfinite(s) ? s : hi;
    }
    const double t = (v - lo) / (hi - lo);
    return y_bottom - std::clamp(t, 0.0, 1.0) * (y_bottom - y_top);
  }
};

double nice_step(double span) {
  if (!(span > 0.0) || !std::isfinite(span)) return 1.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(span)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * magnitude >= span) return m * magnitude;
  }
  return 10.0 * magnitude;
}

YAxis make_y_axis(const SvrResult& r, bool log, double y_top, double y_bottom) {
  YAxis axis;
  axis.log = log;
  axis.y_top = y_top;
  axis.y_bottom = y_bottom;
  double s_max = 0.0;
  for (const LayerResult& layer : r.layers) {
    for (Eigen::Index i = 0; i < layer.sigma.size(); ++i) {
      if (std::isfinite(layer.sigma[i])) s_max = std::max(s_max, layer.sigma[i]);
    }
  }
  if (log) {
    if (!(s_max > 0.0)) {
      axis.lo = -1.0;
      axis.hi = 0.0;
      axis.clamped = true;
      return axis;
    }
    const double floor_value = s_max * kRelativeFloor;
    double s_min = s_max;
    for (const LayerResult& layer : r.layers) {
      for (Eigen::Index i = 0; i < layer.sigma.size(); ++i) {
        const double s = layer.sigma[i];
        if (s >= floor_value) {
          s_min = std::min(s_min, s);
        } else {
          axis.clamped = true;
        }
      }
    }
    axis.lo = std::floor(std::log10(s_min));
    axis.hi = std::ceil(std::log10(s_max));
    if (axis.hi - axis.lo < 1.0) axis.hi = axis.lo + 1.0;
  } else {
    const double step = nice_step(std::max(s_max, 1e-300) / 5.0);
    axis.lo = 0.0;
    axis.hi = s_max > 0.0 ? step * std::ceil(s_max / step - 1e-9) : 1.0;
    if (!(axis.hi > 0.0)) axis.hi = 1.0;
  }
  return axis;
}

struct DrawnEdge {
  std::size_t pair;
  const EdgeRecord* edge;
  double strength;
};

// Arcs: the edges of a pair whose layers are not adjacent columns (a graph's skip pairs) bow
// into a band above the plot area, the apex higher the more columns the pair spans.
constexpr double kArcLowest = 12.0;   // apex of a span-2 arc above the plot area
constexpr double kArcStep = 14.0;     // apex rise per further column spanned ...
constexpr double kArcRiseMax = 78.0;  // ... shared out when the spans are many
constexpr double kArcBandPad = 10.0;  // between the highest apex and the subtitle
constexpr double kArcFoot = 0.15;     // how far (fraction of the half span) an arc leans out
constexpr double kArcRound = 0.55;    // Bezier quarter-ellipse constant (roughly)

struct Layout {
  std::size_t n = 0;
  double spacing = 0.0, pad = 0.0;
  double left = 0.0, top = 0.0, plot_w = 0.0, plot_h = kPlotHeight;
  double width = 0.0, height = 0.0, legend_x = 0.0;
  bool rotated = false;
  std::size_t step = 1;
  double label_extent = 0.0;
  int max_span = 1;       // the most columns a pair spans; arcs when > 1
  double arc_step = 0.0;  // apex rise per column spanned beyond 2
  double x(std::size_t l) const { return left + pad + static_cast<double>(l) * spacing; }
  double bottom() const { return top + plot_h; }
  // The apex height of the arcs of a pair spanning `span` columns (span >= 2).
  double arc_apex(int span) const {
    return top - kArcLowest - arc_step * static_cast<double>(std::min(span, max_span) - 2);
  }
};

// The band above the plot area that the arcs of pairs spanning up to max_span columns need.
double arc_band(int max_span, double& step) {
  step = 0.0;
  if (max_span < 2) return 0.0;
  const double levels = static_cast<double>(max_span - 2);
  if (levels > 0.0) step = std::min(kArcStep, kArcRiseMax / levels);
  return kArcLowest + step * levels + kArcBandPad;
}

Layout make_layout(const std::vector<std::string>& labels, const std::string& title,
                   const std::string& subtitle, int max_span) {
  Layout lay;
  lay.n = labels.size();
  const double gaps = lay.n > 1 ? static_cast<double>(lay.n - 1) : 1.0;
  lay.spacing = std::clamp(720.0 / gaps, 7.0, 150.0);
  lay.pad = std::clamp(0.5 * lay.spacing, 14.0, 50.0);
  lay.plot_w = (lay.n > 1 ? (lay.n - 1) * lay.spacing : 0.0) + 2.0 * lay.pad;
  double widest = 0.0;
  for (const std::string& label : labels) widest = std::max(widest, text_width(label));
  lay.rotated = widest > lay.spacing - 8.0;
  if (lay.rotated) {
    // Neighbouring labels at 45 degrees are spacing / sqrt(2) apart; a line needs ~12 px.
    lay.step = static_cast<std::size_t>(std::max(1.0, std::ceil(17.0 / lay.spacing)));
    lay.label_extent = widest * std::sqrt(0.5) + 10.0;
  } else {
    lay.step = 1;
    lay.label_extent = 16.0;
  }
  lay.left = 78.0;
  if (lay.rotated) lay.left = std::max(lay.left, widest * std::sqrt(0.5) - lay.pad + 16.0);
  lay.top = 70.0;
  lay.max_span = max_span;
  lay.top += arc_band(max_span, lay.arc_step);
  lay.legend_x = lay.left + lay.plot_w + 28.0;
  lay.width = std::max({lay.legend_x + kLegendWidth, lay.left + text_width(title, 16.0) + 20.0,
                        lay.left + text_width(subtitle, 11.5) + 20.0});
  lay.height = lay.top + lay.plot_h + 12.0 + lay.label_extent + 34.0;
  lay.height = std::max(lay.height, lay.top + 330.0);
  return lay;
}

// Which layers get a tick label: every `step`-th from the first, and the last one (replacing
// the previous label when the two would collide).
std::vector<bool> labelled_layers(const Layout& lay) {
  std::vector<bool> shown(lay.n, false);
  if (lay.n == 0) return shown;
  std::size_t last_shown = 0;
  for (std::size_t l = 0; l < lay.n; l += lay.step) {
    shown[l] = true;
    last_shown = l;
  }
  const std::size_t last = lay.n - 1;
  if (!shown[last]) {
    if (last - last_shown < lay.step && last_shown != 0) shown[last_shown] = false;
    shown[last] = true;
  }
  return shown;
}

void text_element(std::string& out, double x, double y, const std::string& escaped,
                  const char* extra = "") {
  out += "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\"" + extra + ">" + escaped + "</text>\n";
}

std::string superscript_power(int k) {
  return "10<tspan dy=\"-5\" font-size=\"8\">" + std::string(k < 0 ? "\u2212" : "") +
         std::to_string(std::abs(k)) + "</tspan>";
}

void draw_y_axis(std::string& out, const Layout& lay, const YAxis& axis) {
  const double x0 = lay.left, x1 = lay.left + lay.plot_w;
  out += "<g class=\"yaxis\" font-size=\"10.5\" fill=\"#333333\">\n";
  auto tick = [&](double y, const std::string& label, bool major) {
    out += "<line x1=\"" + px(x0) + "\" y1=\"" + px(y) + "\" x2=\"" + px(x1) + "\" y2=\"" + px(y) +
           "\" stroke=\"" + kGridColour + "\" stroke-width=\"" + (major ? "1" : "0.5") + "\"/>\n";
    if (!major) return;
    out += "<line x1=\"" + px(x0 - 5) + "\" y1=\"" + px(y) + "\" x2=\"" + px(x0) + "\" y2=\"" +
           px(y) + "\" stroke=\"" + kAxisColour + "\"/>\n";
    text_element(out, x0 - 8, y + 3.5, label, " text-anchor=\"end\"");
  };
  if (axis.log) {
    const int lo = static_cast<int>(axis.lo), hi = static_cast<int>(axis.hi);
    const int step = std::max(1, static_cast<int>(std::ceil((hi - lo) / 10.0)));
    for (int k = lo; k <= hi; ++k) {
      if ((k - lo) % step == 0) tick(axis.y(std::pow(10.0, k)), superscript_power(k), true);
      if (hi - lo <= 4 && k < hi) {
        for (int m = 2; m <= 9; ++m) tick(axis.y(m * std::pow(10.0, k)), "", false);
      }
    }
  } else {
    const double step = nice_step(axis.hi / 5.0);
    const int count = static_cast<int>(std::lround(axis.hi / step));
    for (int k = 0; k <= count; ++k) {
      tick(axis.y(k * step), output::short_number(k * step, 6), true);
    }
  }
  const double mid = 0.5 * (lay.top + lay.bottom());
  const std::string title =
      std::string("singular value s") + (axis.log ? " (log scale)" : " (linear scale)");
  out += "<text class=\"ytitle\" transform=\"translate(" + px(lay.left - 56) + "," + px(mid) +
         ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" + title + "</text>\n";
  out += "</g>\n";
}

void draw_x_axis(std::string& out, const Layout& lay, const std::vector<std::string>& labels,
                 const std::vector<std::string>& full_names) {
  const std::vector<bool> shown = labelled_layers(lay);
  const double y0 = lay.bottom();
  out += "<g class=\"xaxis\" font-size=\"" + px(kLabelFont) + "\" fill=\"#333333\">\n";
  for (std::size_t l = 0; l < lay.n; ++l) {
    const double x = lay.x(l);
    if (lay.spacing >= 12.0 || shown[l]) {
      out += "<line x1=\"" + px(x) + "\" y1=\"" + px(lay.top) + "\" x2=\"" + px(x) + "\" y2=\"" +
             px(y0) + "\" stroke=\"" + kGridColour + "\" stroke-width=\"" +
             (shown[l] ? "1" : "0.5") + "\"/>\n";
    }
    out += "<line x1=\"" + px(x) + "\" y1=\"" + px(y0) + "\" x2=\"" + px(x) + "\" y2=\"" +
           px(y0 + (shown[l] ? 5.0 : 3.0)) + "\" stroke=\"" + kAxisColour + "\"/>\n";
    if (!shown[l]) continue;
    const std::string text = output::xml_escape(labels[l]);
    const std::string tooltip =
        "<title>layer " + std::to_string(l) + ": " + output::xml_escape(full_names[l]) + "</title>";
    if (lay.rotated) {
      out += "<text class=\"xlabel\" transform=\"translate(" + px(x + 3) + "," + px(y0 + 12) +
             ") rotate(-45)\" text-anchor=\"end\">" + tooltip + text + "</text>\n";
    } else {
      out += "<text class=\"xlabel\" x=\"" + px(x) + "\" y=\"" + px(y0 + 17) +
             "\" text-anchor=\"middle\">" + tooltip + text + "</text>\n";
    }
  }
  std::string title = lay.max_span >= 2 ? "layer (in topological order" : "layer (in chain order";
  if (lay.step > 1) title += "; one label per " + std::to_string(lay.step) + " layers";
  title += ")";
  text_element(out, lay.left + 0.5 * lay.plot_w, y0 + 12.0 + lay.label_extent + 18.0, title,
               " class=\"xtitle\" text-anchor=\"middle\" font-size=\"12\"");
  out += "</g>\n";
}

struct EdgeShading {
  double u_min = 0.0, u_max = 0.0;
  double t(double strength) const {
    if (std::isinf(strength)) return 1.0;
    if (!(u_max > u_min)) return 1.0;
    return unit((std::log1p(std::max(strength, 0.0)) - u_min) / (u_max - u_min));
  }
  std::string colour(double strength) const {
    return hex(mix(kEdgeWeak, kEdgeStrong, t(strength)));
  }
  double width(double strength) const { return 0.9 + 1.0 * t(strength); }
  double opacity(double strength) const { return 0.6 + 0.35 * t(strength); }
};

void edge_line(std::string& out, double x1, double y1, double x2, double y2,
               const EdgeShading& shade, double strength, const char* cls,
               const std::string& tooltip) {
  out += "<line";
  if (*cls) out += std::string(" class=\"") + cls + "\"";
  out += " x1=\"" + px(x1) + "\" y1=\"" + px(y1) + "\" x2=\"" + px(x2) + "\" y2=\"" + px(y2) +
         "\" stroke=\"" + shade.colour(strength) + "\" stroke-width=\"" +
         px(shade.width(strength)) + "\" stroke-opacity=\"" + px(shade.opacity(strength)) + "\"";
  if (tooltip.empty()) {
    out += "/>\n";
  } else {
    out += "><title>" + tooltip + "</title></line>\n";
  }
}

// Path data of an arc from (x0, y0) to (x3, y3) through its apex (midway, at height apex, above
// both ends): two cubic Bezier quarter-ellipses leaning out of the columns, monotonic in x and y,
// so that nothing of the arc lies above the apex. Starts with "C": the caller is at (x0, y0).
std::string arc_segment(double x0, double y0, double x3, double y3, double apex) {
  const double xm = 0.5 * (x0 + x3), h = xm - x0;
  return "C" + px(x0 + kArcFoot * h) + "," + px(y0 + kArcRound * (apex - y0)) + " " +
         px(xm - kArcRound * h) + "," + px(apex) + " " + px(xm) + "," + px(apex) + "S" +
         px(x3 - kArcFoot * h) + "," + px(y3 + kArcRound * (apex - y3)) + " " + px(x3) + "," +
         px(y3);
}

void edge_arc(std::string& out, double x0, double y0, double x3, double y3, double apex,
              const EdgeShading& shade, double strength, const char* cls,
              const std::string& tooltip) {
  out += "<path";
  if (*cls) out += std::string(" class=\"") + cls + "\"";
  out += " d=\"M" + px(x0) + "," + px(y0) + arc_segment(x0, y0, x3, y3, apex) +
         "\" fill=\"none\" stroke=\"" + shade.colour(strength) + "\" stroke-width=\"" +
         px(shade.width(strength)) + "\" stroke-opacity=\"" + px(shade.opacity(strength)) + "\"";
  if (tooltip.empty()) {
    out += "/>\n";
  } else {
    out += "><title>" + tooltip + "</title></path>\n";
  }
}

// The edges svr.svg draws: per pair the strongest plot_max_edges significant ones, globally
// ordered weakest first so that the strongest are painted last, on top.
struct EdgeSelection {
  std::vector<DrawnEdge> drawn;
  std::int64_t significant_total = 0;
  bool capped = false;  // some pair has more significant edges than it may draw
  EdgeShading shade;
};

// Shading spans log1p(strength) over the finite strengths drawn.
EdgeShading shading_of(const std::vector<DrawnEdge>& drawn) {
  EdgeShading shade;
  bool first = true;
  for (const DrawnEdge& d : drawn) {
    if (!std::isfinite(d.strength)) continue;
    const double u = std::log1p(std::max(d.strength, 0.0));
    shade.u_min = first ? u : std::min(shade.u_min, u);
    shade.u_max = first ? u : std::max(shade.u_max, u);
    first = false;
  }
  return shade;
}

EdgeSelection select_edges(const SvrResult& r, int max_edges) {
  EdgeSelection sel;
  for (std::size_t k = 0; k < r.pairs.size(); ++k) {
    std::int64_t total = 0;
    for (const EdgeRecord* edge : output::plot_edges(r.pairs[k], max_edges, total)) {
      sel.drawn.push_back({k, edge, output::edge_strength(*edge)});
    }
    sel.significant_total += total;
    sel.capped = sel.capped || total > max_edges;
  }
  std::stable_sort(sel.drawn.begin(), sel.drawn.end(),
                   [](const DrawnEdge& a, const DrawnEdge& b) { return a.strength < b.strength; });
  sel.shade = shading_of(sel.drawn);
  return sel;
}

// Everything the parts of the figure share, computed before any of them is drawn. The option
// values the parts need are copied here so that only make_figure reads Options.
struct Figure {
  std::vector<std::string> labels, names;  // short tick labels, full layer names
  bool graph = false;  // some pair skips columns (drawn as arcs); columns in topological order
  std::size_t total_nodes = 0, max_nodes = 0;
  EdgeSelection edges;
  std::string title, subtitle;
  Layout lay;
  YAxis axis;
  double radius = 0.0, chain_width = 0.0;
  int max_edges = 0;
  double near_kernel_tau = 0.0;
};

Figure make_figure(const SvrResult& r, const PlotOptions& o) {
  Figure fig;
  for (const LayerResult& layer : r.layers) {
    fig.labels.push_back(short_label(layer.name));
    fig.names.push_back(layer.name);
    fig.total_nodes += static_cast<std::size_t>(layer.sigma.size());
    fig.max_nodes = std::max(fig.max_nodes, static_cast<std::size_t>(layer.sigma.size()));
  }
  fig.edges = select_edges(r, o.max_edges);
  fig.title = "SVR of " + r.model_name;
  fig.subtitle = "method " + to_string(o.method) + " \u00b7 " + output::correction_label(o.significance) +
                 " \u00b7 " + std::to_string(r.layers.size()) + " layers \u00b7 " +
                 std::to_string(fig.total_nodes) + " spectral neurons \u00b7 " +
                 std::to_string(fig.edges.significant_total) + " significant edges";
  fig.graph = output::has_skip_pairs(r);
  int max_span = 1;
  for (const PairResult& pair : r.pairs) {
    max_span = std::max(max_span, pair.to_layer - pair.from_layer);
  }
  fig.lay = make_layout(fig.labels, fig.title, fig.subtitle, max_span);
  fig.axis = make_y_axis(r, o.log_scale, fig.lay.top + 8.0, fig.lay.bottom() - 8.0);

  // Dot radius from the pixel height a column offers to its neurons (4096 neurons: ~1 px), and
  // never wider than a third of the column spacing.
  const Layout& lay = fig.lay;
  fig.radius =
      std::clamp(0.9 * lay.plot_h / static_cast<double>(std::max<std::size_t>(fig.max_nodes, 1)),
                 std::min(1.0, 0.3 * lay.spacing), std::min(4.5, 0.3 * lay.spacing));
  fig.chain_width = std::clamp(2.0 * fig.radius + 2.0, 4.0, std::max(4.0, 0.5 * lay.spacing));
  fig.max_edges = o.max_edges;
  fig.near_kernel_tau = o.near_kernel_tau;
  return fig;
}

// The <svg> start tag, document title, intensity gradient, background, title and subtitle.
void draw_header(std::string& out, const Figure& fig, bool standalone) {
  const Layout& lay = fig.lay;
  if (standalone) out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg";
  if (standalone) out += " xmlns=\"http://www.w3.org/2000/svg\"";
  out += " class=\"svr-plot\" width=\"" + px(lay.width) + "\" height=\"" + px(lay.height) +
         "\" viewBox=\"0 0 " + px(lay.width) + " " + px(lay.height) + "\" font-family=\"" + kFont +
         "\" font-size=\"" + px(kLabelFont) + "\">\n";
  out += "<title>" + output::xml_escape(fig.title) + "</title>\n";
  out += "<defs><linearGradient id=\"svr-intensity-ramp\" x1=\"0\" x2=\"1\" y1=\"0\" y2=\"0\">";
  for (int k = 0; k <= 10; ++k) {
    out +=
        "<stop offset=\"" + px(k / 10.0) + "\" stop-color=\"" + intensity_colour(k / 10.0) + "\"/>";
  }
  out += "</linearGradient></defs>\n";
  out += "<rect class=\"background\" x=\"0\" y=\"0\" width=\"" + px(lay.width) + "\" height=\"" +
         px(lay.height) + "\" fill=\"#ffffff\"/>\n";
  text_element(out, lay.left, 28, output::xml_escape(fig.title),
               " class=\"title\" font-size=\"16\" font-weight=\"bold\" fill=\"#111111\"");
  text_element(out, lay.left, 48, output::xml_escape(fig.subtitle),
               " class=\"subtitle\" font-size=\"11.5\" fill=\"#444444\"");
}

// Dominant chains as wide translucent bands under the edges, the best one last (on top). A chain
// along adjacent columns is a polyline; one with a step across columns a path whose such steps
// are arcs, the same as the edges' (docs/plots.md).
void draw_chains(std::string& out, const SvrResult& r, const Figure& fig) {
  const std::size_t n = r.layers.size();
  out += "<g class=\"chains\" fill=\"none\" stroke=\"" + std::string(kChainColour) +
         "\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n";
  for (std::size_t c = r.chains.size(); c-- > 0;) {
    const ChainResult& chain = r.chains[c];
    std::string points, d;  // the polyline's points, the path's data
    bool arcs = false;
    std::size_t previous = 0;
    double x_previous = 0.0, y_previous = 0.0;
    std::string path_text, layer_text;  // "n1 → n4"; with layers "conv1 n1 → layer1.0.conv1 n4"
    bool consecutive = true;
    bool valid = chain.start_layer >= 0;
    for (std::size_t k = 0; valid && k < chain.neurons.size(); ++k) {
      const int layer = chain.layer_at(k);
      if (layer < 0) {
        valid = false;
        break;
      }
      const auto l = static_cast<std::size_t>(layer);
      if (l >= n || chain.neurons[k] < 0 || chain.neurons[k] >= r.layers[l].sigma.size()) {
        valid = false;
        break;
      }
      const double x = fig.lay.x(l), y = fig.axis.y(r.layers[l].sigma[chain.neurons[k]]);
      if (!points.empty()) points += ' ';
      points += px(x) + "," + px(y);
      if (k == 0) {
        d = "M" + px(x) + "," + px(y);
      } else if (l >= previous + 2) {
        arcs = true;
        consecutive = false;
        const double apex = fig.lay.arc_apex(static_cast<int>(l - previous));
        d += arc_segment(x_previous, y_previous, x, y, apex);
      } else {
        consecutive = consecutive && l == previous + 1;
        d += "L" + px(x) + "," + px(y);
      }
      previous = l;
      x_previous = x;
      y_previous = y;
      const std::string id = std::to_string(output::neuron_id(r.layers[l], chain.neurons[k]));
      path_text += (k ? " \u2192 " : "") + std::string("n") + id;
      layer_text += (k ? " \u2192 " : "") + output::xml_escape(fig.labels[l]) + " n" + id;
    }
    if (!valid || chain.neurons.size() < 2) continue;
    out += arcs ? "<path class=\"chain\" d=\"" + d : "<polyline class=\"chain\" points=\"" + points;
    out += "\" stroke-width=\"" + px(fig.chain_width) + "\" stroke-opacity=\"" +
           (c == 0 ? "0.6" : "0.28") + "\"><title>chain " + std::to_string(c + 1) + " from " +
           output::xml_escape(fig.labels[static_cast<std::size_t>(chain.start_layer)]) + ": " +
           (consecutive ? path_text : layer_text) +
           ", weakest p = " + output::power_of_ten(chain.weakest_log10_p) + "</title>" +
           (arcs ? "</path>\n" : "</polyline>\n");
  }
  out += "</g>\n";
}

void draw_edges(std::string& out, const SvrResult& r, const Figure& fig) {
  out += "<g class=\"edges\" stroke-linecap=\"round\">\n";
  for (const DrawnEdge& d : fig.edges.drawn) {
    const PairResult& pair = r.pairs[d.pair];
    const auto from = static_cast<std::size_t>(pair.from_layer);
    const auto to = static_cast<std::size_t>(pair.to_layer);
    const LayerResult& a = r.layers[from];
    const LayerResult& b = r.layers[to];
    const std::string tooltip = output::xml_escape(fig.labels[from]) + " n" +
                                std::to_string(output::neuron_id(a, d.edge->from_neuron)) +
                                " \u2192 " + output::xml_escape(fig.labels[to]) + " n" +
                                std::to_string(output::neuron_id(b, d.edge->to_neuron)) +
                                ": E = " + output::short_number(d.edge->e) +
                                ", p = " + output::power_of_ten(d.edge->log10_p) +
                                ", q = " + output::power_of_ten(d.edge->log10_q);
    const double x0 = fig.lay.x(from), y0 = fig.axis.y(a.sigma[d.edge->from_neuron]);
    const double x3 = fig.lay.x(to), y3 = fig.axis.y(b.sigma[d.edge->to_neuron]);
    if (to == from + 1) {
      edge_line(out, x0, y0, x3, y3, fig.edges.shade, d.strength, "edge", tooltip);
    } else {
      edge_arc(out, x0, y0, x3, y3, fig.lay.arc_apex(static_cast<int>(to - from)), fig.edges.shade,
               d.strength, "edge arc", tooltip);
    }
  }
  out += "</g>\n";
}

// One layer's dots, the least intense first so that intense dots stay visible.
void draw_layer_nodes(std::string& out, const LayerResult& layer, std::size_t l,
                      const Figure& fig) {
  const bool node_titles = fig.total_nodes <= kNodeTitleLimit;
  const std::string nk_stroke = px(std::max(0.6, 0.3 * fig.radius));
  // A thin dark outline keeps the palest dots visible on white; too dense below 1.5 px.
  const std::string dot_outline =
      fig.radius >= 1.5
          ? std::string(" stroke=\"#08306b\" stroke-opacity=\"0.45\" stroke-width=\"0.4\"")
          : std::string();
  std::vector<Eigen::Index> order(static_cast<std::size_t>(layer.sigma.size()));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<Eigen::Index>(i);
  std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) {
    return unit(layer.intensity[a]) < unit(layer.intensity[b]);
  });
  const std::string x = px(fig.lay.x(l));
  const double s_top = layer.largest_singular_value();
  out += "<g class=\"layer\" data-layer=\"" + std::to_string(l) + "\">\n";
  for (Eigen::Index i : order) {
    const bool nk = layer.near_kernel[i];
    out += nk ? "<circle class=\"node nk\"" : "<circle class=\"node\"";
    out += " cx=\"" + x + "\" cy=\"" + px(fig.axis.y(layer.sigma[i])) + "\" r=\"" + px(fig.radius) +
           "\"";
    if (nk) {
      out += std::string(" fill=\"#ffffff\" stroke=\"") + kNearKernelColour + "\" stroke-width=\"" +
             nk_stroke + "\"";
    } else {
      out += " fill=\"" + intensity_colour(layer.intensity[i]) + "\"" + dot_outline;
    }
    if (node_titles) {
      out += "><title>" + output::xml_escape(fig.labels[l]) + " n" +
             std::to_string(output::neuron_id(layer, i)) +
             ": s = " + output::short_number(layer.sigma[i]) +
             " (s/s_max = " + output::short_number(output::sigma_rel(layer.sigma[i], s_top)) +
             "), intensity " + output::short_number(layer.intensity[i], 3) +
             (nk ? ", near-kernel" : "") + "</title></circle>\n";
    } else {
      out += "/>\n";
    }
  }
  out += "</g>\n";
}

// Spectral neurons, one group per layer.
void draw_nodes(std::string& out, const SvrResult& r, const Figure& fig) {
  out += "<g class=\"nodes\">\n";
  for (std::size_t l = 0; l < r.layers.size(); ++l) draw_layer_nodes(out, r.layers[l], l, fig);
  out += "</g>\n";
}

// Plot frame on top of the data.
void draw_frame(std::string& out, const Layout& lay) {
  out += "<path class=\"frame\" d=\"M" + px(lay.left) + "," + px(lay.top) + "V" + px(lay.bottom()) +
         "H" + px(lay.left + lay.plot_w) + "\" fill=\"none\" stroke=\"" + kAxisColour + "\"/>\n";
}

// Each legend entry draws downwards from ly, the baseline of its first line of text, and
// returns the baseline of the next entry (legend_notes, the last, returns nothing).
double legend_dots(std::string& out, double lx, double ly, double near_kernel_tau) {
  text_element(out, lx, ly, "Spectral neurons (dots)", " font-weight=\"bold\"");
  ly += 14.0;
  out += "<rect x=\"" + px(lx) + "\" y=\"" + px(ly) +
         "\" width=\"120\" height=\"10\" fill=\"url(#svr-intensity-ramp)\" stroke=\"#999999\" "
         "stroke-width=\"0.5\"/>\n";
  text_element(out, lx, ly + 22.0, "0", " font-size=\"10\"");
  text_element(out, lx + 120.0, ly + 22.0, "1", " font-size=\"10\" text-anchor=\"end\"");
  text_element(out, lx + 60.0, ly + 22.0, "intensity", " font-size=\"10\" text-anchor=\"middle\"");
  ly += 38.0;
  out += "<circle cx=\"" + px(lx + 6) + "\" cy=\"" + px(ly - 4) +
         "\" r=\"4\" fill=\"#ffffff\" stroke=\"" + kNearKernelColour +
         "\" stroke-width=\"1.5\"/>\n";
  text_element(out, lx + 16.0, ly,
               "near-kernel: s \u2264 " + output::short_number(near_kernel_tau) + " \u00b7 s_max");
  return ly + 26.0;
}

// Sample lines for the strongest, middle and weakest edge drawn.
double legend_edges(std::string& out, double lx, double ly, const EdgeSelection& edges) {
  text_element(out, lx, ly, "Significant edges (lines)", " font-weight=\"bold\"");
  ly += 16.0;
  if (edges.drawn.empty()) {
    text_element(out, lx, ly, "none drawn", " font-size=\"10\"");
    return ly + 16.0;
  }
  double strong = 0.0, weak = std::numeric_limits<double>::infinity();
  for (const DrawnEdge& d : edges.drawn) {
    strong = std::max(strong, d.strength);
    weak = std::min(weak, d.strength);
  }
  const double middle =
      std::isfinite(strong) ? std::expm1(0.5 * (std::log1p(strong) + std::log1p(weak))) : weak;
  std::vector<double> samples = {strong};
  if (strong != weak) samples = {strong, middle, weak};
  for (double s : samples) {
    edge_line(out, lx, ly - 4.0, lx + 30.0, ly - 4.0, edges.shade, s, "", "");
    text_element(out, lx + 38.0, ly, "p = " + output::power_of_ten(-s));
    ly += 16.0;
  }
  return ly;
}

// A sample arc: the edges of a pair whose layers are not neighbouring columns.
double legend_arc(std::string& out, double lx, double ly) {
  out += "<path d=\"M" + px(lx) + "," + px(ly) + arc_segment(lx, ly, lx + 30.0, ly, ly - 11.0) +
         "\" fill=\"none\" stroke=\"" + hex(mix(kEdgeWeak, kEdgeStrong, 0.5)) +
         "\" stroke-width=\"1.4\" stroke-linecap=\"round\"/>\n";
  text_element(out, lx + 38.0, ly, "edge skipping columns (arc)");
  return ly + 22.0;
}

double legend_chain(std::string& out, double lx, double ly, double chain_width,
                    std::size_t chains) {
  out += "<line x1=\"" + px(lx + 2) + "\" y1=\"" + px(ly - 4) + "\" x2=\"" + px(lx + 28) +
         "\" y2=\"" + px(ly - 4) + "\" stroke=\"" + kChainColour + "\" stroke-width=\"" +
         px(std::min(chain_width, 8.0)) + "\" stroke-opacity=\"0.6\" stroke-linecap=\"round\"/>\n";
  text_element(out, lx + 38.0, ly, "dominant chain (" + std::to_string(chains) + " shown)");
  return ly + 24.0;
}

void legend_notes(std::string& out, double lx, double ly, const Figure& fig) {
  const EdgeSelection& edges = fig.edges;
  std::vector<std::string> notes;
  if (edges.capped) {
    notes.push_back("at most " + std::to_string(fig.max_edges) + " strongest edges per");
    notes.push_back("pair: " + std::to_string(edges.drawn.size()) + " of " +
                    std::to_string(edges.significant_total) + " drawn");
  } else {
    notes.push_back("all " + std::to_string(edges.significant_total) + " significant edges drawn");
  }
  notes.push_back("darker edges (smaller p) lie on top");
  if (fig.axis.log && fig.axis.clamped) {
    notes.push_back("s < 1e-12 \u00b7 max s: on the bottom edge");
  }
  for (const std::string& note : notes) {
    text_element(out, lx, ly, output::xml_escape(note), " font-size=\"10\" fill=\"#555555\"");
    ly += 14.0;
  }
}

// Legend, to the right of the plot area (never over the data).
void draw_legend(std::string& out, const SvrResult& r, const Figure& fig) {
  const double lx = fig.lay.legend_x;
  double ly = fig.lay.top + 6.0;
  out += "<g class=\"legend\" font-size=\"11\" fill=\"#222222\">\n";
  ly = legend_dots(out, lx, ly, fig.near_kernel_tau);
  ly = legend_edges(out, lx, ly, fig.edges);
  if (fig.graph) ly = legend_arc(out, lx, ly + 4.0);
  ly = legend_chain(out, lx, ly, fig.chain_width, r.chains.size());
  legend_notes(out, lx, ly, fig);
  out += "</g>\n";
}

}  // namespace

std::string render_svr_svg(const SvrResult& r, const PlotOptions& o, bool standalone) {
  output::check_nodes(r, "svr.svg");
  output::check_edges(r, "svr.svg");
  const Figure fig = make_figure(r, o);
  std::string out;
  out.reserve(4096 + fig.total_nodes * 72 + fig.edges.drawn.size() * 200);
  draw_header(out, fig, standalone);
  draw_y_axis(out, fig.lay, fig.axis);
  draw_x_axis(out, fig.lay, fig.labels, fig.names);
  draw_chains(out, r, fig);  // under the edges
  draw_edges(out, r, fig);
  draw_nodes(out, r, fig);
  draw_frame(out, fig.lay);
  draw_legend(out, r, fig);
  out += "</svg>\n";
  return out;
}

void write_svr_svg(const std::string& path, const SvrResult& r, const PlotOptions& o) {
  output::check_nodes(r, path);
  output::check_edges(r, path);
  const std::string svg = render_svr_svg(r, o, true);
  output::TextFile file(path);
  file.write(svg);
  file.close();
}

}  // namespace svr
