#pragma once
// Null laws of the edge weight E (spec section 4): exact Beta tail in log space, the chi-square
// compatibility threshold of the public implementation, and the simulated law used when both
// sides of a pair carry positions.
#include <cstdint>
#include <vector>

namespace svr {

// log10 P(X >= x) for X ~ Beta(a, b). Never formed as 1 - cdf; finite far below 1e-300
// (x = 1 gives -inf, x <= 0 gives 0). a, b > 0, otherwise std::invalid_argument.
double log10_beta_sf(double x, double a, double b);

// The x with P(X >= x) = p for X ~ Beta(a, b), 0 < p < 1: the smallest E that can reach level p.
double beta_upper_quantile(double p, double a, double b);

// The log-space evaluation used by log10_beta_sf once Boost's ibetac underflows: log of the
// continued fraction of I_{1-x}(b, a) with a cancellation-free power prefactor. Valid in the upper
// tail, x >= (a + 1) / (a + b + 2); exposed so that tests can check the switch-over.
double log10_beta_sf_log_space(double x, double a, double b);

// Parameters of the Beta null law of E for c channels and z positions on the tested side:
// a = z / 2, b = (c z - z) / 2 (spec section 4). c >= 2, z >= 1.
struct BetaParams {
  double a = 0, b = 0;
};
BetaParams beta_null_params(std::int64_t c, std::int64_t z);

// Edge threshold of the compatibility rule: E >= chi2_quantile(Phi(sigma), z) / (z * c).
double chi2_edge_threshold(double sigma, std::int64_t z, std::int64_t c);

// Null law of E when both sides carry positions (cosvr, conv -> linear): u uniform on
// S^(c z_u - 1), v uniform on S^(c z_v - 1), independent, E = ||A^T B||_F^2 with A = u reshaped
// c x z_u (A[a][p] = u[a z_u + p]) and B = v reshaped c x z_v. Monte Carlo with a fixed seed,
// reproducible on a given platform (own normal and gamma samplers on std::mt19937_64).
class SimulatedNull {
 public:
  SimulatedNull(std::int64_t c, std::int64_t z_u, std::int64_t z_v, std::int64_t draws,
                std::uint64_t seed);
  // log10(max(#{sample >= e}, 1) / draws): p is floored at 1 / draws.
  double log10_sf(double e) const;
  std::int64_t draws() const { return static_cast<std::int64_t>(sample_.size()); }
  const std::vector<double>& sorted_sample() const { return sample_; }

 private:
  std::vector<double> sample_;  // ascending
};

}  // namespace svr
