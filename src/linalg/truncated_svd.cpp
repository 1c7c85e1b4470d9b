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
#include <cmath>
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

// Operation counts in flops of BLAS gemm, the unit of every step of the method. The full SVD
// (dgesdd, job 'S') of a long x short matrix does about 4 long short^2 + 8 short^3 flops (QR or
// bidiagonal reduction, and accumulating both factors), but half of its bidiagonal reduction is
// matrix-vector work: measured against this method's counts on one core (OpenBLAS; 4096 x 4096,
// 4096 x 25088 and 2048 x 10000 Gaussian-like matrices), dgesdd took 1.1-1.3 times as long as
// its count would at this method's rate, hence the factor 1.25 (docs/algorithms.md). Only used
// to decide when the Krylov method costs more than the SVD it is meant to avoid.
constexpr double full_svd_slowdown = 1.25;
double full_svd_cost(double long_dim, double short_dim) {
  return full_svd_slowdown *
         (4.0 * long_dim * short_dim * short_dim + 8.0 * short_dim * short_dim * short_dim);
}
// sgesdd against dgesdd on the same matrices (OpenBLAS, one core): 2.3x as fast on 2048 x 2048
// Gaussian; the budget assumes 2 (docs/algorithms.md, "Single precision").
constexpr double single_precision_speedup = 2.0;
// The projection below overestimated the final cost by up to 1.8x on the same matrices (most
// just before the first restart), so it gives up only when it projects more than this many
// times the budget.
constexpr double projection_margin = 1.6;
double gemm_cost(Index rows, Index inner, Index cols) {
  return 2.0 * static_cast<double>(rows) * static_cast<double>(inner) * static_cast<double>(cols);
}
// dsyevd with vectors on an m x m matrix: tridiagonal reduction, divide and conquer and the back
// transformation, measured at about 8 m^3 gemm flops.
double eigensolver_cost(Index m) { return 8.0 * static_cast<double>(m) * m * m; }
// orthonormal_extension of b columns against an n x m basis: two Gram-Schmidt passes and one
// correction (2 gemms each), and Eigen's unblocked QRs of the n x b block (counted twice).
double extension_cost(Index n, Index m, Index b) {
  return 6.0 * gemm_cost(n, m, b) + 4.0 * gemm_cost(n, b, b);
}

// The steps of the method on an L x n operator, in these units. Appending a block of b columns
// to a basis of `old`: its product with M and its column of the Gram matrix.
double append_cost(Index L, Index n, Index old, Index b) {
  return gemm_cost(L, n, b) + gemm_cost(old + b, L, b);
}
// The start block of `keep` columns: orthonormalised and appended to an empty basis.
double start_cost(Index L, Index n, Index keep) {
  return extension_cost(n, 0, keep) + append_cost(L, n, 0, keep);
}
// Rayleigh-Ritz on a basis of m columns, `tracked` Ritz triplets and their residuals.
double rayleigh_ritz_cost(Index L, Index n, Index m, Index tracked) {
  return eigensolver_cost(m) + gemm_cost(n, m, tracked) + gemm_cost(L, m, tracked) +
         gemm_cost(n, L, tracked);
}

// What the start block and the first `count` iterations cost, each extending the basis by a
// block of `keep` columns (the loop below, counted the same way).
double first_iterations_cost(Index L, Index n, Index keep, Index max_basis, int count) {
  double cost = start_cost(L, n, keep);
  Index m = keep;
  for (int i = 0; i < count; ++i) {
    cost += rayleigh_ritz_cost(L, n, m, keep) + extension_cost(n, m, keep);
    const Index block = std::min(keep, max_basis - m);
    if (block <= 0) break;
    cost += append_cost(L, n, m, block);
    m += block;
  }
  return cost;
}

// How many more iterations until the largest wanted residual reaches the tolerance, if it keeps
// falling at the fastest geometric mean rate it has shown over `window` consecutive iterations;
// infinity when it never fell. The fastest rate, not the latest: Krylov methods often stall for a
// few iterations (before the first restart, measured on Marchenko-Pastur spectra) and then
// speed up, so the latest rate would give up on layers that converge in 0.7 times the full SVD's
// cost (docs/algorithms.md).
double projected_iterations(const std::vector<double>& history, double tolerance, int window) {
  const auto w = static_cast<std::size_t>(window);
  if (history.size() <= w) return 0.0;
  double best_rate = 1.0;
  for (std::size_t i = w; i < history.size(); ++i)
    if (history[i] > 0 && history[i] < history[i - w])
      best_rate = std::min(best_rate, std::pow(history[i] / history[i - w], 1.0 / window));
  if (!(best_rate < 1.0)) return std::numeric_limits<double>::infinity();
  return std::max(0.0, std::log(tolerance / history.back()) / std::log(best_rate));
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
                                             KrylovGiveUp* why) {
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
  const auto give_up = [why](const std::string& reason,
                             bool cost = false) -> std::optional<TruncatedSvdResult> {
    if (why != nullptr) *why = {reason, cost};
    return std::nullopt;
  };

  const Operator B{M, M.cols() > M.rows()};
  const Index n = B.short_dim();
  const Index L = B.long_dim();
  // Ritz triplets tracked and extended: K plus a margin, so that the K-th converges at the rate
  // of its gap to the (keep+1)-th value rather than to the (K+1)-th.
  const Index keep = std::min(n, K + std::max<Index>(10, K / 4));
  // A large basis needs fewer products in all (measured: 8 blocks of `keep` columns took ~20 %
  // fewer than 6 and ~40 % fewer than 3 on Gaussian and power-law spectra). A restart keeps half
  // of it, so that restarts (two products with the whole basis) come every few iterations.
  const Index max_basis = std::min(n, 8 * keep);
  const Index restart_size = std::max(keep, max_basis / 2);
  const double budget =
      settings.max_cost * full_svd_cost(static_cast<double>(L), static_cast<double>(n)) /
      (settings.full_svd_precision == SvdPrecision::Single ? single_precision_speedup : 1.0);
  // No Krylov method converges in fewer than a few iterations on anything but a trivial
  // spectrum: when K is so large a part of n that two would cost more than the budget, the full
  // SVD is cheaper from the start.
  if (first_iterations_cost(L, n, keep, max_basis, 2) > budget)
    return give_up("K = " + std::to_string(K) + " is too large a part of min(rows, cols) = " +
                       std::to_string(n) + ": two iterations would cost more than the full SVD",
                   true);

  MatrixXd Q = orthonormal_extension(MatrixXd(n, 0), gaussian_block(n, keep, 0x5356'5221u + n));
  MatrixXd W = B.times(Q);
  MatrixXd G = gemm('T', W, 'N', W);
  double cost = start_cost(L, n, keep);
  std::vector<double> residual_history;  // the largest wanted residual, per iteration
  std::vector<double> cost_history;      // the cost spent, per iteration

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
    eigenvalues.reverseInPlace();
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
    const VectorXd residual = R.colwise().norm().transpose() / s_max;
    cost += rayleigh_ritz_cost(L, n, m, tracked);
    const double worst = residual.head(K).maxCoeff();

    if (worst <= settings.tolerance) {
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
    const std::string progress = "the residual is still " + std::to_string(worst) + " after " +
                                 std::to_string(iteration) + " iterations";
    if (iteration >= settings.max_iterations) return give_up(progress);
    if (cost > budget) return give_up(progress + ", which cost as much as the full SVD", true);
    // Give up early when the rate so far says the tolerance would cost more than the full SVD.
    residual_history.push_back(worst);
    cost_history.push_back(cost);
    constexpr int window = 3;
    const double remaining = projected_iterations(residual_history, settings.tolerance, window);
    if (remaining > 0) {
      const double per_iteration = (cost - cost_history[cost_history.size() - 1 - window]) / window;
      if (cost + remaining * per_iteration > projection_margin * budget)
        return give_up(progress + ", falling at a rate that would cost more than the full SVD",
                       true);
    }

    // Extend the basis with the residuals that are not small yet (all tracked triplets: the
    // margin's convergence speeds up the K-th).
    std::vector<Index> active;
    for (Index j = 0; j < tracked; ++j)
      if (residual[j] > settings.tolerance) active.push_back(j);
    MatrixXd directions(n, static_cast<Index>(active.size()));
    for (std::size_t a = 0; a < active.size(); ++a)
      directions.col(static_cast<Index>(a)) = R.col(active[a]);
    MatrixXd block = orthonormal_extension(Q, directions);
    cost += extension_cost(n, m, directions.cols());
    if (block.cols() == 0) {  // residuals inside the basis (rounding): a fresh direction instead
      const Index fresh = std::max<Index>(1, static_cast<Index>(active.size()));
      block = orthonormal_extension(Q, gaussian_block(n, fresh, 0x5356'5222u + iteration));
      cost += extension_cost(n, m, fresh);
    }
    if (m + block.cols() > max_basis) {
      // Thick restart from the best Ritz vectors, for which G becomes diagonal (block stays
      // orthogonal: it is to all of Q).
      if (restart_size < m) {
        const MatrixXd best = ritz.leftCols(restart_size);
        Q = gemm('N', Q, 'N', best);
        W = gemm('N', W, 'N', best);
        G = eigenvalues.head(restart_size).asDiagonal();
        cost += gemm_cost(n, m, restart_size) + gemm_cost(L, m, restart_size);
      }
      const Index room = max_basis - Q.cols();
      if (room <= 0) return give_up("the Krylov basis has no room left");
      if (block.cols() > room) block.conservativeResize(Eigen::NoChange, room);
    }
    const MatrixXd W_block = B.times(block);
    const Index old = Q.cols();
    Q.conservativeResize(Eigen::NoChange, old + block.cols());
    Q.rightCols(block.cols()) = block;
    W.conservativeResize(Eigen::NoChange, old + block.cols());
    W.rightCols(block.cols()) = W_block;
    const MatrixXd cross = gemm('T', W, 'N', W_block);  // (old + b) x b
    G.conservativeResize(old + block.cols(), old + block.cols());
    G.rightCols(block.cols()) = cross;
    G.bottomLeftCorner(block.cols(), old) = cross.topRows(old).transpose();
    cost += append_cost(L, n, old, block.cols());
  }
}

TruncatedSvdResult truncated_or_full_svd(const MatrixXd& M, std::optional<std::int64_t> max_rank,
                                         TruncatedSvdSettings limits) {
  TruncatedSvdResult result;
  if (max_rank && *max_rank >= 1 && *max_rank < std::min(M.rows(), M.cols())) {
    limits.rank = *max_rank;
    KrylovGiveUp why;
    if (auto krylov = krylov_svd(M, limits, &why)) return std::move(*krylov);
    result.report.fallback = why.reason;
    result.report.fallback_cost = why.cost;
  }
  result.spectrum = thin_svd(M, max_rank, limits.full_svd_precision);
  result.report.method = "lapack-full";
  result.report.precision = to_string(limits.full_svd_precision);
  return result;
}

}  // namespace svr
