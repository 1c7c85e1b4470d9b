// Edge weights E between consecutive layers (spec section 3) as a few large GEMMs.
#include "svr/linalg/edge_weights.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "svr/linalg/blas.hpp"

namespace svr {
namespace {

// Rows a*z + p (a < c) of M: the channel vectors of position p, c x cols.
Eigen::MatrixXd gather_position(const Eigen::MatrixXd& M, std::int64_t c, std::int64_t z,
                                std::int64_t p) {
  if (z == 1) return M;
  // Column-major storage: rows p, p + z, ... are an inner-strided view.
  using StridedMap =
      Eigen::Map<const Eigen::MatrixXd, 0, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;
  return StridedMap(M.data() + p, c, M.cols(),
                    Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(M.rows(), z));
}

}  // namespace

Eigen::MatrixXd edge_weights(const Eigen::MatrixXd& U_from, const Eigen::MatrixXd& V_to,
                             std::int64_t c, std::int64_t z_u, std::int64_t z_v) {
  if (c < 1 || z_u < 1 || z_v < 1 || U_from.rows() != c * z_u || V_to.rows() != c * z_v) {
    throw std::invalid_argument(
        "edge_weights: U_from needs c*z_u rows and V_to c*z_v rows (c = " + std::to_string(c) +
        ", z_u = " + std::to_string(z_u) + ", z_v = " + std::to_string(z_v) + ", rows " +
        std::to_string(U_from.rows()) + " and " + std::to_string(V_to.rows()) + ")");
  }
  // E = sum_{p, q} (V_q^T U_p) o (V_q^T U_p): one r_to x c x r_from GEMM per (p, q). The V_q are
  // gathered once (same memory as V_to); U_p is gathered per p.
  std::vector<Eigen::MatrixXd> v_blocks;
  v_blocks.reserve(static_cast<std::size_t>(z_v));
  for (std::int64_t q = 0; q < z_v; ++q) v_blocks.push_back(gather_position(V_to, c, z_v, q));

  Eigen::MatrixXd E = Eigen::MatrixXd::Zero(V_to.cols(), U_from.cols());
  Eigen::MatrixXd M(V_to.cols(), U_from.cols());
  for (std::int64_t p = 0; p < z_u; ++p) {
    const Eigen::MatrixXd U_p = gather_position(U_from, c, z_u, p);
    for (const auto& V_q : v_blocks) {
      blas::gemm('T', V_q, 'N', U_p, M);  // BLAS: Eigen's kernels are ~3.5x slower
      E += M.cwiseAbs2();
    }
  }
  return E;
}

}  // namespace svr
