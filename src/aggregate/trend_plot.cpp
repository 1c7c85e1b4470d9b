// Trend plots of a sweep: values per run against the run's x, one line per series. Hand-written
// SVG in the style of svr.svg (plot_svg.cpp): fixed-precision coordinates, a fixed order of
// everything, no dates or absolute paths, so the same runs give the same bytes.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "svr/aggregate/aggregate.hpp"
#include "svr/core/error.hpp"
#include "svr/output/format.hpp"
#include "svr/output/plot_common.hpp"

namespace svr::aggregate {

namespace {

using output::px;
using output::xml_escape;

// Okabe-Ito colours without yellow (too pale on white): distinguishable with the common colour
// vision deficiencies. Beyond seven series the dash pattern changes too.
constexpr const char* kColours[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                    "#e69f00", "#56b4e9", "#000000"};
constexpr std::size_t kColourCount = sizeof kColours / sizeof kColours[0];
constexpr const char* kDashes[] = {"", "6 3", "2 2", "8 3 2 3"};
constexpr std::size_t kDashCount = sizeof kDashes / sizeof kDashes[0];
constexpr const char* kAxisColour = "#444444";
constexpr const char* kGridColour = "#e6e6e6";
constexpr const char* kFont = "DejaVu Sans, Helvetica, Arial, sans-serif";

constexpr double kCharWidth = 6.4;  // average advance of 11 px sans-serif text
constexpr std::size_t kMaxLegendChars = 48;
constexpr double kLeft = 84.0;
constexpr double kPlotWidth = 640.0;
constexpr double kPlotHeight = 260.0;
constexpr double kInset = 14.0;  // data never touches the frame
constexpr double kTop = 70.0;
constexpr double kPanelGap = 34.0;
constexpr double kLegendRow = 17.0;

std::size_t char_count(const std::string& text) {
  std::size_t chars = 0;
  for (unsigned char ch : text) chars += (ch & 0xC0) != 0x80;
  return chars;
}

double text_width(const std::string& text, double font = 11.0) {
  return static_cast<double>(char_count(text)) * kCharWidth * font / 11.0;
}

// Byte offset of the `chars`-th UTF-8 character.
std::size_t byte_offset(const std::string& text, std::size_t chars) {
  std::size_t at = 0;
  while (at < text.size() && chars > 0) {
    ++at;
    while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
    --chars;
  }
  return at;
}

// Long labels keep both ends (the layer names' distinctive parts), cut on character boundaries.
std::string short_label(const std::string& label) {
  const std::size_t chars = char_count(label);
  if (chars <= kMaxLegendChars) return label;
  const std::size_t head = (kMaxLegendChars - 1) / 2, tail = kMaxLegendChars - 1 - head;
  return label.substr(0, byte_offset(label, head)) + "\u2026" +
         label.substr(byte_offset(label, chars - tail));
}

double nice_step(double span) {
  if (!(span > 0.0) || !std::isfinite(span)) return 1.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(span)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * magnitude >= span * (1.0 - 1e-12)) return m * magnitude;
  }
  return 10.0 * magnitude;
}

// A linear axis: [lo, hi] onto [to_lo, to_hi] pixels, ticks at multiples of step.
struct Axis {
  double lo = 0.0, hi = 1.0, step = 1.0;
  double to_lo = 0.0, to_hi = 1.0;
  double map(double v) const { return to_lo + (v - lo) / (hi - lo) * (to_hi - to_lo); }
  std::vector<double> ticks() const {
    std::vector<double> out;
    const auto first = static_cast<long long>(std::ceil(lo / step - 1e-9));
    const auto last = static_cast<long long>(std::floor(hi / step + 1e-9));
    // Multiples of step computed from integers: no drift, no "0.30000000000000004" labels.
    for (long long k = first; k <= last; ++k) out.push_back(static_cast<double>(k) * step);
    return out;
  }
};

Axis make_x_axis(const std::vector<double>& x) {
  Axis axis;
  axis.to_lo = kLeft + kInset;
  axis.to_hi = kLeft + kPlotWidth - kInset;
  std::vector<double> finite;
  for (double v : x) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  if (finite.empty()) return axis;
  axis.lo = *std::min_element(finite.begin(), finite.end());
  axis.hi = *std::max_element(finite.begin(), finite.end());
  const bool integers =
      std::all_of(finite.begin(), finite.end(), [](double v) { return v == std::floor(v); });
  if (axis.hi == axis.lo) {
    axis.lo -= 1.0;
    axis.hi += 1.0;
  }
  axis.step = nice_step((axis.hi - axis.lo) / 8.0);
  if (integers) axis.step = std::max(axis.step, 1.0);  // no tick between two runs 0 and 1
  return axis;
}

Axis make_y_axis(const TrendPanel& panel, double top) {
  Axis axis;
  axis.to_lo = top + kPlotHeight - kInset;
  axis.to_hi = top + kInset;
  bool any = false;
  double lo = 0.0, hi = 0.0;
  for (const TrendSeries& s : panel.series) {
    for (const auto& y : s.y) {
      if (!y || !std::isfinite(*y)) continue;
      lo = any ? std::min(lo, *y) : *y;
      hi = any ? std::max(hi, *y) : *y;
      any = true;
    }
  }
  if (!any) {
    lo = 0.0;
    hi = 1.0;
  }
  if (panel.include_zero) {
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
  }
  if (hi == lo) {
    const double half = lo == 0.0 ? 1.0 : 0.1 * std::abs(lo);
    lo -= half;
    hi += half;
    if (panel.include_zero && lo < 0.0 && hi - 2.0 * half >= 0.0) lo = 0.0;
  }
  axis.step = nice_step((hi - lo) / 5.0);
  axis.lo = std::floor(lo / axis.step + 1e-9) * axis.step;
  axis.hi = std::ceil(hi / axis.step - 1e-9) * axis.step;
  if (!(axis.hi > axis.lo)) axis.hi = axis.lo + axis.step;
  return axis;
}

void text_element(std::string& out, double x, double y, const std::string& escaped,
                  const std::string& extra = "") {
  out += "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\"" + extra + ">" + escaped + "</text>\n";
}

void line_element(std::string& out, double x1, double y1, double x2, double y2,
                  const std::string& style) {
  out += "<line x1=\"" + px(x1) + "\" y1=\"" + px(y1) + "\" x2=\"" + px(x2) + "\" y2=\"" + px(y2) +
         "\" " + style + "/>\n";
}

std::string series_style(std::size_t s) {
  std::string style = std::string("stroke=\"") + kColours[s % kColourCount] + "\"";
  const char* dash = kDashes[(s / kColourCount) % kDashCount];
  if (*dash) style += std::string(" stroke-dasharray=\"") + dash + "\"";
  return style;
}

double legend_width(const TrendPlot& plot) {
  double widest = 120.0;
  for (const TrendPanel& panel : plot.panels) {
    for (const TrendSeries& s : panel.series)
      widest = std::max(widest, text_width(short_label(s.label)));
  }
  return 40.0 + widest;
}

double panel_height(const TrendPanel& panel, bool last) {
  const double legend = 8.0 + kLegendRow * static_cast<double>(panel.series.size());
  return std::max(kPlotHeight + (last ? 52.0 : 26.0), legend);
}

void draw_panel(std::string& out, const TrendPlot& plot, const TrendPanel& panel, double top,
                bool last, const Axis& x_axis, std::size_t panel_index) {
  const Axis y_axis = make_y_axis(panel, top);
  const double bottom = top + kPlotHeight, right = kLeft + kPlotWidth;
  out += "<g class=\"panel\" data-panel=\"" + std::to_string(panel_index) + "\">\n";

  // Grid and tick labels.
  out += "<g class=\"yaxis\" font-size=\"10.5\" fill=\"#333333\">\n";
  for (double v : y_axis.ticks()) {
    const double y = y_axis.map(v);
    line_element(out, kLeft, y, right, y, std::string("stroke=\"") + kGridColour + "\"");
    line_element(out, kLeft - 5.0, y, kLeft, y, std::string("stroke=\"") + kAxisColour + "\"");
    text_element(out, kLeft - 8.0, y + 3.5, output::short_number(v, 6), " text-anchor=\"end\"");
  }
  const double mid = 0.5 * (top + bottom);
  out += "<text class=\"ytitle\" transform=\"translate(" + px(kLeft - 60.0) + "," + px(mid) +
         ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" + xml_escape(panel.y_title) +
         "</text>\n</g>\n";
  out += "<g class=\"xaxis\" font-size=\"10.5\" fill=\"#333333\">\n";
  for (double v : x_axis.ticks()) {
    const double x = x_axis.map(v);
    line_element(out, x, top, x, bottom, std::string("stroke=\"") + kGridColour + "\"");
    line_element(out, x, bottom, x, bottom + 5.0, std::string("stroke=\"") + kAxisColour + "\"");
    text_element(out, x, bottom + 17.0, output::short_number(v, 6), " text-anchor=\"middle\"");
  }
  if (last) {
    text_element(out, kLeft + 0.5 * kPlotWidth, bottom + 40.0, xml_escape(plot.x_title),
                 " class=\"xtitle\" text-anchor=\"middle\" font-size=\"12\"");
  }
  out += "</g>\n";
  out += "<path class=\"frame\" d=\"M" + px(kLeft) + "," + px(top) + "V" + px(bottom) + "H" +
         px(right) + "\" fill=\"none\" stroke=\"" + kAxisColour + "\"/>\n";

  // Runs in x order (ties in table order); a run without a value breaks the line.
  std::vector<std::size_t> order(plot.x.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return plot.x[a] < plot.x[b]; });
  for (std::size_t s = 0; s < panel.series.size(); ++s) {
    const TrendSeries& series = panel.series[s];
    const std::string style = series_style(s);
    out += "<g class=\"series\" data-series=\"" + std::to_string(s) + "\">\n";
    std::vector<std::string> segment;
    auto flush = [&] {
      if (segment.size() >= 2) {
        std::string points;
        for (const std::string& p : segment) points += (points.empty() ? "" : " ") + p;
        out += "<polyline points=\"" + points + "\" fill=\"none\" " + style +
               " stroke-width=\"1.8\" stroke-linejoin=\"round\"/>\n";
      }
      segment.clear();
    };
    for (std::size_t r : order) {
      const bool present = r < series.y.size() && series.y[r] && std::isfinite(*series.y[r]) &&
                           std::isfinite(plot.x[r]);
      if (!present) {
        flush();
        continue;
      }
      segment.push_back(px(x_axis.map(plot.x[r])) + "," + px(y_axis.map(*series.y[r])));
    }
    flush();
    for (std::size_t r : order) {
      if (!(r < series.y.size() && series.y[r] && std::isfinite(*series.y[r]) &&
            std::isfinite(plot.x[r]))) {
        continue;
      }
      out += "<circle class=\"point\" cx=\"" + px(x_axis.map(plot.x[r])) + "\" cy=\"" +
             px(y_axis.map(*series.y[r])) + "\" r=\"3\" fill=\"" + kColours[s % kColourCount] +
             "\" stroke=\"#ffffff\" stroke-width=\"0.8\"><title>" + xml_escape(series.label) +
             " \u00b7 " + xml_escape(plot.run_labels[r]) + ": " +
             output::short_number(*series.y[r], 6) + "</title></circle>\n";
    }
    out += "</g>\n";
  }

  // Legend, right of the plot area (never over the data).
  const double lx = right + 24.0;
  double ly = top + 12.0;
  out += "<g class=\"legend\" font-size=\"11\" fill=\"#222222\">\n";
  for (std::size_t s = 0; s < panel.series.size(); ++s) {
    const TrendSeries& series = panel.series[s];
    line_element(out, lx, ly - 4.0, lx + 24.0, ly - 4.0, series_style(s) + " stroke-width=\"1.8\"");
    out += "<circle class=\"key\" cx=\"" + px(lx + 12.0) + "\" cy=\"" + px(ly - 4.0) +
           "\" r=\"3\" fill=\"" + kColours[s % kColourCount] + "\"/>\n";
    out += "<text x=\"" + px(lx + 32.0) + "\" y=\"" + px(ly) + "\"><title>" +
           xml_escape(series.label) + "</title>" + xml_escape(short_label(series.label)) +
           "</text>\n";
    ly += kLegendRow;
  }
  out += "</g>\n</g>\n";
}

}  // namespace

std::string render_trend_svg(const TrendPlot& plot) {
  const Axis x_axis = make_x_axis(plot.x);
  double height = kTop;
  for (std::size_t p = 0; p < plot.panels.size(); ++p) {
    height += panel_height(plot.panels[p], p + 1 == plot.panels.size()) + (p ? kPanelGap : 0.0);
  }
  height += 16.0;
  const double width = std::max({kLeft + kPlotWidth + 24.0 + legend_width(plot) + 16.0,
                                 kLeft + text_width(plot.title, 16.0) + 20.0,
                                 kLeft + text_width(plot.subtitle, 11.5) + 20.0});

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"svr-trend\" width=\"" + px(width) +
         "\" height=\"" + px(height) + "\" viewBox=\"0 0 " + px(width) + " " + px(height) +
         "\" font-family=\"" + kFont + "\" font-size=\"11\">\n";
  out += "<title>" + xml_escape(plot.title) + "</title>\n";
  out += "<rect class=\"background\" x=\"0\" y=\"0\" width=\"" + px(width) + "\" height=\"" +
         px(height) + "\" fill=\"#ffffff\"/>\n";
  text_element(out, kLeft, 28.0, xml_escape(plot.title),
               " class=\"title\" font-size=\"16\" font-weight=\"bold\" fill=\"#111111\"");
  text_element(out, kLeft, 48.0, xml_escape(plot.subtitle),
               " class=\"subtitle\" font-size=\"11.5\" fill=\"#444444\"");
  double top = kTop;
  for (std::size_t p = 0; p < plot.panels.size(); ++p) {
    const bool last = p + 1 == plot.panels.size();
    draw_panel(out, plot, plot.panels[p], top, last, x_axis, p);
    top += panel_height(plot.panels[p], last) + kPanelGap;
  }
  out += "</svg>\n";
  return out;
}

std::vector<double> x_values(const std::vector<RunSummary>& runs, XAxis mode,
                             std::string& axis_title, bool& fell_back) {
  fell_back = false;
  std::vector<double> x;
  const bool all_indexed = std::all_of(runs.begin(), runs.end(),
                                       [](const RunSummary& r) { return r.dir.index.has_value(); });
  if (mode == XAxis::Index && !all_indexed) {
    fell_back = true;
    mode = XAxis::Order;
  }
  switch (mode) {
    case XAxis::Index:
      axis_title = "run index (i of the run directory <i>-\u2026)";
      for (const RunSummary& r : runs) x.push_back(static_cast<double>(*r.dir.index));
      break;
    case XAxis::Order:
      axis_title = "run (position in the table, from 0)";
      for (std::size_t k = 0; k < runs.size(); ++k) x.push_back(static_cast<double>(k));
      break;
    case XAxis::Number:
      axis_title = "number in the model file name";
      for (const RunSummary& r : runs) {
        // The extension may hold digits ("model.pt2"); the checkpoint's number is before it.
        std::string stem = r.model;
        const auto dot = stem.rfind('.');
        if (dot != std::string::npos && dot > 0) stem.erase(dot);
        auto end = stem.find_last_of("0123456789");
        if (end == std::string::npos) {
          throw_input(r.dir.path, "",
                      "model name '" + r.model + "' holds no number (needed by --x number)");
        }
        auto begin = stem.find_last_not_of("0123456789", end);
        begin = begin == std::string::npos ? 0 : begin + 1;
        x.push_back(std::stod(stem.substr(begin, end + 1 - begin)));
      }
      break;
  }
  return x;
}

namespace {

std::vector<std::string> run_labels(const std::vector<RunSummary>& runs) {
  std::vector<std::string> labels;
  for (const RunSummary& r : runs) labels.push_back(r.dir.path + " (" + r.model + ")");
  return labels;
}

std::string subtitle(const std::string& source, const std::vector<RunSummary>& runs,
                     std::size_t series, const char* series_name) {
  std::string text =
      source + " \u00b7 " + std::to_string(runs.size()) + " run" + (runs.size() == 1 ? "" : "s");
  if (series_name) {
    text += " \u00b7 " + std::to_string(series) + " " + series_name + (series == 1 ? "" : "s");
  }
  return text;
}

// One series per distinct (from_name, to_name), in order of first appearance: checkpoints of one
// architecture share every pair; different architectures get lines of their own.
TrendPanel pair_panel(const std::vector<RunSummary>& runs, const std::string& y_title,
                      bool include_zero, std::optional<double> (*value)(const PairRow&)) {
  TrendPanel panel;
  panel.y_title = y_title;
  panel.include_zero = include_zero;
  std::map<std::pair<std::string, std::string>, std::size_t> series_of;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    for (const PairRow& p : runs[r].pairs) {
      const auto key = std::make_pair(p.from_name, p.to_name);
      auto it = series_of.find(key);
      if (it == series_of.end()) {
        it = series_of.emplace(key, panel.series.size()).first;
        panel.series.push_back({"pair " + std::to_string(p.index) + ": " +
                                    output::layer_label(p.from_name) + " \u2192 " +
                                    output::layer_label(p.to_name),
                                std::vector<std::optional<double>>(runs.size())});
      }
      panel.series[it->second].y[r] = value(p);
    }
  }
  return panel;
}

}  // namespace

TrendPlot significant_plot(const std::vector<RunSummary>& runs, const std::vector<double>& x,
                           const std::string& x_title, const std::string& source) {
  TrendPlot plot;
  plot.title = "Significant edges per pair";
  plot.x_title = x_title;
  plot.x = x;
  plot.run_labels = run_labels(runs);
  plot.panels.push_back(pair_panel(runs, "significant edges", true, [](const PairRow& p) {
    return std::optional<double>(static_cast<double>(p.significant));
  }));
  plot.subtitle = subtitle(source, runs, plot.panels[0].series.size(), "pair");
  return plot;
}

TrendPlot entropy_plot(const std::vector<RunSummary>& runs, const std::vector<double>& x,
                       const std::string& x_title, const std::string& source) {
  TrendPlot plot;
  plot.title = "Normalized entropy of E per pair";
  plot.x_title = x_title;
  plot.x = x;
  plot.run_labels = run_labels(runs);
  plot.panels.push_back(pair_panel(runs, "entropy / log(entries of E)", false,
                                   [](const PairRow& p) { return p.entropy_normalized; }));
  plot.subtitle = subtitle(source, runs, plot.panels[0].series.size(), "pair");
  return plot;
}

TrendPlot models_plot(const std::vector<RunSummary>& runs, const std::vector<double>& x,
                      const std::string& x_title, const std::string& source) {
  TrendPlot plot;
  plot.title = "Significant edges and path metric per model";
  plot.subtitle = subtitle(source, runs, 0, nullptr);
  plot.x_title = x_title;
  plot.x = x;
  plot.run_labels = run_labels(runs);
  TrendPanel edges{"significant edges (all pairs)", {{"total significant edges", {}}}, true};
  TrendPanel paths{"log10 path metric",
                   {{"weighted (log10_weighted)", {}}, {"unweighted (log10_unweighted)", {}}},
                   false};
  for (const RunSummary& r : runs) {
    std::int64_t total = 0;
    for (const PairRow& p : r.pairs) total += p.significant;
    edges.series[0].y.push_back(static_cast<double>(total));
    paths.series[0].y.push_back(r.log10_path_weighted);
    paths.series[1].y.push_back(r.log10_path_unweighted);
  }
  plot.panels = {edges, paths};
  return plot;
}

}  // namespace svr::aggregate
