// Multiple-testing corrections, all in log10 space so that p far below 1e-308 keeps its value.
#include "svr/stats/corrections.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace svr {

std::string to_string(Correction correction) {
  switch (correction) {
    case Correction::BH: return "bh";
    case Correction::BY: return "by";
    case Correction::Holm: return "holm";
    case Correction::Bonferroni: return "bonferroni";
    case Correction::None: return "none";
  }
  return "?";
}

std::string to_string(FdrScope scope) { return scope == FdrScope::Network ? "network" : "pair"; }
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
// running minimum over a run of ties is attained at its last rank. `log10_p` holds ranks
// 1..size of a family of n >= size values (the others rank after them).
std::vector<double> step_up(const std::vector<double>& log10_p, std::size_t n,
                            double log10_factor) {
  const std::size_t k = log10_p.size();
  const auto order = ascending_order(log10_p);
  const double log10_n = std::log10(static_cast<double>(n));
  std::vector<double> q(k);
  double running = 0.0;
  for (std::size_t r = k; r >= 1; --r) {
    const std::size_t idx = order[r - 1];
    const double v = log10_p[idx] + log10_factor + log10_n - std::log10(static_cast<double>(r));
    running = std::min(running, v);
    q[idx] = running;
  }
  return q;
}

// Step-down (Holm): q_(k) = max_{m <= k} min(1, (n - m + 1) p_(m)). Tied p get equal q because the
// first rank of a run carries the largest multiplier. Ranks as in step_up.
std::vector<double> step_down(const std::vector<double>& log10_p, std::size_t n) {
  const std::size_t k = log10_p.size();
  const auto order = ascending_order(log10_p);
  std::vector<double> q(k);
  double running = -std::numeric_limits<double>::infinity();
  for (std::size_t r = 1; r <= k; ++r) {
    const std::size_t idx = order[r - 1];
    const double v = std::min(0.0, log10_p[idx] + std::log10(static_cast<double>(n - r + 1)));
    running = std::max(running, v);
    q[idx] = running;
  }
  return q;
}

}  // namespace

std::vector<double> adjust_log10(const std::vector<double>& log10_p, Correction correction) {
  return adjust_log10_candidates(log10_p, static_cast<std::int64_t>(log10_p.size()), correction);
}

std::vector<double> adjust_log10_candidates(const std::vector<double>& candidate_log10_p,
                                            std::int64_t family_size, Correction correction) {
  for (double v : candidate_log10_p) {
    if (std::isnan(v) || v > 0.0) {
      throw std::invalid_argument("adjust_log10: log10 p must be <= 0 and not NaN");
    }
  }
  if (family_size < static_cast<std::int64_t>(candidate_log10_p.size()))
    throw std::invalid_argument("adjust_log10_candidates: family of " +
                                std::to_string(family_size) + " values but " +
                                std::to_string(candidate_log10_p.size()) + " candidates");
  const std::size_t k = candidate_log10_p.size();
  const auto n = static_cast<std::size_t>(family_size);
  if (k == 0) return {};
  switch (correction) {
    case Correction::None:
      return candidate_log10_p;
    case Correction::Bonferroni: {
      std::vector<double> q(k);
      const double log10_n = std::log10(static_cast<double>(n));
      for (std::size_t i = 0; i < k; ++i) q[i] = std::min(0.0, candidate_log10_p[i] + log10_n);
      return q;
    }
    case Correction::BH:
      return step_up(candidate_log10_p, n, 0.0);
    case Correction::BY:
      return step_up(candidate_log10_p, n, log10_harmonic(n));
    case Correction::Holm:
      return step_down(candidate_log10_p, n);
  }
  throw std::invalid_argument("adjust_log10: unknown correction");
}

double screening_level(Correction correction, double alpha, std::int64_t family_size,
                       std::int64_t below) {
  if (!(alpha > 0.0 && alpha < 1.0) || family_size < 0 || below < 0)
    throw std::invalid_argument("screening_level: need 0 < alpha < 1, family_size >= 0, below >= 0");
  if (family_size == 0) return alpha;
  const double n = static_cast<double>(family_size);
  const double k = static_cast<double>(std::min(below, family_size));
  switch (correction) {
    case Correction::None: return alpha;
    case Correction::Bonferroni: return alpha / n;
    case Correction::BH: return alpha * k / n;
    // H_n >= ln(n + 1) and H_n >= 1: a level from the smaller bound is higher, so still safe.
    case Correction::BY: return alpha * k / (n * std::max(1.0, std::log1p(n)));
    case Correction::Holm: return k == 0.0 ? 0.0 : alpha / (n - k + 1.0);
  }
  throw std::invalid_argument("screening_level: unknown correction");
}

double narrowed_level(Correction correction, double alpha, std::int64_t family_size,
                      const std::function<std::int64_t(double)>& count) {
  if (correction == Correction::None || family_size == 0) return alpha;
  if (correction == Correction::Bonferroni) return screening_level(correction, alpha, family_size, 0);
  // K only decreases and never falls below the number of significant members (their p is at
  // most the level of that number); a few steps reach the fixed point on real networks, and any
  // step's level is already a valid one, hence the cap.
  constexpr int kMaxSteps = 32;
  std::int64_t below = count(alpha);
  double level = alpha;
  for (int step = 0; step < kMaxSteps; ++step) {
    level = screening_level(correction, alpha, family_size, below);
    if (level <= 0.0) return 0.0;
    const std::int64_t next = count(level);
    if (next >= below) break;
    below = next;
  }
  return level;
}

}  // namespace svr
