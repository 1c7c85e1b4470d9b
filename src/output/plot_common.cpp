#include "svr/output/plot_common.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "svr/output/format.hpp"

namespace svr::output {

std::string px(double x) {
  if (!std::isfinite(x)) return "0";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f", x);
  std::string text = buffer;
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  if (text == "-0" || text.empty()) text = "0";
  return text;
}

std::string short_number(double x, int digits) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, x);
  std::string text = buffer;
  if (text == "-0") text = "0";
  return text;
}

std::string correction_label(const SignificanceOptions& o) {
  if (o.sigma) {
    return "χ² rule σ = " + format_double(*o.sigma) + ", uncorrected";
  }
  std::string name;
  switch (o.correction) {
    case Correction::BH:
      name = "Benjamini-Hochberg";
      break;
    case Correction::BY:
      name = "Benjamini-Yekutieli";
      break;
    case Correction::Holm:
      name = "Holm";
      break;
    case Correction::Bonferroni:
      name = "Bonferroni";
      break;
    case Correction::None:
      name = "no correction";
      break;
  }
  std::string text = name + ", α = " + format_double(o.alpha);
  if (o.correction != Correction::None && o.fdr_scope == FdrScope::Pair) text += " per pair";
  return text;
}

std::string layer_label(const std::string& name) {
  static const std::string suffix = ".weight";
  if (name.size() > suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return name.substr(0, name.size() - suffix.size());
  }
  return name;
}

std::string power_of_ten(double log10_x) {
  if (std::isnan(log10_x)) return "nan";
  if (std::isinf(log10_x)) return log10_x > 0 ? "inf" : "0";
  double exponent = std::floor(log10_x);
  double mantissa = std::pow(10.0, log10_x - exponent);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.1f", mantissa);
  if (std::string(buffer) == "10.0") {
    exponent += 1.0;
    mantissa = 1.0;
  }
  std::snprintf(buffer, sizeof buffer, "%.1fe%d", mantissa, static_cast<int>(exponent));
  std::string text = buffer;
  const auto dot = text.find(".0e");
  if (dot != std::string::npos) text.erase(dot, 2);
  return text;
}

bool has_skip_pairs(const SvrResult& r) {
  for (const PairResult& pair : r.pairs) {
    if (pair.to_layer > pair.from_layer + 1) return true;
  }
  return false;
}

double edge_strength(const EdgeRecord& edge) {
  if (std::isnan(edge.log10_p)) return 0.0;
  return -edge.log10_p;  // log10 p = -inf gives +inf
}

std::vector<const EdgeRecord*> plot_edges(const PairResult& pair, int cap, std::int64_t& total) {
  std::vector<const EdgeRecord*> edges;
  for (const EdgeRecord& edge : pair.edges) {
    if (edge.significant) edges.push_back(&edge);
  }
  total = static_cast<std::int64_t>(edges.size());
  auto stronger = [](const EdgeRecord* a, const EdgeRecord* b) {
    const double sa = edge_strength(*a), sb = edge_strength(*b);
    if (sa != sb) return sa > sb;
    const double ea = std::isnan(a->e) ? -1.0 : a->e, eb = std::isnan(b->e) ? -1.0 : b->e;
    if (ea != eb) return ea > eb;
    if (a->from_neuron != b->from_neuron) return a->from_neuron < b->from_neuron;
    return a->to_neuron < b->to_neuron;
  };
  const auto keep = static_cast<std::size_t>(std::max(cap, 0));
  if (edges.size() > keep) {
    std::partial_sort(edges.begin(), edges.begin() + static_cast<std::ptrdiff_t>(keep), edges.end(),
                      stronger);
    edges.resize(keep);
  } else {
    std::sort(edges.begin(), edges.end(), stronger);
  }
  return edges;
}

}  // namespace svr::output
