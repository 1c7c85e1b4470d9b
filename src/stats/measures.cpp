// Per-node and per-pair measures of the SVR graph (spec section 5).
#include "svr/stats/measures.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace svr {

std::vector<double> intensity(const Eigen::MatrixXd& E, std::int64_t c) {
  const double cd = static_cast<double>(c);
  std::vector<double> t(static_cast<std::size_t>(E.cols()), 0.0);
  double t_max = 0.0;
  for (Eigen::Index i = 0; i < E.cols(); ++i) {
    // Best prefix sum of (c E[j, i] - 1), clipped at 0 (the empty prefix).
    double sum = 0.0, best = 0.0;
    for (Eigen::Index j = 0; j < E.rows(); ++j) {
      sum += cd * E(j, i) - 1.0;
      best = std::max(best, sum);
    }
    t[static_cast<std::size_t>(i)] = best;
    t_max = std::max(t_max, best);
  }
  if (t_max > 0.0) {
    for (auto& v : t) v /= t_max;
  }
  return t;
}

InternalDims internal_dims(const Eigen::MatrixXd& E, std::int64_t c) {
  if (E.size() == 0) return {};
  const double cd = static_cast<double>(c);
  // C[j, i] = sum_{j' <= j, i' <= i} E[j', i'], built one row at a time in row-major order so
  // that the first maximum found is numpy's argmax.
  Eigen::VectorXd column_sums = Eigen::VectorXd::Zero(E.cols());  // over rows j' <= j
  InternalDims best_dims{1, 1};
  double best = -std::numeric_limits<double>::infinity();
  for (Eigen::Index j = 0; j < E.rows(); ++j) {
    column_sums += E.row(j).transpose();
    double C = 0.0;
    for (Eigen::Index i = 0; i < E.cols(); ++i) {
      C += column_sums(i);
      const double v = cd * C - static_cast<double>(j + 1) * static_cast<double>(i + 1);
      if (v > best) {
        best = v;
        best_dims = {j + 1, i + 1};
      }
    }
  }
  return best_dims;
}

Entropy entropy(const Eigen::MatrixXd& E) {
  double h = 0.0;
  for (Eigen::Index i = 0; i < E.cols(); ++i) {
    for (Eigen::Index j = 0; j < E.rows(); ++j) {
      const double e = E(j, i);
      if (e > 0.0) h -= e * std::log(e);
    }
  }
  Entropy out;
  out.h = h;
  out.normalized = E.size() > 1 ? h / std::log(static_cast<double>(E.size())) : 0.0;
  return out;
}

std::vector<int> clusters(const Eigen::VectorXd& s, double rel_tol) {
  return clusters(s, rel_tol, s.size() == 0 ? 0.0 : s.cwiseAbs().maxCoeff());
}

std::vector<int> clusters(const Eigen::VectorXd& s, double rel_tol, double s_max) {
  std::vector<int> id(static_cast<std::size_t>(s.size()), 0);
  if (s.size() == 0) return id;
  const double tol = rel_tol * s_max;
  int current = 0;
  for (Eigen::Index i = 1; i < s.size(); ++i) {
    // Chained: a run of values each within tol of its predecessor is one cluster.
    if (!(std::fabs(s(i - 1) - s(i)) <= tol)) ++current;
    id[static_cast<std::size_t>(i)] = current;
  }
  return id;
}

std::vector<bool> near_kernel(const Eigen::VectorXd& s, double tau) {
  return near_kernel(s, tau, s.size() == 0 ? 0.0 : s.maxCoeff());
}

std::vector<bool> near_kernel(const Eigen::VectorXd& s, double tau, double s_max) {
  std::vector<bool> out(static_cast<std::size_t>(s.size()), false);
  if (s.size() == 0) return out;
  const double cut = tau * s_max;
  for (Eigen::Index i = 0; i < s.size(); ++i) out[static_cast<std::size_t>(i)] = s(i) <= cut;
  return out;
}

double log10_path_metric(const std::vector<Eigen::VectorXd>& s,
                         const std::vector<Eigen::MatrixXd>& E) {
  if (s.empty() || s.size() != E.size() + 1) {
    throw std::invalid_argument("log10_path_metric: need one singular-value vector per layer and "
                                "one E per pair (" + std::to_string(s.size()) + " and " +
                                std::to_string(E.size()) + ")");
  }
  for (std::size_t l = 0; l < E.size(); ++l) {
    if (E[l].cols() != s[l].size() || E[l].rows() != s[l + 1].size()) {
      throw std::invalid_argument("log10_path_metric: E of pair " + std::to_string(l) +
                                  " does not match the layer sizes");
    }
  }
  constexpr double minus_inf = -std::numeric_limits<double>::infinity();
  // x is kept with max entry 1 and s scaled by its max entry; the scales accumulate in log10.
  double log10_scale = 0.0;
  Eigen::VectorXd x = Eigen::VectorXd::Ones(s[0].size());
  auto multiply_by_s = [&](const Eigen::VectorXd& sl) {
    const double s_max = sl.size() > 0 ? sl.cwiseAbs().maxCoeff() : 0.0;
    if (!(s_max > 0.0)) return false;
    x = x.cwiseProduct(sl / s_max);
    log10_scale += std::log10(s_max);
    return true;
  };
  auto rescale = [&]() {
    const double m = x.size() > 0 ? x.cwiseAbs().maxCoeff() : 0.0;
    if (!(m > 0.0)) return false;
    x /= m;
    log10_scale += std::log10(m);
    return true;
  };
  for (std::size_t l = 0; l < E.size(); ++l) {
    if (!multiply_by_s(s[l]) || !rescale()) return minus_inf;
    x = E[l] * x;
    if (!rescale()) return minus_inf;
  }
  if (!multiply_by_s(s.back())) return minus_inf;
  const double sum = x.sum();
  if (!(sum > 0.0)) return minus_inf;
  return log10_scale + std::log10(sum);
}

namespace {

// x * s / s_max, the scale into log10_scale (as in log10_path_metric); false when s is all 0.
bool multiply_by_s(ScaledVector& x, const Eigen::VectorXd& s) {
  const double s_max = s.size() > 0 ? s.cwiseAbs().maxCoeff() : 0.0;
  if (!(s_max > 0.0)) return false;
  x.m = x.m.cwiseProduct(s / s_max);
  x.log10_scale += std::log10(s_max);
  return true;
}

bool rescale(ScaledVector& x) {
  const double m = x.m.size() > 0 ? x.m.cwiseAbs().maxCoeff() : 0.0;
  if (!(m > 0.0)) return false;
  x.m /= m;
  x.log10_scale += std::log10(m);
  return true;
}

}  // namespace

ScaledVector path_step(const ScaledVector& x_from, const Eigen::VectorXd& s_from,
                       const Eigen::MatrixXd& E) {
  ScaledVector x = x_from;
  if (!x.alive || !multiply_by_s(x, s_from) || !rescale(x)) return {Eigen::VectorXd(), 0.0, false};
  x.m = E * x.m;
  if (!rescale(x)) return {Eigen::VectorXd(), 0.0, false};
  return x;
}

ScaledVector path_merge(const std::vector<ScaledVector>& parts, Eigen::Index size) {
  std::vector<const ScaledVector*> alive;
  for (const ScaledVector& part : parts)
    if (part.alive) alive.push_back(&part);
  if (alive.empty()) return {Eigen::VectorXd(), 0.0, false};
  if (alive.size() == 1) return *alive.front();
  double top = alive.front()->log10_scale;
  for (const ScaledVector* part : alive) top = std::max(top, part->log10_scale);
  ScaledVector sum{Eigen::VectorXd::Zero(size), top, true};
  for (const ScaledVector* part : alive)
    sum.m += part->m * std::pow(10.0, part->log10_scale - top);
  if (!rescale(sum)) return {Eigen::VectorXd(), 0.0, false};
  return sum;
}

double path_end(const ScaledVector& x, const Eigen::VectorXd& s) {
  constexpr double minus_inf = -std::numeric_limits<double>::infinity();
  ScaledVector y = x;
  if (!y.alive || !multiply_by_s(y, s)) return minus_inf;
  const double sum = y.m.sum();
  if (!(sum > 0.0)) return minus_inf;
  return y.log10_scale + std::log10(sum);
}

double path_total(const std::vector<double>& terms) {
  constexpr double minus_inf = -std::numeric_limits<double>::infinity();
  if (terms.size() == 1) return terms.front();
  double top = minus_inf;
  for (double t : terms) top = std::max(top, t);
  if (!(top > minus_inf)) return minus_inf;
  double sum = 0.0;
  for (double t : terms) sum += std::pow(10.0, t - top);
  return top + std::log10(sum);
}

double log10_path_metric(const std::vector<Eigen::VectorXd>& s,
                         const std::vector<std::pair<int, int>>& pairs,
                         const std::vector<Eigen::MatrixXd>& E) {
  const int n = static_cast<int>(s.size());
  if (pairs.size() != E.size())
    throw std::invalid_argument("log10_path_metric: " + std::to_string(E.size()) + " E for " +
                                std::to_string(pairs.size()) + " pairs");
  std::vector<std::vector<std::size_t>> into(s.size());
  std::vector<char> read(s.size(), 0);
  for (std::size_t q = 0; q < pairs.size(); ++q) {
    const auto [from, to] = pairs[q];
    if (from < 0 || to <= from || to >= n || E[q].cols() != s[static_cast<std::size_t>(from)].size() ||
        E[q].rows() != s[static_cast<std::size_t>(to)].size())
      throw std::invalid_argument("log10_path_metric: pair " + std::to_string(q) +
                                  " does not match the layers");
    into[static_cast<std::size_t>(to)].push_back(q);
    read[static_cast<std::size_t>(from)] = 1;
  }
  std::vector<ScaledVector> x(s.size());
  std::vector<double> terms;
  for (std::size_t b = 0; b < s.size(); ++b) {
    if (into[b].empty()) {
      x[b] = {Eigen::VectorXd::Ones(s[b].size()), 0.0, true};
    } else {
      std::vector<ScaledVector> parts;
      for (std::size_t q : into[b]) {
        const auto a = static_cast<std::size_t>(pairs[q].first);
        parts.push_back(path_step(x[a], s[a], E[q]));
      }
      x[b] = path_merge(parts, s[b].size());
    }
    if (!read[b]) terms.push_back(path_end(x[b], s[b]));
  }
  return path_total(terms);
}

}  // namespace svr
