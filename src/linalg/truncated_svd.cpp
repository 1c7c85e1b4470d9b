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

// The operator B of the method, never stored as a matrix: the basis lives on its input side
// (dimension short_dim()), its products with blocks are BLAS calls. column_cost() is the flops of
// one product (with B or B^T) with one column, in the units of the cost model below.
//
// The layer matrix: M when M is tall (cols <= rows), M^T when it is wide, so that the basis lives
// on the short side; every product is a gemm with a transpose flag.
struct MatrixOperator {
  const MatrixXd& M;
  bool wide;
  Index short_dim() const { return wide ? M.rows() : M.cols(); }
  Index long_dim() const { return wide ? M.cols() : M.rows(); }
  MatrixXd times(const MatrixXd& X) const { return gemm(wide ? 'T' : 'N', M, 'N', X); }
  MatrixXd transpose_times(const MatrixXd& Y) const { return gemm(wide ? 'N' : 'T', M, 'N', Y); }
  double column_cost() const { return 2.0 * static_cast<double>(M.rows()) * M.cols(); }
};

// R^{-1}, R the n x n upper triangular factor of a QR: its top triplets are R's bottom ones
// (values inverted, input and output sides swapped). Each product is a triangular solve.
struct InverseTriangularOperator {
  const MatrixXd& R;
  Index short_dim() const { return R.rows(); }
  Index long_dim() const { return R.rows(); }
  MatrixXd times(MatrixXd X) const {
    blas::trsm_upper_left('N', R, X);
    return X;
  }
  MatrixXd transpose_times(MatrixXd Y) const {
    blas::trsm_upper_left('T', R, Y);
    return Y;
  }
  double column_cost() const { return static_cast<double>(R.rows()) * R.rows(); }
};

// What a residual is relative to: the largest singular value of the operator (the top-K
// tolerance), or each triplet's own value (the inverse operator of the bottom K, where
// ||R^{-1} u - sigma v|| <= tol sigma gives ||R v - s u|| <= tol s_max(R)).
enum class ResidualScale { LargestValue, OwnValue };

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

// The steps of the method on an L x n operator whose product with one column costs `column`
// flops, in these units. Appending a block of b columns to a basis of `old`: its product with B
// and its column of the Gram matrix.
double append_cost(Index L, double column, Index old, Index b) {
  return column * b + gemm_cost(old + b, L, b);
}
// The start block of `keep` columns: orthonormalised and appended to an empty basis.
double start_cost(Index L, Index n, double column, Index keep) {
  return extension_cost(n, 0, keep) + append_cost(L, column, 0, keep);
}
// Rayleigh-Ritz on a basis of m columns, `tracked` Ritz triplets and their residuals.
double rayleigh_ritz_cost(Index L, Index n, double column, Index m, Index tracked) {
  return eigensolver_cost(m) + gemm_cost(n, m, tracked) + gemm_cost(L, m, tracked) +
         column * tracked;
}

// What the start block and the first `count` iterations cost, each extending the basis by a
// block of `keep` columns (the loop below, counted the same way).
double first_iterations_cost(Index L, Index n, double column, Index keep, Index max_basis,
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

// The Ritz triplets tracked and extended: K plus a margin, so that the K-th converges at the rate
// of its gap to the (keep+1)-th value rather than to the (K+1)-th. A large basis needs fewer
// products in all (measured: 8 blocks of `keep` columns took ~20 % fewer than 6 and ~40 % fewer
// than 3 on Gaussian and power-law spectra).
Index tracked_count(Index n, Index K) { return std::min(n, K + std::max<Index>(10, K / 4)); }
Index basis_limit(Index n, Index K) { return std::min(n, 8 * tracked_count(n, K)); }

// No Krylov method converges in fewer than a few iterations on anything but a trivial spectrum:
// what two cost on an L x n operator, for K triplets.
double two_iterations_cost(Index L, Index n, double column, Index K) {
  return first_iterations_cost(L, n, column, tracked_count(n, K), basis_limit(n, K), 2);
}

// The converged top triplets of an operator B: B X = Y diag(s), s decreasing.
struct KrylovRun {
  VectorXd s;
  MatrixXd X;  // short_dim x K: the input side
  MatrixXd Y;  // long_dim x K: B X diag(s)^{-1}
  std::int64_t iterations = 0;
  double cost = 0;  // what was spent, the caller's `spent` included
};

// Records why the method gave up (when `why` asks) and returns nothing.
struct GiveUp {
  KrylovGiveUp* why;
  std::nullopt_t operator()(const std::string& reason, bool cost = false) const {
    if (why != nullptr) *why = {reason, cost};
    return std::nullopt;
  }
};

// The top K triplets of B, each with residual ||B^T y - s x|| <= tolerance times the scale
// (B x = s y holds by construction). `budget` is in the cost model's flops and `spent` what the
// caller has spent already (a QR); `seed` fixes the start block.
template <class Operator>
std::optional<KrylovRun> krylov_top(const Operator& B, Index K,
                                    const TruncatedSvdSettings& settings, double budget,
                                    double spent, ResidualScale scale, std::uint64_t seed,
                                    const GiveUp& give_up) {
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

  MatrixXd Q = orthonormal_extension(MatrixXd(n, 0), gaussian_block(n, keep, seed));
  MatrixXd W = B.times(Q);
  if (!W.allFinite()) return give_up(singular);
  MatrixXd G = gemm('T', W, 'N', W);
  double cost = spent + start_cost(L, n, column, keep);
  std::vector<double> residual_history;  // the largest wanted residual, per iteration
  std::vector<double> cost_history;      // the cost spent, per iteration

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
      return give_up(singular);
    for (Index j = 0; j < tracked; ++j) Y.col(j) /= s[j] > 0 ? s[j] : 1.0;
    const MatrixXd R = B.transpose_times(Y) - X * s.asDiagonal();
    if (!R.allFinite()) return give_up(singular);
    VectorXd residual = R.colwise().norm().transpose();
    for (Index j = 0; j < tracked; ++j)
      residual[j] /= scale == ResidualScale::LargestValue ? s_max : s[j];
    cost += rayleigh_ritz_cost(L, n, column, m, tracked);
    const double worst = residual.head(K).maxCoeff();

    if (worst <= settings.tolerance) {
      // The norms come in the eigenvalues' order up to rounding; sort them by s exactly.
      std::vector<Index> order(static_cast<std::size_t>(K));
      for (Index j = 0; j < K; ++j) order[static_cast<std::size_t>(j)] = j;
      std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return s[a] > s[b]; });
      KrylovRun run;
      run.s.resize(K);
      run.X.resize(n, K);
      run.Y.resize(L, K);
      for (Index j = 0; j < K; ++j) {
        const Index from = order[static_cast<std::size_t>(j)];
        run.s[j] = s[from];
        run.X.col(j) = X.col(from);
        run.Y.col(j) = Y.col(from);
      }
      run.iterations = iteration;
      run.cost = cost;
      return run;
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
      block = orthonormal_extension(Q, gaussian_block(n, fresh, seed + 1 + iteration));
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
    if (!W_block.allFinite()) return give_up(singular);
    const Index old = Q.cols();
    Q.conservativeResize(Eigen::NoChange, old + block.cols());
    Q.rightCols(block.cols()) = block;
    W.conservativeResize(Eigen::NoChange, old + block.cols());
    W.rightCols(block.cols()) = W_block;
    const MatrixXd cross = gemm('T', W, 'N', W_block);  // (old + b) x b
    G.conservativeResize(old + block.cols(), old + block.cols());
    G.rightCols(block.cols()) = cross;
    G.bottomLeftCorner(block.cols(), old) = cross.topRows(old).transpose();
    cost += append_cost(L, column, old, block.cols());
  }
}

// The checks both public methods make on their arguments.
void check_arguments(const char* method, const MatrixXd& M, const TruncatedSvdSettings& settings) {
  const Index short_dim = std::min(M.rows(), M.cols());
  if (settings.rank < 1 || settings.rank >= short_dim)
    throw std::invalid_argument(std::string(method) + ": rank " + std::to_string(settings.rank) +
                                " must be in [1, min(rows, cols) - 1] for a " +
                                std::to_string(M.rows()) + "x" + std::to_string(M.cols()) +
                                " matrix");
  if (!(settings.tolerance > 0) || settings.max_iterations < 1 || !(settings.max_cost > 0))
    throw std::invalid_argument(std::string(method) +
                                ": the tolerance, max_iterations and max_cost must be positive");
  if (!M.allFinite()) throw NumericalError(std::string(method) + ": the matrix contains NaN or Inf");
}

// The budget: max_cost times the full SVD the method competes with.
double budget_of(const MatrixXd& M, const TruncatedSvdSettings& settings) {
  const auto L = static_cast<double>(std::max(M.rows(), M.cols()));
  const auto n = static_cast<double>(std::min(M.rows(), M.cols()));
  return settings.max_cost * full_svd_cost(L, n) /
         (settings.full_svd_precision == SvdPrecision::Single ? single_precision_speedup : 1.0);
}

}  // namespace

double svd_residual(const MatrixXd& M, const Spectrum& spectrum, double s_max) {
  if (spectrum.s.size() == 0 || !(s_max > 0)) return 0.0;
  const MatrixXd MV = gemm('N', M, 'N', spectrum.V) - spectrum.U * spectrum.s.asDiagonal();
  const MatrixXd MtU = gemm('T', M, 'N', spectrum.U) - spectrum.V * spectrum.s.asDiagonal();
  return std::max(MV.colwise().norm().maxCoeff(), MtU.colwise().norm().maxCoeff()) / s_max;
}

double svd_residual(const MatrixXd& M, const Spectrum& spectrum) {
  return svd_residual(M, spectrum, spectrum.s.size() == 0 ? 0.0 : spectrum.s.maxCoeff());
}

std::optional<TruncatedSvdResult> krylov_svd(const MatrixXd& M,
                                             const TruncatedSvdSettings& settings,
                                             KrylovGiveUp* why) {
  check_arguments("krylov_svd", M, settings);
  const GiveUp give_up{why};
  const MatrixOperator B{M, M.cols() > M.rows()};
  const Index K = static_cast<Index>(settings.rank);
  std::optional<KrylovRun> run =
      krylov_top(B, K, settings, budget_of(M, settings), 0.0, ResidualScale::LargestValue,
                 0x5356'5221u + static_cast<std::uint64_t>(B.short_dim()), give_up);
  if (!run) return std::nullopt;
  TruncatedSvdResult result;
  Spectrum& out = result.spectrum;
  out.s = std::move(run->s);
  out.U = std::move(B.wide ? run->X : run->Y);
  out.V = std::move(B.wide ? run->Y : run->X);
  result.report.method = "lapack-krylov";
  result.report.iterations = run->iterations;
  result.report.residual = svd_residual(M, out);
  if (*result.report.residual > settings.tolerance)
    return give_up("its final residual " + std::to_string(*result.report.residual) +
                   " is above the tolerance");
  return result;
}

std::optional<BottomSvdResult> krylov_bottom_svd(const MatrixXd& M,
                                                 const TruncatedSvdSettings& settings,
                                                 KrylovGiveUp* why) {
  check_arguments("krylov_bottom_svd", M, settings);
  const GiveUp give_up{why};
  const bool wide = M.cols() > M.rows();
  const Index n = std::min(M.rows(), M.cols());
  const Index L = std::max(M.rows(), M.cols());
  const Index K = static_cast<Index>(settings.rank);
  const double budget = budget_of(M, settings);
  // dgeqrf's 2 L n^2 - 2 n^3 / 3 flops at the full SVD's rate, and dormqr's 4 L n K.
  const double qr_cost = full_svd_slowdown * (2.0 * static_cast<double>(L) * n * n -
                                              2.0 / 3.0 * static_cast<double>(n) * n * n) +
                         4.0 * static_cast<double>(L) * n * K;
  // The QR, then at least two iterations for s_max and two on R^{-1}.
  const double nn = static_cast<double>(n) * n;
  if (qr_cost > budget)
    return give_up("the QR factorisation alone would cost more than the full SVD", true);
  if (qr_cost + two_iterations_cost(n, n, 2 * nn, 1) + two_iterations_cost(n, n, nn, K) > budget)
    return give_up("K = " + std::to_string(K) + " is too large a part of min(rows, cols) = " +
                       std::to_string(n) + ": the QR and two iterations would cost more than the " +
                       "full SVD",
                   true);

  // A = Q R, A the tall orientation of M: R has M's singular values and right vectors (of A).
  MatrixXd A = wide ? MatrixXd(M.transpose()) : M;
  VectorXd tau(n);
  lapack::geqrf(to_lapack_int(L), to_lapack_int(n), A.data(), to_lapack_int(L), tau.data());
  const MatrixXd R = A.topRows(n).triangularView<Eigen::Upper>();

  // s_max (the scale of the tolerance and of every relative measure): R's top triplet.
  TruncatedSvdSettings top_settings = settings;
  top_settings.rank = 1;
  const std::optional<KrylovRun> top =
      krylov_top(MatrixOperator{R, false}, 1, top_settings, budget, qr_cost,
                 ResidualScale::LargestValue, 0x5356'5223u + static_cast<std::uint64_t>(n), give_up);
  if (!top) return std::nullopt;
  const double s_max = top->s[0];

  // R's bottom K: the top K of R^{-1}, each to its own value's scale, which bounds the residual
  // of R v - s u by the tolerance times s_max.
  const std::optional<KrylovRun> inverse =
      krylov_top(InverseTriangularOperator{R}, K, settings, budget, top->cost,
                 ResidualScale::OwnValue, 0x5356'5224u + static_cast<std::uint64_t>(n), give_up);
  if (!inverse) return std::nullopt;
  // R^{-1} u = (1/s) v: its input side holds R's left vectors u, its output side R's right v.
  // A's left vectors are Q u, its right vectors v; M = A^T swaps them when M is wide.
  MatrixXd left(L, K);
  left.setZero();
  left.topRows(n) = inverse->X;
  lapack::ormqr('L', 'N', to_lapack_int(L), to_lapack_int(K), to_lapack_int(n), A.data(),
                to_lapack_int(L), tau.data(), left.data(), to_lapack_int(L));
  BottomSvdResult result;
  Spectrum& out = result.spectrum;
  // Decreasing s: 1 / sigma with sigma decreasing is increasing, so the columns turn around.
  out.s = inverse->s.cwiseInverse().reverse();
  const MatrixXd right = inverse->Y.rowwise().reverse();
  left = left.rowwise().reverse().eval();
  out.U = wide ? right : left;
  out.V = wide ? left : right;
  if (out.s[K - 1] <= static_cast<double>(n) * std::numeric_limits<double>::epsilon() * s_max)
    return give_up("the matrix is numerically singular");
  result.s_max = s_max;
  result.report.method = "lapack-qr-krylov";
  result.report.iterations = inverse->iterations;
  result.report.residual = svd_residual(M, out, s_max);
  if (*result.report.residual > settings.tolerance)
    return give_up("its final residual " + std::to_string(*result.report.residual) +
                   " is above the tolerance");
  return result;
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

BottomSvdResult bottom_or_full_svd(const MatrixXd& M, std::int64_t min_rank,
                                   TruncatedSvdSettings limits) {
  BottomSvdResult result;
  if (min_rank >= 1 && min_rank < std::min(M.rows(), M.cols())) {
    limits.rank = min_rank;
    KrylovGiveUp why;
    if (auto krylov = krylov_bottom_svd(M, limits, &why)) return std::move(*krylov);
    result.report.fallback = why.reason;
    result.report.fallback_cost = why.cost;
  }
  result.spectrum = thin_svd(M, {}, limits.full_svd_precision);
  result.s_max = result.spectrum.s.size() > 0 ? result.spectrum.s[0] : 0.0;
  keep_bottom(result.spectrum, std::max<std::int64_t>(1, min_rank));
  result.report.method = "lapack-full";
  result.report.precision = to_string(limits.full_svd_precision);
  return result;
}

}  // namespace svr
