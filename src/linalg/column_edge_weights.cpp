#include "column_edge_weights.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <stdexcept>
#include <string>

#include "svr/linalg/blas.hpp"

namespace svr::column_edges {
namespace {

// A chunk's buffers stay within both (256 columns keep the products efficient BLAS calls).
constexpr double kChunkBytes = 32.0 * 1024 * 1024;
constexpr std::int64_t kChunkColumns = 256;

// out (c z x cols, leading dimension c z) := the rows of `in` in position-major order:
// out(p c + a, j) = in(a z + p, j), so that position p is the row block p c .. p c + c - 1.
void to_position_major(const double* in, std::int64_t ld_in, std::int64_t c, std::int64_t z,
                       std::int64_t cols, double* out) {
  for (std::int64_t j = 0; j < cols; ++j) {
    const double* column = in + j * ld_in;
    double* target = out + j * c * z;
    for (std::int64_t a = 0; a < c; ++a)
      for (std::int64_t p = 0; p < z; ++p) target[p * c + a] = column[a * z + p];
  }
}

}  // namespace

double copy_bytes(std::int64_t rows, std::int64_t cols, std::int64_t z) {
  return 8.0 * static_cast<double>(rows) * static_cast<double>(cols) * (z > 1 ? 2.0 : 1.0);
}

void accumulate(const DistributedMatrix& X, std::int64_t z_x, const View& Y, std::int64_t z_y,
                std::int64_t c, DistributedMatrix& M) {
  const std::int64_t m = Y.cols, rows_x = c * z_x;
  if (X.grid().shape().rows != 1 || M.rows() != m || M.local_rows() != m ||
      M.local_cols() > X.local_cols() || M.block() != X.block() || X.rows() != rows_x ||
      Y.rows != c * z_y || Y.ld < std::max<std::int64_t>(1, Y.rows))
    throw std::invalid_argument(
        "column_edges::accumulate: operands of " + std::to_string(M.rows()) + "x" +
        std::to_string(M.cols()) + " do not match (c = " + std::to_string(c) +
        ", z_x = " + std::to_string(z_x) + ", z_y = " + std::to_string(z_y) + ")");
  const std::int64_t local_cols = M.local_cols();
  if (m == 0 || local_cols == 0) return;
  // Y's positions as contiguous row blocks, once.
  Eigen::MatrixXd y_positions;
  const double* y = Y.data;
  std::int64_t ld_y = Y.ld;
  if (z_y > 1) {
    y_positions.resize(Y.rows, m);
    to_position_major(Y.data, Y.ld, c, z_y, m, y_positions.data());
    y = y_positions.data();
    ld_y = Y.rows;
  }
  // Chunks of X's columns: the product block (m x width) and X's rearranged chunk stay small.
  const double per_column = 8.0 * static_cast<double>(std::max(m, z_x > 1 ? rows_x : 0));
  const std::int64_t width = std::min(
      local_cols, std::clamp<std::int64_t>(static_cast<std::int64_t>(kChunkBytes / per_column), 1,
                                           kChunkColumns));
  Eigen::MatrixXd x_positions(z_x > 1 ? rows_x : 0, z_x > 1 ? width : 0), T(m, width);
  for (std::int64_t first = 0; first < local_cols; first += width) {
    const std::int64_t w = std::min(width, local_cols - first);
    const double* x = X.data() + first * X.local_ld();
    std::int64_t ld_x = X.local_ld();
    if (z_x > 1) {
      to_position_major(x, ld_x, c, z_x, w, x_positions.data());
      x = x_positions.data();
      ld_x = rows_x;
    }
    double* e = M.data() + first * M.local_ld();
    for (std::int64_t p = 0; p < z_x; ++p) {
      for (std::int64_t q = 0; q < z_y; ++q) {
        // T = Y_q^T X_p (m x w), the products of position q of Y with position p of X.
        blas::gemm('T', 'N', m, w, c, 1.0, y + q * c, ld_y, x + p * c, ld_x, 0.0, T.data(), m);
        const double* t = T.data();
        for (std::int64_t k = 0; k < m * w; ++k) e[k] += t[k] * t[k];
      }
    }
  }
}

}  // namespace svr::column_edges
