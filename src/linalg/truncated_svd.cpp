// The truncated SVDs on one rank (docs/algorithms.md, "Truncated SVD", "Bottom K"): the top K
// by the Krylov method of krylov_method.hpp on M (or M^T), the bottom K by the same method on
// R^-1 after a Householder QR. Every product with M is one BLAS gemm, with R^-1 two trsm.
#include "svr/linalg/truncated_svd.hpp"

#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "krylov_method.hpp"
#include "svr/core/error.hpp"
#include "svr/core/random_variates.hpp"
#include "svr/linalg/blas.hpp"
#include "svr/linalg/lapack.hpp"
#include "svr/linalg/slepc_svd.hpp"

namespace svr {
namespace {

using blas::gemm;
using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// Eigen matrices of double (--precision double) or float (the top K of --precision single).
template <typename Scalar>
using Dense = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

// A fixed pseudo-random Gaussian block (RandomVariates: the same draws on every platform and
// every rank).
template <typename Scalar>
Dense<Scalar> gaussian_block(Index rows, Index cols, std::uint64_t seed) {
  RandomVariates variates(seed);
  Dense<Scalar> X(rows, cols);
  for (Index k = 0; k < X.size(); ++k) X.data()[k] = static_cast<Scalar>(variates.normal());
  return X;
}

// An orthonormal basis of the part of span(X) orthogonal to span(Q) (Q orthonormal). The columns
// of X are scaled to unit norm first, so that a small residual counts as much as a large one;
// directions that are (numerically) in span(Q) or in the span of the other columns are dropped.
// Classical Gram-Schmidt twice against Q, a rank-revealing QR within the block, and once more
// against Q to remove what the QR's rounding brought back.
template <typename Scalar>
Dense<Scalar> orthonormal_extension(const Dense<Scalar>& Q, Dense<Scalar> X) {
  using Matrix = Dense<Scalar>;
  for (Index j = 0; j < X.cols(); ++j) {
    const Scalar norm = X.col(j).norm();
    if (norm > 0) X.col(j) /= norm;
  }
  for (int pass = 0; pass < 2 && Q.cols() > 0; ++pass) X -= gemm('N', Q, 'N', gemm('T', Q, 'N', X));
  Eigen::ColPivHouseholderQR<Matrix> qr(X);
  // On unit-norm columns anything smaller is rounding of span(Q): 1e-8 in double (about 5e7
  // units of rounding), 1e-4 in float (about 800).
  qr.setThreshold(std::is_same_v<Scalar, double> ? Scalar(1e-8) : Scalar(1e-4));
  const Index rank = qr.rank();
  Matrix basis = qr.householderQ() * Matrix::Identity(X.rows(), rank);
  if (Q.cols() > 0) basis -= gemm('N', Q, 'N', gemm('T', Q, 'N', basis));
  return Eigen::HouseholderQR<Matrix>(basis).householderQ() * Matrix::Identity(X.rows(), rank);
}

// The block algebra of the method on Eigen matrices held whole by one rank (krylov_method.hpp);
// the small matrices (Gram, coefficients) are double whatever the blocks' Scalar.
template <class Derived, typename Scalar = double>
struct DenseBlocks {
  using Block = Dense<Scalar>;
  Block start_block(Index cols, std::uint64_t seed) const {
    const Index n = static_cast<const Derived&>(*this).short_dim();
    return orthonormal_extension<Scalar>(Block(n, 0), gaussian_block<Scalar>(n, cols, seed));
  }
  Block extension(const Block& Q, const Block& X) const {
    return orthonormal_extension<Scalar>(Q, X);
  }
  MatrixXd gram(const Block& A, const Block& B) const {
    return gemm('T', A, 'N', B).template cast<double>();
  }
  Block product(const Block& A, const MatrixXd& Z) const {
    if constexpr (std::is_same_v<Scalar, double>)
      return gemm('N', A, 'N', Z);
    else
      return gemm('N', A, 'N', Block(Z.cast<Scalar>()));
  }
  VectorXd column_norms(const Block& A) const {
    return A.colwise().norm().transpose().template cast<double>();
  }
  void divide_columns(Block& A, const VectorXd& d) const {
    for (Index j = 0; j < A.cols(); ++j) A.col(j) /= static_cast<Scalar>(d[j]);
  }
  Block minus_scaled(const Block& A, const Block& X, const VectorXd& s) const {
    return A - X * s.cast<Scalar>().asDiagonal();
  }
  Block columns(const Block& A, const std::vector<Index>& which) const {
    Block out(A.rows(), static_cast<Index>(which.size()));
    for (std::size_t k = 0; k < which.size(); ++k) out.col(static_cast<Index>(k)) = A.col(which[k]);
    return out;
  }
  Block leading(const Block& A, Index count) const { return A.leftCols(count); }
  Block append(const Block& A, const Block& X) const {
    Block out(A.rows(), A.cols() + X.cols());
    out.leftCols(A.cols()) = A;
    out.rightCols(X.cols()) = X;
    return out;
  }
  static constexpr bool inverts = false;
  Index cols(const Block& A) const { return A.cols(); }
  bool all_finite(const Block& A) const { return A.allFinite(); }
  double epsilon() const { return std::numeric_limits<Scalar>::epsilon(); }
  bool symmetric_eigen(MatrixXd& G, VectorXd& w) const {
    try {
      lapack::syevd('V', 'L', to_lapack_int(G.rows()), G.data(),
                    to_lapack_int(std::max<Index>(1, G.rows())), w.data());
    } catch (const LapackError& error) {
      if (error.info() < 0) throw;
      return false;
    }
    return true;
  }
  // geqrf in the blocks' precision (float's rounding is already the products'), the triangle's
  // SVD in double.
  bool singular_ritz(const Block& W, MatrixXd& Z, VectorXd& s) const {
    Block A = W;
    const Index m = A.cols();
    std::vector<Scalar> tau(static_cast<std::size_t>(std::max<Index>(1, m)));
    lapack::geqrf(to_lapack_int(A.rows()), to_lapack_int(m), A.data(),
                  to_lapack_int(std::max<Index>(1, A.rows())), tau.data());
    const MatrixXd R = A.topRows(m)
                           .template triangularView<Eigen::Upper>()
                           .toDenseMatrix()
                           .template cast<double>();
    return krylov::right_singular_vectors(R, Z, s);
  }
};

// The operator B of the method, never stored as a matrix: the basis lives on its input side
// (dimension short_dim()), its products with blocks are BLAS calls. column_cost() is the flops of
// one product (with B or B^T) with one column, in the units of the cost model below.
//
// The layer matrix: M when M is tall (cols <= rows), M^T when it is wide, so that the basis lives
// on the short side; every product is a gemm with a transpose flag.
// In float (--precision single) every product is an sgemm on a float copy of M.
template <typename Scalar>
struct MatrixOperatorOf : DenseBlocks<MatrixOperatorOf<Scalar>, Scalar> {
  using Block = Dense<Scalar>;
  MatrixOperatorOf(const Block& matrix, bool is_wide) : M(matrix), wide(is_wide) {}
  const Block& M;
  bool wide;
  Index short_dim() const { return wide ? M.rows() : M.cols(); }
  Index long_dim() const { return wide ? M.cols() : M.rows(); }
  Block times(const Block& X) const { return gemm(wide ? 'T' : 'N', M, 'N', X); }
  Block transpose_times(const Block& Y) const { return gemm(wide ? 'N' : 'T', M, 'N', Y); }
  double column_cost() const { return 2.0 * static_cast<double>(M.rows()) * M.cols(); }
};

// R^{-1}, R the n x n upper triangular factor of a QR (zeros below the diagonal) and s_max its
// largest value: its top triplets are R's bottom ones (values inverted, input and output sides
// swapped). Each product is a triangular solve (strsm in float, --precision single).
template <typename Scalar>
struct InverseTriangularOperatorOf : DenseBlocks<InverseTriangularOperatorOf<Scalar>, Scalar> {
  using Block = Dense<Scalar>;
  InverseTriangularOperatorOf(const Block& factor, double s_max) : R(factor), norm(s_max) {}
  const Block& R;
  double norm;
  static constexpr bool inverts = true;
  Block original_transpose_times(const Block& X) const { return gemm('T', R, 'N', X); }
  double original_norm() const { return norm; }
  Index short_dim() const { return R.rows(); }
  Index long_dim() const { return R.rows(); }
  Block times(Block X) const {
    blas::trsm_upper_left('N', R, X);
    return X;
  }
  Block transpose_times(Block Y) const {
    blas::trsm_upper_left('T', R, Y);
    return Y;
  }
  double column_cost() const { return static_cast<double>(R.rows()) * R.rows(); }
};

// The budget of M's truncated SVD (krylov::budget_of).
double budget_of(const MatrixXd& M, const TruncatedSvdSettings& settings,
                 bool method_in_float = false) {
  return krylov::budget_of(static_cast<double>(std::max(M.rows(), M.cols())),
                           static_cast<double>(std::min(M.rows(), M.cols())), settings,
                           method_in_float);
}

// The top K of B by the method, as a TruncatedSvdResult of M in double (its residual checked
// against M itself), or nothing with the reason given.
template <typename Scalar>
std::optional<TruncatedSvdResult> top_of(const MatrixXd& M, const MatrixOperatorOf<Scalar>& B,
                                         const TruncatedSvdSettings& settings,
                                         const krylov::GiveUp& give_up) {
  const bool in_float = std::is_same_v<Scalar, float>;
  std::optional<krylov::Run<Dense<Scalar>>> run = krylov::top_triplets(
      B, static_cast<Index>(settings.rank), settings, budget_of(M, settings, in_float), 0.0,
      krylov::ResidualScale::LargestValue, 0x5356'5221u + static_cast<std::uint64_t>(B.short_dim()),
      give_up);
  if (!run) return std::nullopt;
  TruncatedSvdResult result;
  Spectrum& out = result.spectrum;
  out.s = std::move(run->s);
  out.U = (B.wide ? run->X : run->Y).template cast<double>();
  out.V = (B.wide ? run->Y : run->X).template cast<double>();
  result.report.method = "lapack-krylov";
  result.report.precision = in_float ? "single" : "double";
  result.report.iterations = run->iterations;
  result.report.residual = svd_residual(M, out);
  if (*result.report.residual > settings.tolerance)
    return give_up("its final residual " + krylov::residual_text(*result.report.residual) +
                   " is above the tolerance");
  return result;
}

// The checks both public methods make on their arguments.
void check_arguments(const char* method, const MatrixXd& M, const TruncatedSvdSettings& settings) {
  krylov::check_settings(method, M.rows(), M.cols(), settings);
  if (!M.allFinite())
    throw NumericalError(std::string(method) + ": the matrix contains NaN or Inf");
}

// Single precision needs every entry within float's range.
void check_float_range(const char* method, const MatrixXd& M) {
  if (M.cwiseAbs().maxCoeff() > static_cast<double>(std::numeric_limits<float>::max()))
    throw NumericalError(std::string(method) +
                         ": the matrix has an entry beyond single precision's range "
                         "(3.4e38); run it with --precision double");
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
  const krylov::GiveUp give_up{why};
  const bool wide = M.cols() > M.rows();
  if (settings.precision == SvdPrecision::Double)
    return top_of(M, MatrixOperatorOf<double>{M, wide}, settings, give_up);
  // Single: float blocks and sgemm on a float copy of M, to a tolerance float can reach.
  check_float_range("krylov_svd", M);
  const Eigen::MatrixXf M_float = M.cast<float>();
  TruncatedSvdSettings in_float = settings;
  in_float.tolerance = std::max(settings.tolerance, kSingleKrylovTolerance);
  return top_of(M, MatrixOperatorOf<float>{M_float, wide}, in_float, give_up);
}

namespace {

// krylov_bottom_svd in Scalar: the QR, R's top triplet and the method on R^{-1} in Scalar, the
// result in double and checked against M itself.
template <typename Scalar>
std::optional<BottomSvdResult> bottom_of(const MatrixXd& M, const TruncatedSvdSettings& settings,
                                         const krylov::GiveUp& give_up,
                                         bool* ill_conditioned = nullptr) {
  using Block = Dense<Scalar>;
  constexpr bool in_float = std::is_same_v<Scalar, float>;
  const bool wide = M.cols() > M.rows();
  const Index n = std::min(M.rows(), M.cols());
  const Index L = std::max(M.rows(), M.cols());
  const Index K = static_cast<Index>(settings.rank);
  const double budget = budget_of(M, settings, in_float);
  const std::optional<double> qr_cost = krylov::bottom_start_cost(L, n, K, budget, give_up);
  if (!qr_cost) return std::nullopt;

  // A = Q R, A the tall orientation of M: R has M's singular values and right vectors (of A).
  Block A = wide ? Block(M.transpose().template cast<Scalar>()) : Block(M.template cast<Scalar>());
  Dense<Scalar> tau(n, 1);
  lapack::geqrf(to_lapack_int(L), to_lapack_int(n), A.data(), to_lapack_int(L), tau.data());
  const Block R = A.topRows(n).template triangularView<Eigen::Upper>();

  // s_max (the scale of the tolerance and of every relative measure): R's top triplet.
  TruncatedSvdSettings top_settings = settings;
  top_settings.rank = 1;
  const std::optional<krylov::Run<Block>> top = krylov::top_triplets(
      MatrixOperatorOf<Scalar>{R, false}, 1, top_settings, budget, *qr_cost,
      krylov::ResidualScale::LargestValue, 0x5356'5223u + static_cast<std::uint64_t>(n), give_up);
  if (!top) return std::nullopt;
  const double s_max = top->s[0];

  // R's bottom K: the top K of R^{-1}, each to its own value's scale, which bounds the residual
  // of R v - s u by the tolerance times s_max.
  double spent = top->cost;
  if constexpr (in_float) {
    // A triangular solve in float errs by about eps kappa relative to its result, so the
    // residual on R^{-1} cannot fall below that: with 8 eps kappa above the tolerance (kappa =
    // s_max / s_min, from a rough top value of R^{-1}; about 10 at 1e-5) the method cannot
    // converge in float, and the caller runs it in double. Near-kernels are ill-conditioned by
    // definition, so float serves the well-conditioned layers only.
    TruncatedSvdSettings rough = settings;
    rough.rank = 1;
    rough.tolerance = 1e-2;
    const std::optional<krylov::Run<Block>> smallest = krylov::top_triplets(
        InverseTriangularOperatorOf<Scalar>{R, s_max}, 1, rough, budget, spent,
        krylov::ResidualScale::LargestValue, 0x5356'5225u + static_cast<std::uint64_t>(n), give_up);
    if (!smallest) return std::nullopt;
    spent = smallest->cost;
    const double kappa = s_max * smallest->s[0];
    if (8.0 * std::numeric_limits<float>::epsilon() * kappa > settings.tolerance) {
      if (ill_conditioned != nullptr) *ill_conditioned = true;
      return std::nullopt;
    }
  }
  const std::optional<krylov::Run<Block>> inverse = krylov::top_triplets(
      InverseTriangularOperatorOf<Scalar>{R, s_max}, K, settings, budget, spent,
      krylov::ResidualScale::OwnValue, 0x5356'5224u + static_cast<std::uint64_t>(n), give_up);
  if (!inverse) return std::nullopt;
  // R^{-1} u = (1/s) v: its input side holds R's left vectors u, its output side R's right v.
  // A's left vectors are Q u, its right vectors v; M = A^T swaps them when M is wide.
  Block left(L, K);
  left.setZero();
  left.topRows(n) = inverse->X;
  lapack::ormqr('L', 'N', to_lapack_int(L), to_lapack_int(K), to_lapack_int(n), A.data(),
                to_lapack_int(L), tau.data(), left.data(), to_lapack_int(L));
  BottomSvdResult result;
  Spectrum& out = result.spectrum;
  // Decreasing s: 1 / sigma with sigma decreasing is increasing, so the columns turn around.
  out.s = inverse->s.cwiseInverse().reverse();
  const MatrixXd right = inverse->Y.rowwise().reverse().template cast<double>();
  const MatrixXd left_double = left.rowwise().reverse().template cast<double>();
  out.U = wide ? right : left_double;
  out.V = wide ? left_double : right;
  // Below n eps s_max (eps of the precision the QR ran in) R^{-1} is noise.
  if (out.s[K - 1] <= static_cast<double>(n) * std::numeric_limits<Scalar>::epsilon() * s_max)
    return give_up("the matrix is numerically singular");
  result.s_max = s_max;
  result.report.method = "lapack-qr-krylov";
  result.report.precision = in_float ? "single" : "double";
  result.report.iterations = inverse->iterations;
  result.report.residual = svd_residual(M, out, s_max);
  if (*result.report.residual > settings.tolerance)
    return give_up("its final residual " + krylov::residual_text(*result.report.residual) +
                   " is above the tolerance");
  return result;
}

}  // namespace

std::optional<BottomSvdResult> krylov_bottom_svd(const MatrixXd& M,
                                                 const TruncatedSvdSettings& settings,
                                                 KrylovGiveUp* why) {
  check_arguments("krylov_bottom_svd", M, settings);
  const krylov::GiveUp give_up{why};
  if (settings.precision == SvdPrecision::Double) return bottom_of<double>(M, settings, give_up);
  // Single: the QR, the triangular solves and the blocks in float, to a tolerance float can
  // reach.
  check_float_range("krylov_bottom_svd", M);
  TruncatedSvdSettings in_float = settings;
  in_float.tolerance = std::max(settings.tolerance, kSingleKrylovTolerance);
  bool ill_conditioned = false;
  if (auto got = bottom_of<float>(M, in_float, give_up, &ill_conditioned)) return got;
  if (!ill_conditioned) return std::nullopt;
  // Too ill-conditioned for float's triangular solves: the method in double, as the
  // single-precision full SVD it competes with would be (its budget halved for that).
  return bottom_of<double>(M, settings, give_up);
}

TruncatedSvdResult truncated_or_full_svd(const MatrixXd& M, std::optional<std::int64_t> max_rank,
                                         TruncatedSvdSettings limits) {
  TruncatedSvdResult result;
  if (max_rank && *max_rank >= 1 && *max_rank < std::min(M.rows(), M.cols())) {
    limits.rank = *max_rank;
    KrylovGiveUp why;
    if (use_slepc(limits)) {
      if (auto slepc = slepc_svd(M, limits, &why)) return std::move(*slepc);
    } else if (auto krylov = krylov_svd(M, limits, &why)) {
      return std::move(*krylov);
    }
    result.report.fallback = why.reason;
    result.report.fallback_cost = why.cost;
  }
  result.spectrum = thin_svd(M, max_rank, limits.precision);
  result.report.method = "lapack-full";
  result.report.precision = to_string(limits.precision);
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
  result.spectrum = thin_svd(M, {}, limits.precision);
  result.s_max = result.spectrum.s.size() > 0 ? result.spectrum.s[0] : 0.0;
  keep_bottom(result.spectrum, std::max<std::int64_t>(1, min_rank));
  result.report.method = "lapack-full";
  result.report.precision = to_string(limits.precision);
  return result;
}

}  // namespace svr
