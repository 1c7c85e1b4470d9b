#pragma once
// The block Krylov method with thick restarts shared by the truncated SVDs (docs/algorithms.md,
// "Truncated SVD"): on one rank (truncated_svd.cpp: M, or R^-1 for the bottom K) and on a
// ScaLAPACK grid (distributed_truncated_svd.cpp). Private to src/linalg/.
//
// The basis Q lives on the input side of an operator B (dimension n = short_dim()), W = B Q on
// its output side (L = long_dim()). Each iteration:
//   1. Rayleigh-Ritz: the eigenvectors Z of G = W^T W = Q^T B^T B Q give the Ritz vectors
//      x = Q z, y = W z / s, s = ||W z||. G's rounding, eps s_max^2, mixes the j-th Ritz vector
//      with the others by about eps (s_max / s_j)^2: when that comes near the tolerance (the
//      bottom K of a near-kernel, spread over decades on R^-1), the run switches to the right
//      singular vectors of W itself (a QR of W, then the SVD of its triangle), mixed by only
//      eps s_max / s_j;
//   2. the residuals R = B^T Y - X diag(s) of the wanted Ritz triplets decide convergence
//      (B x - s y = 0 holds by construction);
//   3. the residuals that are not small yet, orthonormalised against Q, extend the basis. Mod
//      span(Q) they are B^T B x: the basis is a block Krylov space of B^T B (block Lanczos, with
//      soft locking of the converged triplets);
//   4. when the basis is full, it restarts from its best Ritz vectors (thick restart).
//
// The operator supplies the products and the algebra of its blocks (tall matrices of n or L
// rows), so that the same iteration runs on Eigen matrices and on distributed ones:
//   using Block;                                  n x b or L x b
//   Index short_dim(), long_dim(); double column_cost();   flops of one product per column
//   Block times(const Block& X), transpose_times(const Block& Y);
//   Block start_block(Index cols, uint64_t seed);  orthonormal, fixed pseudo-random
//   Block extension(const Block& Q, const Block& X);  orthonormal basis of span(X) mod span(Q)
//   MatrixXd gram(const Block& A, const Block& B);    A^T B, the same on every rank
//   Block product(const Block& A, const MatrixXd& Z); A Z
//   VectorXd column_norms(const Block& A);            the same on every rank
//   void divide_columns(Block& A, const VectorXd& d); A(:, j) /= d[j]
//   Block minus_scaled(const Block& A, const Block& X, const VectorXd& s);  A - X diag(s)
//   Block columns(const Block& A, const std::vector<Index>& which);
//   Block leading(const Block& A, Index count);
//   Block append(const Block& A, const Block& X);    [A X]
//   Index cols(const Block& A); bool all_finite(const Block& A);  (the same on every rank)
//   bool symmetric_eigen(MatrixXd& G, VectorXd& w);   dsyevd, ascending; false: no convergence
//   bool singular_ritz(const Block& W, MatrixXd& Z, VectorXd& s);  W's right singular vectors
//     and values, decreasing (a QR of W, then right_singular_vectors of its triangle)
//   static constexpr bool inverts;  true for T^-1, which also supplies
//     Block original_transpose_times(const Block& R);  T^T R
//     double original_norm();                          s_max(T)
//   double epsilon();                                 the rounding unit of the blocks
// Every decision below is taken on values that are the same on every rank (the operator makes
// sure), so the ranks of a grid always take the same branch.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "svr/linalg/lapack.hpp"
#include "svr/linalg/svd.hpp"
#include "svr/linalg/truncated_svd.hpp"

namespace svr::krylov {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// A residual in a message: "3.2e-11", where std::to_string would print 0.000000.
inline std::string residual_text(double residual) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1e", residual);
  return text;
}

// The right singular vectors Z (by decreasing value) and the values s of an m x m matrix R, by
// thin_svd (dgesdd, dgesvd when that fails); false when neither converged. Never throws for a
// convergence failure: on a grid only rank 0 calls it, and the verdict is broadcast.
inline bool right_singular_vectors(const MatrixXd& R, MatrixXd& Z, VectorXd& s) {
  try {
    Spectrum svd = thin_svd(R);
    Z = std::move(svd.V);
    s = std::move(svd.s);
  } catch (const LapackError& error) {
    if (error.info() < 0) throw;  // a bad argument is a bug
    return false;
  }
  return true;
}

// Operation counts in flops of BLAS gemm, the unit of every step of the method. The full SVD
// (dgesdd, job 'S') of a long x short matrix does about 4 long short^2 + 8 short^3 flops (QR or
// bidiagonal reduction, and accumulating both factors), but half of its bidiagonal reduction is
// matrix-vector work: measured against this method's counts on one core (OpenBLAS; 4096 x 4096,
// 4096 x 25088 and 2048 x 10000 Gaussian-like matrices), dgesdd took 1.1-1.3 times as long as
// its count would at this method's rate, hence the factor 1.25 (docs/algorithms.md). Only used
// to decide when the Krylov method costs more than the SVD it is meant to avoid.
constexpr double full_svd_slowdown = 1.25;
inline double full_svd_cost(double long_dim, double short_dim) {
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
inline double gemm_cost(Index rows, Index inner, Index cols) {
  return 2.0 * static_cast<double>(rows) * static_cast<double>(inner) * static_cast<double>(cols);
}
// dsyevd with vectors on an m x m matrix: tridiagonal reduction, divide and conquer and the back
// transformation, measured at about 8 m^3 gemm flops.
inline double eigensolver_cost(Index m) { return 8.0 * static_cast<double>(m) * m * m; }
// The extension of b columns against an n x m basis: two Gram-Schmidt passes and one
// correction (2 gemms each), and the orthonormalisations of the n x b block (counted twice).
inline double extension_cost(Index n, Index m, Index b) {
  return 6.0 * gemm_cost(n, m, b) + 4.0 * gemm_cost(n, b, b);
}

// The steps of the method on an L x n operator whose product with one column costs `column`
// flops, in these units. Appending a block of b columns to a basis of `old`: its product with B
// and its column of the Gram matrix.
inline double append_cost(Index L, double column, Index old, Index b) {
  return column * b + gemm_cost(old + b, L, b);
}
// The start block of `keep` columns: orthonormalised and appended to an empty basis.
inline double start_cost(Index L, Index n, double column, Index keep) {
  return extension_cost(n, 0, keep) + append_cost(L, column, 0, keep);
}
// Rayleigh-Ritz on a basis of m columns, `tracked` Ritz triplets and their residuals.
inline double rayleigh_ritz_cost(Index L, Index n, double column, Index m, Index tracked) {
  return eigensolver_cost(m) + gemm_cost(n, m, tracked) + gemm_cost(L, m, tracked) +
         column * tracked;
}

// The Rayleigh-Ritz on W's singular values instead of G's eigenvalues: the Householder QR of the
// L x m block W (2 L m^2 - 2 m^3 / 3 flops at the full SVD's rate) and the SVD of its triangle.
inline double singular_ritz_cost(Index L, Index m) {
  const double mm = static_cast<double>(m) * m;
  return full_svd_slowdown * (2.0 * static_cast<double>(L) * mm - 2.0 / 3.0 * mm * m) +
         full_svd_cost(static_cast<double>(m), static_cast<double>(m));
}

// What the start block and the first `count` iterations cost, each extending the basis by a
// block of `keep` columns (the loop below, counted the same way).
inline double first_iterations_cost(Index L, Index n, double column, Index keep, Index max_basis,
                                    int count) {
  double cost = start_cost(L, n, column, keep);
  Index m = keep;
  for (int i = 0; i < count; ++i) {
    cost += rayleigh_ritz_cost(L, n, column, m, keep) + extension_cost(n, m, keep);
    const Index block = std::min(keep, max_basis - m);
    if (block <= 0) break;
    cost += append_cost(L, column, m, block);
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
inline double projected_iterations(const std::vector<double>& history, double tolerance,
                                   int window) {
  const auto w = static_cast<std::size_t>(window);
  if (history.size() <= w) return 0.0;
  double best_rate = 1.0;
  for (std::size_t i = w; i < history.size(); ++i)
    if (history[i] > 0 && history[i] < history[i - w])
      best_rate = std::min(best_rate, std::pow(history[i] / history[i - w], 1.0 / window));
  if (!(best_rate < 1.0)) return std::numeric_limits<double>::infinity();
  return std::max(0.0, std::log(tolerance / history.back()) / std::log(best_rate));
}

// The Ritz triplets tracked and extended: K plus a margin, so that the K-th converges at the rate
// of its gap to the (keep+1)-th value rather than to the (K+1)-th. A large basis needs fewer
// products in all (measured: 8 blocks of `keep` columns took ~20 % fewer than 6 and ~40 % fewer
// than 3 on Gaussian and power-law spectra).
inline Index tracked_count(Index n, Index K) { return std::min(n, K + std::max<Index>(10, K / 4)); }
inline Index basis_limit(Index n, Index K) { return std::min(n, 8 * tracked_count(n, K)); }

// No Krylov method converges in fewer than a few iterations on anything but a trivial spectrum:
// what two cost on an L x n operator, for K triplets.
inline double two_iterations_cost(Index L, Index n, double column, Index K) {
  return first_iterations_cost(L, n, column, tracked_count(n, K), basis_limit(n, K), 2);
}

// The budget: max_cost times the full SVD of an L x n matrix the method competes with, in units
// of the method's own flops. A single-precision full SVD (sgesdd) is about twice as fast as
// dgesdd: that halves the budget of a method that runs in double, not of one in float.
inline double budget_of(double L, double n, const TruncatedSvdSettings& settings,
                        bool method_in_float = false) {
  const bool halved = settings.precision == SvdPrecision::Single && !method_in_float;
  return settings.max_cost * full_svd_cost(L, n) / (halved ? single_precision_speedup : 1.0);
}

// The argument checks of every truncated SVD of a rows x cols matrix (std::invalid_argument).
inline void check_settings(const char* method, Index rows, Index cols,
                           const TruncatedSvdSettings& settings) {
  if (settings.rank < 1 || settings.rank >= std::min(rows, cols))
    throw std::invalid_argument(std::string(method) + ": rank " + std::to_string(settings.rank) +
                                " must be in [1, min(rows, cols) - 1] for a " +
                                std::to_string(rows) + "x" + std::to_string(cols) + " matrix");
  if (!(settings.tolerance > 0) || settings.max_iterations < 1 || !(settings.max_cost > 0))
    throw std::invalid_argument(std::string(method) +
                                ": the tolerance, max_iterations and max_cost must be positive");
}

// What a residual is relative to: the largest singular value of the operator (the top-K
// tolerance), or each triplet's own value (the inverse operator of the bottom K, where
// ||R^{-1} u - sigma v|| <= tol sigma gives ||R v - s u|| <= tol s_max(R)).
//
// That bound is loose where R^{-1}'s values spread over decades (a near-kernel): the residual
// r = R^{-T} v - sigma u is computed with an error of about eps sigma_max, mostly along R^{-1}'s
// top directions, so the j-th triplet's own-value residual cannot fall below about
// eps (sigma_max / sigma_j)^2 (5e-10 on a near-kernel spread from 1e-6 to 7e-10 s_max, above the
// tolerance of 1e-10: the method stalled). But R^T maps those directions to R's smallest values,
// and R's residual is what the tolerance is about: ||R^T u - s v|| = s ||R^T r||. So a triplet
// whose own-value residual is near that floor is judged by s ||R^T r|| / s_max(R) instead
// (one product with R^T per such triplet).
enum class ResidualScale { LargestValue, OwnValue };
constexpr double near_floor = 100.0;  // "near": within this factor of the floor

// Records why the method gave up (when `why` asks) and returns nothing.
struct GiveUp {
  KrylovGiveUp* why;
  std::nullopt_t operator()(const std::string& reason, bool cost = false) const {
    if (why != nullptr) *why = {reason, cost};
    return std::nullopt;
  }
};

// What the bottom K of an L x n matrix spends before its iterations: the Householder QR
// (2 L n^2 - 2 n^3 / 3 flops at the full SVD's rate) and applying Q to K vectors (4 L n K). The
// cost, or nothing with the reason given when it, with two iterations for s_max (on T) and two on
// T^-1 (a triangular solve per column), would exceed the budget.
inline std::optional<double> bottom_start_cost(Index L, Index n, Index K, double budget,
                                               const GiveUp& give_up) {
  const double nn = static_cast<double>(n) * n;
  const double qr_cost =
      full_svd_slowdown * (2.0 * static_cast<double>(L) * nn - 2.0 / 3.0 * nn * n) +
      4.0 * static_cast<double>(L) * n * K;
  if (qr_cost > budget)
    return give_up("the QR factorisation alone would cost more than the full SVD", true);
  if (qr_cost + two_iterations_cost(n, n, 2 * nn, 1) + two_iterations_cost(n, n, nn, K) > budget)
    return give_up("K = " + std::to_string(K) +
                       " is too large a part of min(rows, cols) = " + std::to_string(n) +
                       ": the QR and two iterations would cost more than the full SVD",
                   true);
  return qr_cost;
}

// The converged top triplets of an operator B: B X = Y diag(s), s decreasing.
template <class Block>
struct Run {
  VectorXd s;
  Block X;  // short_dim x K: the input side
  Block Y;  // long_dim x K: B X diag(s)^{-1}
  std::int64_t iterations = 0;
  double cost = 0;  // what was spent, the caller's `spent` included
};

// The top K triplets of B, each with residual ||B^T y - s x|| <= tolerance times the scale.
// `budget` is in the cost model's flops and `spent` what the caller has spent already (a QR);
// `seed` fixes the start block.
template <class Operator>
std::optional<Run<typename Operator::Block>> top_triplets(const Operator& B, Index K,
                                                          const TruncatedSvdSettings& settings,
                                                          double budget, double spent,
                                                          ResidualScale scale, std::uint64_t seed,
                                                          const GiveUp& give_up) {
  using Block = typename Operator::Block;
  const Index n = B.short_dim();
  const Index L = B.long_dim();
  const double column = B.column_cost();
  const Index keep = tracked_count(n, K);
  const Index max_basis = basis_limit(n, K);
  // A restart keeps half of the basis, so that restarts (two products with the whole basis) come
  // every few iterations.
  const Index restart_size = std::max(keep, max_basis / 2);
  // When K is so large a part of n that two iterations would cost more than the budget, the full
  // SVD is cheaper from the start.
  if (spent + two_iterations_cost(L, n, column, K) > budget)
    return give_up("K = " + std::to_string(K) + " is too large a part of min(rows, cols) = " +
                       std::to_string(n) + ": two iterations would cost more than the full SVD",
                   true);
  const std::string singular = scale == ResidualScale::OwnValue
                                   ? "the matrix is numerically singular"
                                   : "its numerical rank is below " + std::to_string(K);

  Block Q = B.start_block(keep, seed);
  Block W = B.times(Q);
  if (!B.all_finite(W)) return give_up(singular);
  MatrixXd G = B.gram(W, W);
  double cost = spent + start_cost(L, n, column, keep);
  std::vector<double> residual_history;  // the largest wanted residual, per iteration
  std::vector<double> cost_history;      // the cost spent, per iteration

  // Whether the Rayleigh-Ritz works on W's singular values rather than on G (decided once, from
  // values that are the same on every rank).
  bool on_singular_values = false;

  for (std::int64_t iteration = 0;; ++iteration) {
    // Rayleigh-Ritz on the basis: the Ritz vectors by decreasing value, and the squared values.
    const Index m = B.cols(Q);
    MatrixXd ritz;
    VectorXd eigenvalues(m);
    if (on_singular_values) {
      VectorXd values;
      if (!B.singular_ritz(W, ritz, values))
        return give_up("the Rayleigh-Ritz SVD did not converge");
      eigenvalues = values.cwiseAbs2();
      cost += singular_ritz_cost(L, m);
    } else {
      ritz = G;
      if (!B.symmetric_eigen(ritz, eigenvalues))
        return give_up("the Rayleigh-Ritz eigensolver did not converge");
      ritz = ritz.rowwise().reverse().eval();
      eigenvalues.reverseInPlace();
    }
    const Index tracked = std::min(keep, m);
    const MatrixXd Z = ritz.leftCols(tracked);
    const Block X = B.product(Q, Z);
    Block Y = B.product(W, Z);  // B X
    // s = ||B x||, more accurate than the square roots of G's eigenvalues.
    const VectorXd s = B.column_norms(Y);
    const double s_max = s.maxCoeff();
    if (!(s_max > 0)) return give_up("the matrix is zero");
    if (s[K - 1] <= static_cast<double>(n) * B.epsilon() * s_max) return give_up(singular);
    VectorXd divisors = s;
    for (Index j = 0; j < tracked; ++j)
      if (!(divisors[j] > 0)) divisors[j] = 1.0;
    B.divide_columns(Y, divisors);
    const Block R = B.minus_scaled(B.transpose_times(Y), X, s);
    if (!B.all_finite(R)) return give_up(singular);
    VectorXd residual = B.column_norms(R);
    for (Index j = 0; j < tracked; ++j)
      residual[j] /= scale == ResidualScale::LargestValue ? s_max : s[j];
    cost += rayleigh_ritz_cost(L, n, column, m, tracked);
    if constexpr (Operator::inverts) {
      if (scale == ResidualScale::OwnValue) {
        std::vector<Index> near;
        for (Index j = 0; j < tracked; ++j) {
          const double floor = B.epsilon() * (s_max / s[j]) * (s_max / s[j]);
          if (residual[j] > settings.tolerance && residual[j] < near_floor * floor)
            near.push_back(j);
        }
        if (!near.empty()) {
          const VectorXd sharp = B.column_norms(B.original_transpose_times(B.columns(R, near)));
          for (std::size_t k = 0; k < near.size(); ++k) {
            const Index j = near[k];
            residual[j] =
                std::min(residual[j], sharp[static_cast<Index>(k)] / (s[j] * B.original_norm()));
          }
          cost += 2.0 * column * static_cast<double>(near.size());
        }
      }
    }
    const double worst = residual.head(K).maxCoeff();

    if (worst <= settings.tolerance) {
      // The norms come in the eigenvalues' order up to rounding; sort them by s exactly.
      std::vector<Index> order(static_cast<std::size_t>(K));
      for (Index j = 0; j < K; ++j) order[static_cast<std::size_t>(j)] = j;
      std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return s[a] > s[b]; });
      VectorXd sorted(K);
      for (Index j = 0; j < K; ++j) sorted[j] = s[order[static_cast<std::size_t>(j)]];
      return Run<Block>{sorted, B.columns(X, order), B.columns(Y, order), iteration, cost};
    }
    // G's floor for the K-th triplet relative to its scale is at most eps s_max^2 / (s_K scale)
    // (measured: about a twentieth of that). Once the residual is within its reach, below a
    // tenth of it or below it and no longer halving in three iterations, the run goes on with
    // W's singular values: their QR costs more than G's update, so only where G may stall it.
    const double scale_of_K = scale == ResidualScale::LargestValue ? s_max : s[K - 1];
    const double gram_floor = B.epsilon() * s_max * s_max / (s[K - 1] * scale_of_K);
    if (!on_singular_values && worst < gram_floor) {
      const std::size_t seen = residual_history.size();
      const bool stalled = seen >= 3 && worst > 0.5 * residual_history[seen - 3];
      on_singular_values = stalled || worst < 0.1 * gram_floor;
    }
    const std::string progress = "the residual is still " + residual_text(worst) + " after " +
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
    Block block = B.extension(Q, B.columns(R, active));
    cost += extension_cost(n, m, static_cast<Index>(active.size()));
    if (B.cols(block) == 0) {  // residuals inside the basis (rounding): a fresh direction instead
      const Index fresh = std::max<Index>(1, static_cast<Index>(active.size()));
      block =
          B.extension(Q, B.start_block(fresh, seed + 1 + static_cast<std::uint64_t>(iteration)));
      cost += extension_cost(n, m, fresh);
    }
    if (m + B.cols(block) > max_basis) {
      // Thick restart from the best Ritz vectors, for which G becomes diagonal (block stays
      // orthogonal: it is to all of Q).
      if (restart_size < m) {
        const MatrixXd best = ritz.leftCols(restart_size);
        Q = B.product(Q, best);
        W = B.product(W, best);
        if (!on_singular_values) G = eigenvalues.head(restart_size).asDiagonal();
        cost += gemm_cost(n, m, restart_size) + gemm_cost(L, m, restart_size);
      }
      const Index room = max_basis - B.cols(Q);
      if (room <= 0) return give_up("the Krylov basis has no room left");
      if (B.cols(block) > room) block = B.leading(block, room);
    }
    const Block W_block = B.times(block);
    if (!B.all_finite(W_block)) return give_up(singular);
    const Index old = B.cols(Q);
    const Index b = B.cols(block);
    Q = B.append(Q, block);
    W = B.append(W, W_block);
    if (on_singular_values) {  // G is no longer used
      cost += column * static_cast<double>(b);
      continue;
    }
    const MatrixXd cross = B.gram(W, W_block);  // (old + b) x b
    G.conservativeResize(old + b, old + b);
    G.rightCols(b) = cross;
    G.bottomLeftCorner(b, old) = cross.topRows(old).transpose();
    cost += append_cost(L, column, old, b);
  }
}

}  // namespace svr::krylov
