#pragma once
// Edge weights between the spectral neurons of two consecutive layers (spec section 3).
#include <Eigen/Dense>
#include <cstdint>

namespace svr {

// E[j, i] = sum_{p < z_u, q < z_v} ( sum_{a < c} V_to(a z_v + q, j) U_from(a z_u + p, i) )^2.
// U_from: (c z_u) x r_from, columns = neurons i of layer l; V_to: (c z_v) x r_to, columns =
// neurons j of layer l+1. Returns r_to x r_from. Computed as z_u z_v GEMMs of size
// r_to x c x r_from. Mismatched shapes throw std::invalid_argument.
Eigen::MatrixXd edge_weights(const Eigen::MatrixXd& U_from, const Eigen::MatrixXd& V_to,
                             std::int64_t c, std::int64_t z_u, std::int64_t z_v);

}  // namespace svr
