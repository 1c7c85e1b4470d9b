// Top-K SVD by a block Krylov method with thick restarts (docs/algorithms.md, "Truncated SVD").
//
// The basis Q lives on the short side of M (dimension n = min(rows, cols)); B is M or M^T so
// that B Q is defined, and W = B Q is kept next to Q. Each iteration:
//   1. Rayleigh-Ritz: the eigenvectors Z of G = W^T W = Q^T B^T B Q give the Ritz vectors
//      x = Q z, y = W z / s, s = ||W z||;
//   2. the residuals R = B^T Y - X diag(s) of the wanted Ritz triplets decide convergence
//      (B x - s y = 0 holds by construction);
//   3. the residuals that are not small yet, orthonormalised against Q, extend the basis. Mod
//      span(Q) they are B^T B x: the basis is a block Krylov space of B^T B (block Lanczos, with
//      soft locking of the converged triplets);
//   4. when the basis is full, it restarts from its best Ritz vectors (thick restart).
// Every product with M is one BLAS gemm (blas::gemm).
#include "svr/linalg/truncated_svd.hpp"

#include <Eigen/QR>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "svr/core/error.hpp"
#include "svr/core/random_variates.hpp"
#include "svr/linalg/blas.hpp"
#include "svr/linalg/lapack.hpp"

namespace svr {
namespace {

using blas::gemm;
using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// The matrix B of the method: M when M is tall (cols <= rows), M^T when it is wide, so that the
// basis lives on the short side. Never stored: every product is a gemm with a transpose flag.
struct Operator {
  const MatrixXd& M;
  bool wide;
  Index short_dim() const { return wide ? M.rows() : M.cols(); }
  Index long_dim() const { return wide ? M.cols() : M.rows(); }
  MatrixXd times(const MatrixXd& X) const { return gemm(wide ? 'T' : 'N', M, 'N', X); }
  MatrixXd transpose_times(const MatrixXd& Y) const { return gemm(wide ? 'N' : 'T', M, 'N', Y); }
};

// A fixed pseudo-random Gaussian block (RandomVariates: the same draws on every platform and
// every rank).
MatrixXd gaussian_block(Index rows, Index cols, std::uint64_t seed) {
  RandomVariates variates(seed);
  MatrixXd X(rows, cols);
  for (Index k = 0; k < X.size(); ++k) X.data()[k] = variates.normal();
  return X;
}

// An orthonormal basis of the part of span(X) orthogonal to span(Q) (Q orthonormal). The columns
// of X are scaled to unit norm first, so that a small residual counts as much as a large one;
// directions that are (numerically) in span(Q) or in the span of the other columns are dropped.
// Classical Gram-Schmidt twice against Q, a rank-revealing QR within the block, and once more
// against Q to remove what the QR's rounding brought back.
MatrixXd orthonormal_extension(const MatrixXd& Q, MatrixXd X) {
  for (Index j = 0; j < X.cols(); ++j) {
    const double norm = X.col(j).norm();
    if (norm > 0) X.col(j) /= norm;
  }
  for (int pass = 0; pass < 2 && Q.cols() > 0; ++pass) X -= gemm('N', Q, 'N', gemm('T', Q, 'N', X));
  Eigen::ColPivHouseholderQR<MatrixXd> qr(X);
  qr.setThreshold(1e-8);  // on unit-norm columns: anything smaller is rounding of span(Q)
  const Index rank = qr.rank();
  MatrixXd basis = qr.householderQ() * MatrixXd::Identity(X.rows(), rank);
  if (Q.cols() > 0) basis -= gemm('N', Q, 'N', gemm('T', Q, 'N', basis));
  return Eigen::HouseholderQR<MatrixXd>(basis).householderQ() * MatrixXd::Identity(X.rows(), rank);
}

// A rough operation count of the full SVD (dgesdd, job 'S') of a long x short matrix: the QR or
// bidiagonal reduction and the accumulation of both factors. Only used to stop the Krylov method
// once it has cost as much as the SVD it is meant to avoid.
double full_svd_flops(double long_dim, double short_dim) {
  return 4.0 * long_dim * short_dim * short_dim + 8.0 * short_dim * short_dim * short_dim;
}

}  // namespace

double svd_residual(const MatrixXd& M, const Spectrum& spectrum) {
  if (spectrum.s.size() == 0) return 0.0;
  const double s_max = spectrum.s.maxCoeff();
  if (!(s_max > 0)) return 0.0;
  const MatrixXd MV = gemm('N', M, 'N', spectrum.V) - spectrum.U * spectrum.s.asDiagonal();
  const MatrixXd MtU = gemm('T', M, 'N', spectrum.U) - spectrum.V * spectrum.s.asDiagonal();
  return std::max(MV.colwise().norm().maxCoeff(), MtU.colwise().norm().maxCoeff()) / s_max;
}

std::optional<TruncatedSvdResult> krylov_svd(const MatrixXd& M,
                                             const TruncatedSvdSettings& settings,
                                             std::string* why) {
  const Index short_dim = std::min(M.rows(), M.cols());
  const Index K = static_cast<Index>(settings.rank);
  if (settings.rank < 1 || K >= short_dim)
    throw std::invalid_argument("krylov_svd: rank " + std::to_string(settings.rank) +
                                " must be in [1, min(rows, cols) - 1] for a " +
                                std::to_string(M.rows()) + "x" + std::to_string(M.cols()) +
                                " matrix");
  if (!(settings.tolerance > 0) || settings.max_iterations < 1 || !(settings.max_cost > 0))
    throw std::invalid_argument(
        "krylov_svd: the tolerance, max_iterations and max_cost must be positive");
  if (!M.allFinite()) throw NumericalError("krylov_svd: the matrix contains NaN or Inf");
  const auto give_up = [why](const std::string& reason) -> std::optional<TruncatedSvdResult> {
    if (why != nullptr) *why = reason;
    return std::nullopt;
  };

  const Operator B{M, M.cols() > M.rows()};
  const Index n = B.short_dim();
  // Ritz triplets tracked and extended: K plus a margin, so that the K-th converges at the rate
  // of its gap to the (keep+1)-th value rather than to the (K+1)-th.
  const Index keep = std::min(n, K + std::max<Index>(10, K / 4));
  // A large basis needs fewer products in all (measured: 8 blocks of `keep` columns took ~20 %
  // fewer than 6 and ~40 % fewer than 3 on Gaussian and power-law spectra).
  const Index max_basis = std::min(n, 8 * keep);
  const double flop_budget =
      settings.max_cost * full_svd_flops(static_cast<double>(B.long_dim()), static_cast<double>(n));
  const double flops_per_column = 2.0 * static_cast<double>(B.long_dim()) * static_cast<double>(n);

  MatrixXd Q = orthonormal_extension(MatrixXd(n, 0), gaussian_block(n, keep, 0x5356'5221u + n));
  MatrixXd W = B.times(Q);
  MatrixXd G = gemm('T', W, 'N', W);
  double flops = flops_per_column * static_cast<double>(Q.cols());

  TruncatedSvdResult result;
  for (std::int64_t iteration = 0;; ++iteration) {
    // Rayleigh-Ritz on the basis: the eigenvectors of G by decreasing eigenvalue.
    const Index m = Q.cols();
    MatrixXd ritz = G;
    VectorXd eigenvalues(m);
    try {
      lapack::syevd('V', 'L', to_lapack_int(m), ritz.data(), to_lapack_int(std::max<Index>(1, m)),
                    eigenvalues.data());
    } catch (const LapackError& error) {
      if (error.info() < 0) throw;
      return give_up("the Rayleigh-Ritz eigensolver did not converge");
    }
    ritz = ritz.rowwise().reverse().eval();
    const Index tracked = std::min(keep, m);
    const MatrixXd Z = ritz.leftCols(tracked);
    const MatrixXd X = gemm('N', Q, 'N', Z);
    MatrixXd Y = gemm('N', W, 'N', Z);  // B X
    // s = ||B x||, more accurate than the square roots of G's eigenvalues.
    VectorXd s = Y.colwise().norm().transpose();
    const double s_max = s.maxCoeff();
    if (!(s_max > 0)) return give_up("the matrix is zero");
    if (s[K - 1] <= static_cast<double>(n) * std::numeric_limits<double>::epsilon() * s_max)
      return give_up("its numerical rank is below " + std::to_string(K));
    for (Index j = 0; j < tracked; ++j) Y.col(j) /= s[j] > 0 ? s[j] : 1.0;
    const MatrixXd R = B.transpose_times(Y) - X * s.asDiagonal();
    flops += flops_per_column * static_cast<double>(tracked);
    const VectorXd residual = R.colwise().norm().transpose() / s_max;

    if (residual.head(K).maxCoeff() <= settings.tolerance) {
      // The norms come in the eigenvalues' order up to rounding; sort them by s exactly.
      std::vector<Index> order(static_cast<std::size_t>(K));
      for (Index j = 0; j < K; ++j) order[static_cast<std::size_t>(j)] = j;
      std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return s[a] > s[b]; });
      const MatrixXd& left = B.wide ? X : Y;
      const MatrixXd& right = B.wide ? Y : X;
      Spectrum& out = result.spectrum;
      out.s.resize(K);
      out.U.resize(left.rows(), K);
      out.V.resize(right.rows(), K);
      for (Index j = 0; j < K; ++j) {
        const Index from = order[static_cast<std::size_t>(j)];
        out.s[j] = s[from];
        out.U.col(j) = left.col(from);
        out.V.col(j) = right.col(from);
      }
      result.report.method = "lapack-krylov";
      result.report.iterations = iteration;
      result.report.residual = svd_residual(M, out);
      if (*result.report.residual > settings.tolerance)
        return give_up("its final residual " + std::to_string(*result.report.residual) +
                       " is above the tolerance");
      return result;
    }
    if (iteration >= settings.max_iterations)
      return give_up("the residual is still " + std::to_string(residual.head(K).maxCoeff()) +
                     " after " + std::to_string(iteration) + " iterations");
    if (flops > flop_budget)
      return give_up("the residual is still " + std::to_string(residual.head(K).maxCoeff()) +
                     " after " + std::to_string(iteration) +
                     " iterations, which cost as much as the full SVD");

    // Extend the basis with the residuals that are not small yet (all tracked triplets: the
    // margin's convergence speeds up the K-th).
    std::vector<Index> active;
    for (Index j = 0; j < tracked; ++j)
      if (residual[j] > settings.tolerance) active.push_back(j);
    MatrixXd directions(n, static_cast<Index>(active.size()));
    for (std::size_t a = 0; a < active.size(); ++a)
      directions.col(static_cast<Index>(a)) = R.col(active[a]);
    MatrixXd block = orthonormal_extension(Q, directions);
    if (block.cols() == 0)  // residuals inside the basis (rounding): a fresh direction instead
      block = orthonormal_extension(
          Q, gaussian_block(n, std::max<Index>(1, active.size()), 0x5356'5222u + iteration));
    if (m + block.cols() > max_basis) {
      // Thick restart: keep the best Ritz vectors (block stays orthogonal: it is to all of Q).
      const Index restart = std::max(keep, max_basis - block.cols());
      if (restart < m) {
        const MatrixXd best = ritz.leftCols(restart);
        Q = gemm('N', Q, 'N', best);
        W = gemm('N', W, 'N', best);
        G = gemm('T', W, 'N', W);
      }
      const Index room = max_basis - Q.cols();
      if (room <= 0) return give_up("the Krylov basis has no room left");
      if (block.cols() > room) block.conservativeResize(Eigen::NoChange, room);
    }
    const MatrixXd W_block = B.times(block);
    flops += flops_per_column * static_cast<double>(block.cols());
    const Index old = Q.cols();
    Q.conservativeResize(Eigen::NoChange, old + block.cols());
    Q.rightCols(block.cols()) = block;
    W.conservativeResize(Eigen::NoChange, old + block.cols());
    W.rightCols(block.cols()) = W_block;
    const MatrixXd cross = gemm('T', W, 'N', W_block);  // (old + b) x b
    G.conservativeResize(old + block.cols(), old + block.cols());
    G.rightCols(block.cols()) = cross;
    G.bottomLeftCorner(block.cols(), old) = cross.topRows(old).transpose();
  }
}

TruncatedSvdResult truncated_or_full_svd(const MatrixXd& M, std::optional<std::int64_t> max_rank,
                                         double tolerance, std::int64_t max_iterations) {
  TruncatedSvdResult result;
  if (max_rank && *max_rank >= 1 && *max_rank < std::min(M.rows(), M.cols())) {
    std::string why;
    if (auto krylov = krylov_svd(M, {*max_rank, tolerance, max_iterations}, &why))
      return std::move(*krylov);
    result.report.fallback = why;
  }
  result.spectrum = thin_svd(M, max_rank);
  result.report.method = "lapack-full";
  return result;
}

}  // namespace svr
