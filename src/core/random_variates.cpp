#include "svr/core/random_variates.hpp"

#include <cmath>

namespace svr {

double RandomVariates::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double x, y, r2;
  do {
    x = 2.0 * uniform() - 1.0;
    y = 2.0 * uniform() - 1.0;
    r2 = x * x + y * y;
  } while (r2 >= 1.0 || r2 == 0.0);
  const double f = std::sqrt(-2.0 * std::log(r2) / r2);
  spare_ = y * f;
  has_spare_ = true;
  return x * f;
}

double RandomVariates::gamma(double shape) {
  if (shape < 1.0) return gamma(shape + 1.0) * std::pow(uniform(), 1.0 / shape);
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

double RandomVariates::chi(double dof) { return std::sqrt(chi_squared(dof)); }

}  // namespace svr
