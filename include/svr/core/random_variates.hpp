#pragma once
// Random variates from std::mt19937_64 alone, whose output the C++ standard fixes, so a seeded
// sample is the same with every standard library, on every platform and on every rank (the
// std:: distributions' algorithms are left to the implementation). Used by the simulated null
// (stats) and the start block of the truncated SVD (linalg).
#include <cstdint>
#include <random>

namespace svr {

class RandomVariates {
 public:
  explicit RandomVariates(std::uint64_t seed) : engine_(seed) {}

  // Uniform on (0, 1].
  double uniform() { return (static_cast<double>(engine_() >> 11) + 1.0) * 0x1.0p-53; }

  // Standard normal, by Marsaglia's polar method.
  double normal();

  // Gamma(shape, 1), Marsaglia-Tsang; shape < 1 through Gamma(shape + 1) * U^(1/shape).
  double gamma(double shape);

  double chi_squared(double dof) { return 2.0 * gamma(0.5 * dof); }
  double chi(double dof);

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace svr
