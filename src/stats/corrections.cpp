// Multiple-testing corrections, all in log10 space so that p far below 1e-308 keeps its value.
#include "svr/corrections.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace svr {
namespace {

// Indices sorted by increasing log10 p (stable, so the order is deterministic).
std::vector<std::size_t> ascending_order(const std::vector<double>& log10_p) {
  std::vector<std::size_t> order(log10_p.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t i, std::size_t j) { return log10_p[i] < log10_p[j]; });
  return order;
}

// log10 of the n-th harmonic number (BY's factor), summed smallest terms first.
double log10_harmonic(std::size_t n) {
  double h = 0.0;
  for (std::size_t i = n; i >= 1; --i) h += 1.0 / static_cast<double>(i);
  return std::log10(h);
}

// Step-up (BH): q_(k) = min_{m >= k} (n/m) p_(m), capped at 1. Tied p get equal q because the
// running minimum over a run of ties is attained at its last rank.
std::vector<double> step_up(const std::vector<double>& log10_p, double log10_factor) {
  const std::size_t n = log10_p.size();
  const auto order = ascending_order(log10_p);
  const double log10_n = std::log10(static_cast<double>(n));
  std::vector<double> q(n);
  double running = 0.0;
  for (std::size_t r = n; r >= 1; --r) {
    const std::size_t idx = order[r - 1];
    const double v = log10_p[idx] + log10_factor + log10_n - std::log10(static_cast<double>(r));
    running = std::min(running, v);
    q[idx] = running;
  }
  return q;
}

// Step-down (Holm): q_(k) = max_{m <= k} min(1, (n - m + 1) p_(m)). Tied p get equal q because the
// first rank of a run carries the largest multiplier.
std::vector<double> step_down(const std::vector<double>& log10_p) {
  const std::size_t n = log10_p.size();
  const auto order = ascending_order(log10_p);
  std::vector<double> q(n);
  double running = -std::numeric_limits<double>::infinity();
  for (std::size_t r = 1; r <= n; ++r) {
    const std::size_t idx = order[r - 1];
    const double v = std::min(0.0, log10_p[idx] + std::log10(static_cast<double>(n - r + 1)));
    running = std::max(running, v);
    q[idx] = running;
  }
  return q;
}

}  // namespace

std::vector<double> adjust_log10(const std::vector<double>& log10_p, Correction correction) {
  for (double v : log10_p) {
    if (std::isnan(v) || v > 0.0) {
      throw std::invalid_argument("adjust_log10: log10 p must be <= 0 and not NaN");
    }
  }
  const std::size_t n = log10_p.size();
  if (n == 0) return {};
  switch (correction) {
    case Correction::None:
      return log10_p;
    case Correction::Bonferroni: {
      std::vector<double> q(n);
      const double log10_n = std::log10(static_cast<double>(n));
      for (std::size_t i = 0; i < n; ++i) q[i] = std::min(0.0, log10_p[i] + log10_n);
      return q;
    }
    case Correction::BH:
      return step_up(log10_p, 0.0);
    case Correction::BY:
      return step_up(log10_p, log10_harmonic(n));
    case Correction::Holm:
      return step_down(log10_p);
  }
  throw std::invalid_argument("adjust_log10: unknown correction");
}

}  // namespace svr
