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

// Step-up (BH, BY) and step-down (Holm) over the whole family at hand: the slice of ranks
// 1..size of a family of n >= size values (the others rank after them).
std::vector<double> adjust_sorted(const std::vector<double>& log10_p, std::size_t n,
                                  Correction correction) {
  const auto order = ascending_order(log10_p);
  std::vector<double> sorted(order.size());
  for (std::size_t r = 0; r < order.size(); ++r) sorted[r] = log10_p[order[r]];
  const std::vector<double> adjusted = adjust_log10_sorted_slice(
      sorted, 0, static_cast<std::int64_t>(n), correction, sorted_slice_carry_seed(correction));
  std::vector<double> q(order.size());
  for (std::size_t r = 0; r < order.size(); ++r) q[order[r]] = adjusted[r];
  return q;
}

}  // namespace

bool is_step_up(Correction correction) {
  return correction == Correction::BH || correction == Correction::BY;
}

std::vector<double> sorted_slice_terms(const std::vector<double>& sorted_log10_p,
                                       std::int64_t first_rank, std::int64_t family_size,
                                       Correction correction) {
  if (first_rank < 0 || family_size < first_rank + static_cast<std::int64_t>(sorted_log10_p.size()))
    throw std::invalid_argument(
        "sorted_slice_terms: ranks " + std::to_string(first_rank + 1) + ".." +
        std::to_string(first_rank + static_cast<std::int64_t>(sorted_log10_p.size())) +
        " of a family of " + std::to_string(family_size));
  const std::size_t k = sorted_log10_p.size();
  std::vector<double> terms(k);
  if (k == 0) return terms;
  const auto n = static_cast<std::size_t>(family_size);
  const double log10_n = std::log10(static_cast<double>(n));
  const double log10_factor = correction == Correction::BY ? log10_harmonic(n) : 0.0;
  for (std::size_t i = 0; i < k; ++i) {
    const double p = sorted_log10_p[i];
    const auto r = static_cast<std::size_t>(first_rank) + i + 1;  // rank in the family, from 1
    switch (correction) {
      case Correction::None:
        terms[i] = p;
        break;
      case Correction::Bonferroni:
        terms[i] = std::min(0.0, p + log10_n);
        break;
      case Correction::BH:
      case Correction::BY:
        // q_(r) = min_{m >= r} (n/m) p_(m): tied p get equal q because the running minimum
        // over a run of ties is attained at its last rank.
        terms[i] = p + log10_factor + log10_n - std::log10(static_cast<double>(r));
        break;
      case Correction::Holm:
        // q_(r) = max_{m <= r} min(1, (n - m + 1) p_(m)): tied p get equal q because the first
        // rank of a run carries the largest multiplier.
        terms[i] = std::min(0.0, p + std::log10(static_cast<double>(n - r + 1)));
        break;
    }
  }
  return terms;
}

double sorted_slice_carry_seed(Correction correction) {
  if (is_step_up(correction)) return 0.0;  // q <= 1
  return -std::numeric_limits<double>::infinity();
}

double sorted_slice_extreme(const std::vector<double>& terms, Correction correction) {
  double extreme = sorted_slice_carry_seed(correction);
  for (double t : terms)
    extreme = is_step_up(correction) ? std::min(extreme, t) : std::max(extreme, t);
  return extreme;
}

std::vector<double> adjust_log10_sorted_slice(const std::vector<double>& sorted_log10_p,
                                              std::int64_t first_rank, std::int64_t family_size,
                                              Correction correction, double carry) {
  return finish_sorted_slice(
      sorted_slice_terms(sorted_log10_p, first_rank, family_size, correction), correction, carry);
}

std::vector<double> finish_sorted_slice(std::vector<double> q, Correction correction,
                                        double carry) {
  if (is_step_up(correction)) {
    double running = carry;
    for (std::size_t i = q.size(); i-- > 0;) q[i] = running = std::min(running, q[i]);
  } else if (correction == Correction::Holm) {
    double running = carry;
    for (double& v : q) v = running = std::max(running, v);
  }
  return q;
}

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
    case Correction::BY:
    case Correction::Holm:
      return adjust_sorted(candidate_log10_p, n, correction);
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
