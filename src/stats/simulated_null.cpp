// Simulated null law of E when both sides of a pair carry positions (spec section 4).
//
// Drawing u and v literally costs c (z_u + z_v) normals and c z_u z_v flops per draw (~1e11 flops
// for 1e6 draws of a VGG pair). We draw an exactly equal law instead. With G_A (c x z_u) and
// G_B (c x z_v) i.i.d. Gaussian, E = ||G_A^T G_B||^2 / (||G_A||^2 ||G_B||^2). Let k = min(c, z_u, z_v).
// - k < c: rotate R^c so that G_A (or G_B, whichever has fewer columns zs; E is symmetric) is
//   [R; 0] with R its zs x zs Bartlett factor (R_ii ~ chi(c - i), normals above the diagonal).
//   The other side becomes a fresh Gaussian whose top zs x zl block T is all that meets R, and
//   whose remaining squared norm is Y ~ chi2(zl (c - zs)). Rotating T from the right, T = [L 0] Q
//   with L lower Bartlett (L_ii ~ chi(zl - i)). So E = ||R^T L||^2 / (||R||^2 (||L||^2 + Y)).
// - k == c: right rotations alone give G_A = [L_A 0] Q_A, G_B = [L_B 0] Q_B with c x c lower
//   Bartlett factors, so E = ||L_A^T L_B||^2 / (||L_A||^2 ||L_B||^2).
// Per draw this costs O(k^2) variates and O(k^3) flops.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "svr/core/random_variates.hpp"
#include "svr/stats/pvalues.hpp"

namespace svr {
namespace {

// Lower-triangular Bartlett factor of a k x n Gaussian matrix (n >= k): L_ii ~ chi(n - i), normals
// below the diagonal.
void draw_lower_bartlett(RandomVariates& sampler, std::int64_t n, Eigen::MatrixXd& L) {
  const Eigen::Index k = L.rows();
  for (Eigen::Index i = 0; i < k; ++i) {
    for (Eigen::Index j = 0; j < i; ++j) L(i, j) = sampler.normal();
    L(i, i) = sampler.chi(static_cast<double>(n - i));
  }
}

}  // namespace

SimulatedNull::SimulatedNull(std::int64_t c, std::int64_t z_u, std::int64_t z_v,
                             std::int64_t draws, std::uint64_t seed) {
  if (c < 1 || z_u < 1 || z_v < 1 || draws < 1) {
    throw std::invalid_argument("SimulatedNull: need c, z_u, z_v, draws >= 1 (c = " +
                                std::to_string(c) + ", z_u = " + std::to_string(z_u) +
                                ", z_v = " + std::to_string(z_v) + ")");
  }
  const std::int64_t zs = std::min(z_u, z_v), zl = std::max(z_u, z_v);
  const bool reduce_channels = zs < c;
  const Eigen::Index k = static_cast<Eigen::Index>(reduce_channels ? zs : c);
  // P and Q are the two k x k lower-triangular factors.
  Eigen::MatrixXd P = Eigen::MatrixXd::Zero(k, k), Q = Eigen::MatrixXd::Zero(k, k);
  const double rest_dof = static_cast<double>(zl) * static_cast<double>(c - zs);

  RandomVariates sampler(seed);
  sample_.resize(static_cast<std::size_t>(draws));
  for (auto& e : sample_) {
    double rest = 0.0, product = 0.0;
    if (reduce_channels) {
      draw_lower_bartlett(sampler, c, P);   // R^T, R the QR factor of the narrower side
      draw_lower_bartlett(sampler, zl, Q);  // L, the LQ factor of the block meeting R
      rest = sampler.chi_squared(rest_dof);
      // ||R^T L||^2; R^T L is lower triangular: (R^T L)_ij = sum_{j <= m <= i} P_im Q_mj.
      for (Eigen::Index j = 0; j < k; ++j) {
        for (Eigen::Index i = j; i < k; ++i) {
          double s = 0.0;
          for (Eigen::Index m = j; m <= i; ++m) s += P(i, m) * Q(m, j);
          product += s * s;
        }
      }
    } else {
      draw_lower_bartlett(sampler, z_u, P);
      draw_lower_bartlett(sampler, z_v, Q);
      // ||L_A^T L_B||^2 with (L_A^T L_B)_ij = sum_{m >= max(i, j)} P_mi Q_mj.
      for (Eigen::Index j = 0; j < k; ++j) {
        for (Eigen::Index i = 0; i < k; ++i) {
          double s = 0.0;
          for (Eigen::Index m = std::max(i, j); m < k; ++m) s += P(m, i) * Q(m, j);
          product += s * s;
        }
      }
    }
    e = product / (P.squaredNorm() * (Q.squaredNorm() + rest));
  }
  std::sort(sample_.begin(), sample_.end());
}

double SimulatedNull::log10_sf(double e) const {
  const auto first = std::lower_bound(sample_.begin(), sample_.end(), e);
  const auto count = std::max<std::ptrdiff_t>(sample_.end() - first, 1);
  return std::log10(static_cast<double>(count) / static_cast<double>(sample_.size()));
}

}  // namespace svr
