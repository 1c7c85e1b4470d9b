// The top K on a process grid: the Krylov method of krylov_method.hpp with distributed blocks.
//
// Blocks are DistributedMatrix on M's grid with M's block size, so that every product with M is
// one pdgemm without redistribution. What the method decides from (the Gram matrices, column
// norms, finiteness) is made the same bits on every rank: a Gram matrix's entries each have one
// owner (an MPI_Allreduce of them and zeros is exact in any order), a column norm's partial sums
// are gathered and added in rank order everywhere, and the eigensolver runs on grid rank 0 and
// is broadcast (ranks on different CPUs may round differently). The bottom K
// (distributed_krylov_bottom_svd) runs the same method on T^-1 after pdgeqrf or pdgelqf, each
// product a pdtrsm.
// The block orthonormalisation is SVQB (Stathopoulos and Wu, 2002): the eigenvectors of the
// block's Gram matrix, directions below 1e-6 of the largest dropped, applied twice, which needs
// only pdgemm and small replicated matrices (no distributed QR).
#include "svr/linalg/distributed_truncated_svd.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "krylov_method.hpp"
#include "local_blocks.hpp"
#include "svr/core/error.hpp"
#include "svr/core/random_variates.hpp"
#include "svr/linalg/lapack.hpp"
#include "svr/linalg/redistribute.hpp"
#include "svr/linalg/scalapack.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// Directions of a block whose singular value is below this fraction of the largest are dropped
// by the orthonormalisation: SVQB squares the condition number, and two passes make a block
// orthonormal to rounding only while cond^2 eps < 1 (here 1e12 * 2.2e-16).
constexpr double kDropBelow = 1e-6;

// The algebra of distributed blocks on one grid with one block size (krylov_method.hpp).
class GridBlocks {
 public:
  using Block = DistributedMatrix;

  GridBlocks(const ProcessGrid& grid, std::int64_t block) : grid_(grid), nb_(block) {}

  // The Gaussian block of the LAPACK path (the same variates in the same column-major order),
  // orthonormalised, n x cols.
  Block gaussian_start(Index n, Index cols, std::uint64_t seed) const {
    std::vector<double> values(static_cast<std::size_t>(n * cols));
    RandomVariates variates(seed);
    for (double& x : values) x = variates.normal();
    Block X(grid_, n, cols, nb_);
    X.fill([&](std::int64_t i, std::int64_t j) {
      return values[static_cast<std::size_t>(j * n + i)];
    });
    return extension(Block(grid_, n, 0, nb_), X);
  }

  // An orthonormal basis of the part of span(X) orthogonal to span(Q): X's columns scaled to
  // unit norm, Gram-Schmidt twice against Q, SVQB (dropping what is numerically in span(Q) or in
  // the other columns' span), once more against Q and SVQB again.
  Block extension(const Block& Q, Block X) const {
    if (X.cols() == 0) return X;
    VectorXd norms = column_norms(X);
    for (Index j = 0; j < norms.size(); ++j)
      if (!(norms[j] > 0)) norms[j] = 1.0;
    divide_columns(X, norms);
    for (int pass = 0; pass < 2 && Q.cols() > 0; ++pass) subtract_projection(Q, X);
    X = orthonormalised(X, true);
    if (X.cols() == 0) return X;
    if (Q.cols() > 0) subtract_projection(Q, X);
    return orthonormalised(X, false);
  }

  MatrixXd gram(const Block& A, const Block& B) const {
    if (A.cols() == 0 || B.cols() == 0) return MatrixXd::Zero(A.cols(), B.cols());
    const Block C = multiply_blocks('T', A, B);
    MatrixXd out = MatrixXd::Zero(A.cols(), B.cols());
    for (std::int64_t lj = 0; lj < C.local_cols(); ++lj)
      for (std::int64_t li = 0; li < C.local_rows(); ++li)
        out(C.global_row(li), C.global_col(lj)) = C.local(li, lj);
    replicate_owned(out.data(), out.size());
    return out;
  }

  Block product(const Block& A, const MatrixXd& Z) const {
    Block out(grid_, A.rows(), Z.cols(), nb_);
    if (Z.cols() == 0 || A.rows() == 0) return out;
    if (A.cols() == 0) return out;  // zero
    Block Zd(grid_, Z.rows(), Z.cols(), nb_);
    Zd.fill([&](std::int64_t i, std::int64_t j) { return Z(i, j); });
    scalapack::pdgemm('N', 'N', to_lapack_int(A.rows()), to_lapack_int(Z.cols()),
                      to_lapack_int(A.cols()), 1.0, A.data(), 1, 1, A.descriptor(), Zd.data(), 1, 1,
                      Zd.descriptor(), 0.0, out.data(), 1, 1, out.descriptor());
    return out;
  }

  VectorXd column_norms(const Block& A) const {
    VectorXd squares = VectorXd::Zero(A.cols());
    for (std::int64_t lj = 0; lj < A.local_cols(); ++lj) {
      double sum = 0.0;
      for (std::int64_t li = 0; li < A.local_rows(); ++li) sum += A.local(li, lj) * A.local(li, lj);
      squares[A.global_col(lj)] = sum;
    }
    replicate_sum(squares.data(), squares.size());
    return squares.cwiseSqrt();
  }

  void divide_columns(Block& A, const VectorXd& d) const {
    for (std::int64_t lj = 0; lj < A.local_cols(); ++lj) {
      const double by = d[A.global_col(lj)];
      for (std::int64_t li = 0; li < A.local_rows(); ++li) A.local(li, lj) /= by;
    }
  }

  Block minus_scaled(Block A, const Block& X, const VectorXd& s) const {
    for (std::int64_t lj = 0; lj < A.local_cols(); ++lj) {
      const double by = s[A.global_col(lj)];
      for (std::int64_t li = 0; li < A.local_rows(); ++li) A.local(li, lj) -= X.local(li, lj) * by;
    }
    return A;
  }

  Block columns(const Block& A, const std::vector<Index>& which) const {
    std::vector<std::int64_t> target(static_cast<std::size_t>(A.cols()), -1);
    for (std::size_t k = 0; k < which.size(); ++k)
      target[static_cast<std::size_t>(which[k])] = static_cast<std::int64_t>(k);
    Block out(grid_, A.rows(), static_cast<std::int64_t>(which.size()), nb_);
    if (which.empty()) return out;
    redistribute(grid_, RedistributionSource::of(A), RedistributionTarget::of(out), {},
                 [target](std::int64_t j) { return target[static_cast<std::size_t>(j)]; });
    return out;
  }

  Block leading(const Block& A, Index count) const {
    Block out(grid_, A.rows(), count, nb_);
    if (count > 0)
      redistribute(grid_, RedistributionSource::of(A, A.rows(), count),
                   RedistributionTarget::of(out));
    return out;
  }

  Block append(const Block& A, const Block& X) const {
    Block out(grid_, A.rows(), A.cols() + X.cols(), nb_);
    if (A.cols() > 0)
      redistribute(grid_, RedistributionSource::of(A), RedistributionTarget::of(out));
    const std::int64_t offset = A.cols();
    if (X.cols() > 0)
      redistribute(grid_, RedistributionSource::of(X), RedistributionTarget::of(out), {},
                   [offset](std::int64_t j) { return j + offset; });
    return out;
  }

  static constexpr bool inverts = false;
  Index cols(const Block& A) const { return A.cols(); }
  double epsilon() const { return std::numeric_limits<double>::epsilon(); }

  bool all_finite(const Block& A) const {
    int finite = 1;
    for (std::int64_t lj = 0; lj < A.local_cols() && finite; ++lj)
      for (std::int64_t li = 0; li < A.local_rows(); ++li)
        if (!std::isfinite(A.local(li, lj))) {
          finite = 0;
          break;
        }
    mpi::check(MPI_Allreduce(MPI_IN_PLACE, &finite, 1, MPI_INT, MPI_MIN, grid_.comm()),
               "MPI_Allreduce");
    return finite == 1;
  }

  // dsyevd on grid rank 0, broadcast: G (vectors) and w (ascending values), and whether it
  // converged.
  bool symmetric_eigen(MatrixXd& G, VectorXd& w) const {
    int converged = 1;
    if (grid_.rank() == 0) {
      try {
        lapack::syevd('V', 'L', to_lapack_int(G.rows()), G.data(),
                      to_lapack_int(std::max<Index>(1, G.rows())), w.data());
      } catch (const LapackError& error) {
        if (error.info() < 0) throw;
        converged = 0;
      }
    }
    mpi::check(MPI_Bcast(&converged, 1, MPI_INT, 0, grid_.comm()), "MPI_Bcast");
    broadcast(G.data(), G.size());
    broadcast(w.data(), w.size());
    return converged == 1;
  }

  // pdgeqrf of a copy of W; its m x m triangle, gathered to grid rank 0, gets its SVD there,
  // broadcast.
  bool singular_ritz(const Block& W, MatrixXd& Z, VectorXd& s) const {
    const Index m = W.cols();
    Block A(grid_, W.rows(), m, nb_);
    scalapack::pdlacpy('A', to_lapack_int(W.rows()), to_lapack_int(m), W.data(), W.descriptor(),
                       A.data(), A.descriptor());
    std::vector<double> tau(static_cast<std::size_t>(std::max<std::int64_t>(1, A.local_cols())));
    scalapack::pdgeqrf(grid_.comm(), to_lapack_int(W.rows()), to_lapack_int(m), A.data(),
                       A.descriptor(), tau.data());
    Block T(grid_, m, m, nb_);  // zeros below the triangle
    scalapack::pdlacpy('U', to_lapack_int(m), to_lapack_int(m), A.data(), A.descriptor(), T.data(),
                       T.descriptor());
    const MatrixXd R = T.gather(0);
    Z.resize(m, m);
    s.resize(m);
    int converged = 1;
    if (grid_.rank() == 0) converged = krylov::right_singular_vectors(R, Z, s) ? 1 : 0;
    mpi::check(MPI_Bcast(&converged, 1, MPI_INT, 0, grid_.comm()), "MPI_Bcast");
    broadcast(Z.data(), Z.size());
    broadcast(s.data(), s.size());
    return converged == 1;
  }

 protected:
  // op(A) X for the m x k matrix op(A), X k x b: rows x b on the grid.
  Block multiply(char trans, const DistributedMatrix& A, const Block& X, Index rows) const {
    Block out(grid_, rows, X.cols(), nb_);
    if (X.cols() == 0 || rows == 0) return out;
    const Index inner = trans == 'N' ? A.cols() : A.rows();
    scalapack::pdgemm(trans, 'N', to_lapack_int(rows), to_lapack_int(X.cols()),
                      to_lapack_int(inner), 1.0, A.data(), 1, 1, A.descriptor(), X.data(), 1, 1,
                      X.descriptor(), 0.0, out.data(), 1, 1, out.descriptor());
    return out;
  }

  // A^T B (trans 'T') for blocks of the same rows: a.cols x b.cols on the grid.
  Block multiply_blocks(char trans, const Block& A, const Block& B) const {
    Block out(grid_, A.cols(), B.cols(), nb_);
    scalapack::pdgemm(trans, 'N', to_lapack_int(A.cols()), to_lapack_int(B.cols()),
                      to_lapack_int(A.rows()), 1.0, A.data(), 1, 1, A.descriptor(), B.data(), 1, 1,
                      B.descriptor(), 0.0, out.data(), 1, 1, out.descriptor());
    return out;
  }

  // X := X - Q (Q^T X).
  void subtract_projection(const Block& Q, Block& X) const {
    const MatrixXd C = gram(Q, X);
    Block Cd(grid_, C.rows(), C.cols(), nb_);
    Cd.fill([&](std::int64_t i, std::int64_t j) { return C(i, j); });
    scalapack::pdgemm('N', 'N', to_lapack_int(X.rows()), to_lapack_int(X.cols()),
                      to_lapack_int(Q.cols()), -1.0, Q.data(), 1, 1, Q.descriptor(), Cd.data(), 1,
                      1, Cd.descriptor(), 1.0, X.data(), 1, 1, X.descriptor());
  }

  // SVQB: X V diag(lambda)^{-1/2} over the eigenpairs of X^T X, twice; with `drop`, directions
  // whose singular value is below kDropBelow of the largest (or zero) are left out.
  Block orthonormalised(Block X, bool drop) const {
    for (int pass = 0; pass < 2 && X.cols() > 0; ++pass) {
      MatrixXd G = gram(X, X);
      VectorXd lambda(G.rows());
      if (!symmetric_eigen(G, lambda))
        throw NumericalError(
            "distributed_krylov_svd: the block orthonormalisation's "
            "eigensolver did not converge");
      const double largest = std::max(0.0, lambda.maxCoeff());
      std::vector<Index> kept;
      for (Index i = lambda.size() - 1; i >= 0; --i)
        if (lambda[i] > 0 &&
            (!(drop && pass == 0) || lambda[i] > kDropBelow * kDropBelow * largest))
          kept.push_back(i);
      if (largest == 0) kept.clear();
      MatrixXd T(G.rows(), static_cast<Index>(kept.size()));
      for (std::size_t k = 0; k < kept.size(); ++k)
        T.col(static_cast<Index>(k)) = G.col(kept[k]) / std::sqrt(lambda[kept[k]]);
      X = product(X, T);
    }
    return X;
  }

  // Entries that exactly one rank holds (the others hold 0): one MPI_Allreduce, exact whatever
  // its order, so the same bits on every rank.
  void replicate_owned(double* data, Index count) const {
    if (count == 0) return;
    mpi::check(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(count), MPI_DOUBLE, MPI_SUM,
                             grid_.comm()),
               "MPI_Allreduce");
  }

  // Partial sums that several ranks hold: gathered to every rank and added in rank order, so the
  // same bits on every rank (an MPI_Allreduce may add in a different order on each).
  void replicate_sum(double* data, Index count) const {
    if (count == 0) return;
    int ranks = 1;
    mpi::check(MPI_Comm_size(grid_.comm(), &ranks), "MPI_Comm_size");
    std::vector<double> all(static_cast<std::size_t>(count * ranks));
    mpi::check(MPI_Allgather(data, static_cast<int>(count), MPI_DOUBLE, all.data(),
                             static_cast<int>(count), MPI_DOUBLE, grid_.comm()),
               "MPI_Allgather");
    for (Index k = 0; k < count; ++k) {
      double sum = 0.0;
      for (int r = 0; r < ranks; ++r) sum += all[static_cast<std::size_t>(r * count + k)];
      data[k] = sum;
    }
  }

  void broadcast(double* data, Index count) const {
    if (count == 0) return;
    mpi::check(MPI_Bcast(data, static_cast<int>(count), MPI_DOUBLE, 0, grid_.comm()), "MPI_Bcast");
  }

  const ProcessGrid& grid_;
  std::int64_t nb_;
};

// The operator B: M, or M^T for a wide M. With `in_float` (--precision single) every product
// with M is a psgemm on a float copy of M's blocks: the block is rounded to float and the
// product widened, while the rest of the method (the Gram matrices, the orthonormalisation, the
// Ritz vectors) stays in double, so the method's rounding is float's in the products alone.
class GridOperator : public GridBlocks {
 public:
  explicit GridOperator(const DistributedMatrix& M, bool in_float = false)
      : GridBlocks(M.grid(), M.block()), M_(M), wide_(M.cols() > M.rows()) {
    if (in_float) M_float_ = LocalBlocks<float>::narrowed(M);
  }

  bool wide() const { return wide_; }
  Index short_dim() const { return wide_ ? M_.rows() : M_.cols(); }
  Index long_dim() const { return wide_ ? M_.cols() : M_.rows(); }
  double column_cost() const { return 2.0 * static_cast<double>(M_.rows()) * M_.cols(); }
  Block start_block(Index cols, std::uint64_t seed) const {
    return gaussian_start(short_dim(), cols, seed);
  }
  Block times(const Block& X) const { return apply(wide_ ? 'T' : 'N', X, long_dim()); }
  Block transpose_times(const Block& Y) const { return apply(wide_ ? 'N' : 'T', Y, short_dim()); }
  // The rounding unit of the products: the singular-rank test and the method's floor.
  double epsilon() const {
    return in_float() ? std::numeric_limits<float>::epsilon()
                      : std::numeric_limits<double>::epsilon();
  }

 private:
  bool in_float() const { return !M_float_.data.empty(); }

  Block apply(char trans, const Block& X, Index rows) const {
    if (!in_float()) return multiply(trans, M_, X, rows);
    Block out(grid_, rows, X.cols(), nb_);
    if (X.cols() == 0 || rows == 0) return out;
    const LocalBlocks<float> x = LocalBlocks<float>::narrowed(X);
    LocalBlocks<float> product = LocalBlocks<float>::zeros_like(out);
    const Index inner = trans == 'N' ? M_.cols() : M_.rows();
    scalapack::psgemm(trans, 'N', to_lapack_int(rows), to_lapack_int(X.cols()),
                      to_lapack_int(inner), 1.0F, M_float_.data.data(), M_float_.descriptor,
                      x.data.data(), x.descriptor, 0.0F, product.data.data(), product.descriptor);
    product.widen_into(out);
    return out;
  }

  const DistributedMatrix& M_;
  bool wide_;
  LocalBlocks<float> M_float_;  // empty in double
};

// T^-1, T the n x n triangular factor of a QR (upper) or LQ (lower), zeros in its other
// triangle, and s_max its largest value: its top triplets are T's bottom ones, values inverted.
// Each product is a pdtrsm.
class GridInverseTriangular : public GridBlocks {
 public:
  GridInverseTriangular(const DistributedMatrix& T, char uplo, double s_max)
      : GridBlocks(T.grid(), T.block()), T_(T), uplo_(uplo), norm_(s_max) {}

  static constexpr bool inverts = true;
  Block original_transpose_times(const Block& X) const { return multiply('T', T_, X, T_.rows()); }
  double original_norm() const { return norm_; }

  Index short_dim() const { return T_.rows(); }
  Index long_dim() const { return T_.rows(); }
  double column_cost() const { return static_cast<double>(T_.rows()) * T_.rows(); }
  Block start_block(Index cols, std::uint64_t seed) const {
    return gaussian_start(short_dim(), cols, seed);
  }
  Block times(Block X) const { return solve('N', std::move(X)); }
  Block transpose_times(Block Y) const { return solve('T', std::move(Y)); }

 private:
  Block solve(char trans, Block X) const {
    if (X.cols() > 0)
      scalapack::pdtrsm_left(uplo_, trans, to_lapack_int(T_.rows()), to_lapack_int(X.cols()),
                             T_.data(), T_.descriptor(), X.data(), X.descriptor());
    return X;
  }

  const DistributedMatrix& T_;
  char uplo_;
  double norm_;
};

// max over the triplets of max(||M v - s u||, ||M^T u - s v||) / s_max, from the returned
// factors (two pdgemm), the same on every rank.
double residual_against(const DistributedMatrix& M, const DistributedSpectrum& sp, double s_max) {
  const GridOperator B(M);
  const auto worst = [&](char trans, const DistributedMatrix& from, const DistributedMatrix& to) {
    DistributedMatrix image(M.grid(), to.rows(), from.cols(), M.block());
    scalapack::pdgemm(trans, 'N', to_lapack_int(to.rows()), to_lapack_int(from.cols()),
                      to_lapack_int(from.rows()), 1.0, M.data(), 1, 1, M.descriptor(), from.data(),
                      1, 1, from.descriptor(), 0.0, image.data(), 1, 1, image.descriptor());
    return B.column_norms(B.minus_scaled(std::move(image), to, sp.s)).maxCoeff();
  };
  return std::max(worst('N', sp.V, sp.U), worst('T', sp.U, sp.V)) / s_max;
}

// The report of a converged run: the method, its iterations and the residual of its factors.
SvdReport checked_report(const char* method, std::int64_t iterations, double residual) {
  SvdReport report;
  report.method = method;
  report.iterations = iterations;
  report.residual = residual;
  return report;
}

// The argument checks of both methods; NaN or Inf anywhere is a NumericalError on every rank.
void check_arguments(const char* method, const DistributedMatrix& M,
                     const TruncatedSvdSettings& settings) {
  krylov::check_settings(method, M.rows(), M.cols(), settings);
  if (M.grid().active() && !GridOperator(M).all_finite(M))
    throw NumericalError(std::string(method) + ": the matrix contains NaN or Inf");
}

}  // namespace

double distributed_svd_residual(const DistributedMatrix& M, const DistributedSpectrum& spectrum,
                                double s_max) {
  return residual_against(M, spectrum, s_max);
}

std::optional<DistributedTruncatedSvd> distributed_krylov_svd(const DistributedMatrix& M,
                                                              const TruncatedSvdSettings& settings,
                                                              KrylovGiveUp* why) {
  check_arguments("distributed_krylov_svd", M, settings);
  if (!M.grid().active()) return std::nullopt;
  // Single: the products in float, to a tolerance float can reach (krylov_svd's).
  const bool in_float = settings.precision == SvdPrecision::Single;
  if (in_float) check_single_range("distributed_krylov_svd", M);
  TruncatedSvdSettings run_settings = settings;
  if (in_float) run_settings.tolerance = std::max(settings.tolerance, kSingleKrylovTolerance);
  const GridOperator B(M, in_float);
  const Index short_dim = B.short_dim();
  const krylov::GiveUp give_up{why};
  const double budget = krylov::budget_of(static_cast<double>(B.long_dim()),
                                          static_cast<double>(short_dim), settings, in_float);
  std::optional<krylov::Run<DistributedMatrix>> run =
      krylov::top_triplets(B, static_cast<Index>(settings.rank), run_settings, budget, 0.0,
                           krylov::ResidualScale::LargestValue,
                           0x5356'5221u + static_cast<std::uint64_t>(short_dim), give_up);
  if (!run) return std::nullopt;

  const double s_max = run->s.maxCoeff();
  DistributedTruncatedSvd out{
      DistributedSpectrum{run->s, B.wide() ? std::move(run->X) : std::move(run->Y),
                          B.wide() ? std::move(run->Y) : std::move(run->X)},
      SvdReport{}};
  out.report =
      checked_report("scalapack-krylov", run->iterations, residual_against(M, out.spectrum, s_max));
  out.report.precision = in_float ? "single" : "double";
  if (!(*out.report.residual <= run_settings.tolerance))
    return give_up("its final residual " + krylov::residual_text(*out.report.residual) +
                   " is above the tolerance");
  return out;
}

std::optional<DistributedBottomSvd> distributed_krylov_bottom_svd(
    const DistributedMatrix& M, const TruncatedSvdSettings& settings, KrylovGiveUp* why) {
  check_arguments("distributed_krylov_bottom_svd", M, settings);
  const ProcessGrid& grid = M.grid();
  if (!grid.active()) return std::nullopt;
  const krylov::GiveUp give_up{why};
  const bool wide = M.cols() > M.rows();
  const Index n = std::min(M.rows(), M.cols());
  const Index L = std::max(M.rows(), M.cols());
  const Index K = static_cast<Index>(settings.rank);
  const std::int64_t nb = M.block();
  const double budget = krylov::budget_of(static_cast<double>(L), static_cast<double>(n), settings);
  // pdgeqrf (pdgelqf) and pdormqr (pdormlq) cost what dgeqrf and dormqr do.
  const std::optional<double> qr_cost = krylov::bottom_start_cost(L, n, K, budget, give_up);
  if (!qr_cost) return std::nullopt;

  // Tall: M = Q R (R n x n upper); wide: M = L Q (L n x n lower). T has M's singular values.
  DistributedMatrix A(grid, M.rows(), M.cols(), nb);
  scalapack::pdlacpy('A', to_lapack_int(M.rows()), to_lapack_int(M.cols()), M.data(),
                     M.descriptor(), A.data(), A.descriptor());
  const std::int64_t tau_count = wide ? A.local_rows() : A.local_cols();
  std::vector<double> tau(static_cast<std::size_t>(std::max<std::int64_t>(1, tau_count)));
  if (wide)
    scalapack::pdgelqf(grid.comm(), to_lapack_int(M.rows()), to_lapack_int(M.cols()), A.data(),
                       A.descriptor(), tau.data());
  else
    scalapack::pdgeqrf(grid.comm(), to_lapack_int(M.rows()), to_lapack_int(M.cols()), A.data(),
                       A.descriptor(), tau.data());
  const char uplo = wide ? 'L' : 'U';
  DistributedMatrix T(grid, n, n, nb);
  scalapack::pdlacpy(uplo, to_lapack_int(n), to_lapack_int(n), A.data(), A.descriptor(), T.data(),
                     T.descriptor());

  // s_max: T's top triplet.
  TruncatedSvdSettings top_settings = settings;
  top_settings.rank = 1;
  const std::optional<krylov::Run<DistributedMatrix>> top = krylov::top_triplets(
      GridOperator(T), 1, top_settings, budget, *qr_cost, krylov::ResidualScale::LargestValue,
      0x5356'5223u + static_cast<std::uint64_t>(n), give_up);
  if (!top) return std::nullopt;
  const double s_max = top->s[0];

  // T's bottom K: the top K of T^-1, each to its own value's scale.
  const GridInverseTriangular inverse_of_T(T, uplo, s_max);
  std::optional<krylov::Run<DistributedMatrix>> inverse = krylov::top_triplets(
      inverse_of_T, K, settings, budget, top->cost, krylov::ResidualScale::OwnValue,
      0x5356'5224u + static_cast<std::uint64_t>(n), give_up);
  if (!inverse) return std::nullopt;
  // T^-1 u = (1/s) v: the input side X holds T's left vectors, the output side Y its right ones.
  // Tall: M's left vectors are Q [u; 0], its right vectors v. Wide: M's left vectors are u, its
  // right vectors Q^T [v; 0].
  std::vector<Index> reversed(static_cast<std::size_t>(K));
  for (Index j = 0; j < K; ++j) reversed[static_cast<std::size_t>(j)] = K - 1 - j;
  DistributedMatrix t_left = inverse_of_T.columns(inverse->X, reversed);
  DistributedMatrix t_right = inverse_of_T.columns(inverse->Y, reversed);
  DistributedMatrix& short_side = wide ? t_right : t_left;  // the side Q applies to
  DistributedMatrix lifted(grid, L, K, nb);
  redistribute(grid, RedistributionSource::of(short_side), RedistributionTarget::of(lifted));
  if (wide)
    scalapack::pdormlq(grid.comm(), 'L', 'T', to_lapack_int(L), to_lapack_int(K), to_lapack_int(n),
                       A.data(), A.descriptor(), tau.data(), lifted.data(), lifted.descriptor());
  else
    scalapack::pdormqr(grid.comm(), 'L', 'N', to_lapack_int(L), to_lapack_int(K), to_lapack_int(n),
                       A.data(), A.descriptor(), tau.data(), lifted.data(), lifted.descriptor());
  Eigen::VectorXd s = inverse->s.cwiseInverse().reverse();
  DistributedBottomSvd out{DistributedSpectrum{s, wide ? std::move(t_left) : std::move(lifted),
                                               wide ? std::move(lifted) : std::move(t_right)},
                           s_max, SvdReport{}};
  if (s[K - 1] <= static_cast<double>(n) * std::numeric_limits<double>::epsilon() * s_max)
    return give_up("the matrix is numerically singular");
  out.report = checked_report("scalapack-qr-krylov", inverse->iterations,
                              residual_against(M, out.spectrum, s_max));
  if (!(*out.report.residual <= settings.tolerance))
    return give_up("its final residual " + krylov::residual_text(*out.report.residual) +
                   " is above the tolerance");
  return out;
}

}  // namespace svr
