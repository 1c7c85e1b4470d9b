#include "svr/linalg/distributed_svd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "local_blocks.hpp"
#include "svr/core/error.hpp"
#include "svr/linalg/blas.hpp"
#include "svr/linalg/lapack.hpp"
#include "svr/linalg/redistribute.hpp"
#include "svr/linalg/scalapack.hpp"
#include "svr/linalg/transpose.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {
namespace {

using scalapack::Descriptor;

// psgesvd of af, the float copy of an m x n matrix on U's grid (destroyed): s, U (m x k) and
// VT (k x n), widened.
void single_svd(LocalBlocks<float> af, lapack_int m, lapack_int n, Eigen::VectorXd& s,
                DistributedMatrix& U, DistributedMatrix& VT) {
  LocalBlocks<float> uf = LocalBlocks<float>::zeros_like(U),
                     vtf = LocalBlocks<float>::zeros_like(VT);
  Eigen::VectorXf sf(s.size());
  scalapack::psgesvd(U.grid().comm(), 'V', 'V', m, n, af.data.data(), af.descriptor, sf.data(),
                     uf.data.data(), uf.descriptor, vtf.data.data(), vtf.descriptor);
  s = sf.cast<double>();
  uf.widen_into(U);
  vtf.widen_into(VT);
}

// pdgesvd of a (destroyed), or psgesvd of a float copy (a freed first): s, U (m x k), VT (k x n).
void direct_svd(DistributedMatrix& a, Eigen::VectorXd& s, DistributedMatrix& U,
                DistributedMatrix& VT, SvdPrecision precision) {
  const lapack_int m = to_lapack_int(a.rows()), n = to_lapack_int(a.cols());
  if (precision == SvdPrecision::Single) {
    LocalBlocks<float> af = LocalBlocks<float>::narrowed(a);
    a = DistributedMatrix(a.grid(), 0, 0, a.block());  // its memory, while psgesvd runs
    single_svd(std::move(af), m, n, s, U, VT);
    return;
  }
  scalapack::pdgesvd(a.grid().comm(), 'V', 'V', m, n, a.data(), a.descriptor(), s.data(), U.data(),
                     U.descriptor(), VT.data(), VT.descriptor());
}

constexpr std::int64_t kPadding = 8;

// Collective over the grid: the sum of f(entry) over every entry of x.
template <typename F>
double grid_sum(const DistributedMatrix& x, F&& f) {
  double local = 0.0;
  for (std::int64_t lj = 0; lj < x.local_cols(); ++lj)
    for (std::int64_t li = 0; li < x.local_rows(); ++li) local += f(x, li, lj);
  double total = 0.0;
  mpi::check(MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, x.grid().comm()),
             "MPI_Allreduce");
  return total;
}

double squared_norm(const DistributedMatrix& x) {
  return grid_sum(x, [](const DistributedMatrix& m, std::int64_t li, std::int64_t lj) {
    return m.local(li, lj) * m.local(li, lj);
  });
}

// Collective: a lower estimate of ||a||_2 by 12 power steps on a^T a from a fixed start with no
// special direction (Rayleigh quotients never exceed the norm).
double norm_estimate(const DistributedMatrix& a) {
  const ProcessGrid& grid = a.grid();
  const std::int64_t m = a.rows(), n = a.cols(), nb = a.block();
  DistributedMatrix x(grid, n, 1, nb), y(grid, m, 1, nb);
  x.fill([](std::int64_t i, std::int64_t) { return 1.0 + 0.5 * std::sin(1.7 * (i + 1)); });
  double estimate = 0.0;
  for (int step = 0; step < 12; ++step) {
    const double x_norm = std::sqrt(squared_norm(x));
    if (x_norm == 0.0) break;
    scalapack::pdgemm('N', 'N', to_lapack_int(m), 1, to_lapack_int(n), 1.0 / x_norm, a.data(), 1, 1,
                      a.descriptor(), x.data(), 1, 1, x.descriptor(), 0.0, y.data(), 1, 1,
                      y.descriptor());
    estimate = std::sqrt(squared_norm(y));  // ||a x|| for a unit x
    scalapack::pdgemm('T', 'N', to_lapack_int(n), 1, to_lapack_int(m), 1.0, a.data(), 1, 1,
                      a.descriptor(), y.data(), 1, 1, y.descriptor(), 0.0, x.data(), 1, 1,
                      x.descriptor());
  }
  return estimate;
}

// pdgesvd of [a 0; 0 c I] (a is not modified), keeping the triplets of a: s (k), U (m x k),
// VT (k x n), both (re)allocated here. False, with s, U and VT unspecified, if the padding did not
// come out as the 8 largest, well separated triplets with their vectors in the padded rows and
// columns (then the caller factors a itself); the same answer on every rank.
bool padded_svd(const DistributedMatrix& a, Eigen::VectorXd& s, DistributedMatrix& U,
                DistributedMatrix& VT, const DistributedSvdOptions& options) {
  const ProcessGrid& grid = a.grid();
  const std::int64_t m = a.rows(), n = a.cols(), k = std::min(m, n), nb = a.block(), p = kPadding;
  const double estimate = norm_estimate(a);
  const double c = estimate > 0.0 ? options.pad_scale * estimate : 1.0;
  Eigen::VectorXd sp(k + p);
  DistributedMatrix Up(grid, m + p, k + p, nb), VTp(grid, k + p, n + p, nb);
  {
    DistributedMatrix padded(grid, m + p, n + p, nb);
    redistribute(grid, RedistributionSource::of(a), RedistributionTarget::of(padded));
    for (std::int64_t d = 0; d < p; ++d)
      if (padded.owns(m + d, n + d))
        padded.local(block_cyclic::global_to_local(m + d, nb, grid.shape().rows),
                     block_cyclic::global_to_local(n + d, nb, grid.shape().cols)) = c;
    direct_svd(padded, sp, Up, VTp, options.precision);
  }
  // The padding's vectors: columns 0..p-1 of Up live in rows m.., rows 0..p-1 of VTp in
  // columns n..; anything else means a's own triplets got mixed in.
  const double u_mass =
      grid_sum(Up, [&](const DistributedMatrix& x, std::int64_t li, std::int64_t lj) {
        const double v = x.local(li, lj);
        return x.global_col(lj) < p && x.global_row(li) >= m ? v * v : 0.0;
      });
  const double v_mass =
      grid_sum(VTp, [&](const DistributedMatrix& x, std::int64_t li, std::int64_t lj) {
        const double v = x.local(li, lj);
        return x.global_row(li) < p && x.global_col(lj) >= n ? v * v : 0.0;
      });
  // Vectors computed in float are orthonormal to about 1e-6 only.
  const double tolerance =
      (options.precision == SvdPrecision::Single ? 1e-4 : 1e-10) * static_cast<double>(p);
  if (!(std::abs(u_mass - p) <= tolerance && std::abs(v_mass - p) <= tolerance &&
        sp(p - 1) > 1.25 * sp(p)))
    return false;
  s = sp.segment(p, k);
  const auto keep_first = [](std::int64_t limit) {
    return [limit](std::int64_t i) { return i < limit ? i : -1; };
  };
  const auto drop_padding = [pad = p](std::int64_t i) { return i >= pad ? i - pad : -1; };
  // U and VT are allocated here, each right after the padded factor it comes from is no longer
  // needed by the other, so the peak stays that of the unpadded path.
  U = DistributedMatrix(grid, m, k, nb);
  redistribute(grid, RedistributionSource::of(Up), RedistributionTarget::of(U), keep_first(m),
               drop_padding);
  Up = DistributedMatrix(grid, 0, 0, nb);
  VT = DistributedMatrix(grid, k, n, nb);
  redistribute(grid, RedistributionSource::of(VTp), RedistributionTarget::of(VT), drop_padding,
               keep_first(n));
  return true;
}

// The SVD of a (which may be destroyed): padded when pdgesvd would be slow on its shape.
// Returns whether it was.
bool factor(DistributedMatrix& a, Eigen::VectorXd& s, DistributedMatrix& U, DistributedMatrix& VT,
            const DistributedSvdOptions& options) {
  if (pads_dimension(std::min(a.rows(), a.cols()), options) && padded_svd(a, s, U, VT, options))
    return true;
  direct_svd(a, s, U, VT, options.precision);
  return false;
}

// Runs `write(local array, descriptor)` on x's entries in T: in place for double, on a float copy
// widened back for float.
template <typename T, typename Write>
void in_precision(DistributedMatrix& x, Write&& write) {
  if constexpr (std::is_same_v<T, double>) {
    write(x.data(), x.descriptor());
  } else {
    LocalBlocks<T> copy = LocalBlocks<T>::narrowed(x);
    write(copy.data.data(), copy.descriptor);
    copy.widen_into(x);
  }
}

// The ScaLAPACK routines of the reduction in one real type.
template <typename T>
struct ReductionRoutines;
template <>
struct ReductionRoutines<double> {
  static constexpr auto geqrf = scalapack::pdgeqrf, gelqf = scalapack::pdgelqf;
  static constexpr auto ormqr = scalapack::pdormqr, ormlq = scalapack::pdormlq;
  static constexpr auto lacpy = scalapack::pdlacpy;
};
template <>
struct ReductionRoutines<float> {
  static constexpr auto geqrf = scalapack::psgeqrf, gelqf = scalapack::psgelqf;
  static constexpr auto ormqr = scalapack::psormqr, ormlq = scalapack::psormlq;
  static constexpr auto lacpy = scalapack::pslacpy;
};

// M = Q [R; 0] (tall: QR, pdgeqrf) or M = [L 0] Q (wide: LQ, pdgelqf), computed in the real
// type T (double, or float for --precision single): the reflectors stay in M's blocks and tau,
// in T, until Q is applied.
template <typename T>
class Reduction {
 public:
  // Factors M and writes the k x k triangular factor (R or L) to `triangle`.
  Reduction(const DistributedMatrix& M, DistributedMatrix& triangle)
      : a_(LocalBlocks<T>::narrowed(M)),
        tall_(M.rows() >= M.cols()),
        m_(to_lapack_int(M.rows())),
        n_(to_lapack_int(M.cols())),
        k_(to_lapack_int(std::min(M.rows(), M.cols()))),
        comm_(M.grid().comm()) {
    // tau has LOCc(k) entries for geqrf, LOCr(k) for gelqf.
    const ProcessGrid& grid = M.grid();
    const std::int64_t count =
        tall_ ? block_cyclic::local_count(k_, M.block(), grid.my_col(), grid.shape().cols)
              : block_cyclic::local_count(k_, M.block(), grid.my_row(), grid.shape().rows);
    tau_.assign(static_cast<std::size_t>(std::max<std::int64_t>(1, count)), T(0));
    using R = ReductionRoutines<T>;
    (tall_ ? R::geqrf : R::gelqf)(comm_, m_, n_, a(), a_.descriptor, tau_.data());
    in_precision<T>(triangle, [&](T* t, const Descriptor& descriptor) {
      R::lacpy(tall_ ? 'U' : 'L', k_, k_, a(), a_.descriptor, t, descriptor);
    });
  }

  // Tall: C (m x c) := Q C. Wide: C (c x n) := C Q.
  void apply(DistributedMatrix& C) const {
    const lapack_int rows = tall_ ? m_ : to_lapack_int(C.rows());
    const lapack_int cols = tall_ ? to_lapack_int(C.cols()) : n_;
    if (rows == 0 || cols == 0) return;
    using R = ReductionRoutines<T>;
    in_precision<T>(C, [&](T* c, const Descriptor& descriptor) {
      (tall_ ? R::ormqr : R::ormlq)(comm_, tall_ ? 'L' : 'R', 'N', rows, cols, k_, a_.data.data(),
                                    a_.descriptor, tau_.data(), c, descriptor);
    });
  }

 private:
  T* a() { return a_.data.data(); }

  LocalBlocks<T> a_;
  std::vector<T> tau_;
  bool tall_;
  lapack_int m_, n_, k_;
  MPI_Comm comm_;
};

// The protocol of a core factored by LAPACK on grid rank 0: `factor` runs there and returns the
// k singular values, while every other rank runs while_core_runs; a failure on rank 0 is thrown
// on every rank alike. Returns the values, broadcast to every rank of the grid.
template <typename Factor>
Eigen::VectorXd on_grid_rank_zero(const ProcessGrid& grid, std::int64_t k,
                                  const DistributedSvdOptions& options, Factor&& factor) {
  Eigen::VectorXd s(k);
  mpi::agreed(grid.comm(), [&] {
    if (grid.rank() == 0)
      s = factor();
    else if (options.while_core_runs)
      options.while_core_runs();
  });
  mpi::check(MPI_Bcast(s.data(), static_cast<int>(k), MPI_DOUBLE, 0, grid.comm()), "MPI_Bcast");
  return s;
}

// The SVD of the k x k `triangle` (freed) by LAPACK on grid rank 0: gathered there, factored by
// thin_svd (dgesdd, sgesdd in single precision) while the other ranks run while_core_runs, and
// its factors scattered into Ut and VTt (k x k on the grid); s on every rank.
void core_on_grid_rank_zero(DistributedMatrix& triangle, Eigen::VectorXd& s, DistributedMatrix& Ut,
                            DistributedMatrix& VTt, const DistributedSvdOptions& options) {
  const ProcessGrid& grid = triangle.grid();
  const std::int64_t k = triangle.rows();
  Eigen::MatrixXd whole = triangle.gather(0);
  triangle = DistributedMatrix(grid, 0, 0, triangle.block());
  Spectrum core;
  s = on_grid_rank_zero(grid, k, options, [&] {
    core = thin_svd(whole, std::nullopt, options.precision);
    whole.resize(0, 0);
    core.V.transposeInPlace();  // V^T, the layout of VTt
    return core.s;
  });
  redistribute(grid, RedistributionSource::whole(&core.U, 0, k, k), RedistributionTarget::of(Ut));
  core.U.resize(0, 0);
  redistribute(grid, RedistributionSource::whole(&core.V, 0, k, k), RedistributionTarget::of(VTt));
}

// How many leading triplets get their long side's vectors from one product with M (the rest
// through Q): those with s_i >= s_max / 100 (s_max / 10 in single precision). The product's
// rounding errs by about eps s_max / s_i in each vector, so this keeps it within about 100 eps in
// double (1e-14) and 10 eps in float (1e-6, where the single SVD's own vectors err by about as
// much).
std::int64_t gemm_triplets(const Eigen::VectorXd& s, SvdPrecision precision) {
  const double condition = precision == SvdPrecision::Single ? 10.0 : 100.0;
  std::int64_t count = 0;
  while (count < s.size() && s[0] > 0 && s[count] >= s[0] / condition) ++count;
  return count;
}

// Whether M's grid splits its long dimension only (a wide M on one process row, a tall one on
// one process column), so that every rank holds whole columns (rows) of M.
bool long_dimension_only_split(const DistributedMatrix& M) {
  return M.rows() >= M.cols() ? M.grid().shape().cols == 1 : M.grid().shape().rows == 1;
}

// long_side_by_product when every rank holds whole columns (wide) or rows (tall) of M: the
// short side's `head` columns broadcast whole, then one local gemm per rank (in T) into its part
// of long_side, unscaled. PBLAS would run the same product as `nb`-wide rank updates of the whole
// long side, which on this machine ran at 40 % of one gemm's speed (VGG16's classifier.0).
template <typename T>
void local_long_side(const DistributedMatrix& M, const DistributedMatrix& short_side,
                     std::int64_t head, DistributedMatrix& long_side) {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  const ProcessGrid& grid = M.grid();
  const bool tall = M.rows() >= M.cols();
  const std::int64_t k = short_side.rows();
  Matrix side(k, head);
  {
    Eigen::MatrixXd whole = gather_leading(short_side, k, head, 0);
    if (grid.rank() == 0) side = whole.template cast<T>();
  }
  mpi::broadcast_in_pieces(side.data(), k * head, 0, grid.comm());
  const std::int64_t lr = M.local_rows(), lc = M.local_cols();
  if (lr == 0 || lc == 0) return;
  // Wide: long_side(0:head, local columns) = side^T M_local. Tall: long_side(local rows, 0:head)
  // = M_local side. The long side has M's layout along the split dimension.
  if constexpr (std::is_same_v<T, double>) {
    if (tall)
      blas::gemm('N', 'N', lr, head, k, 1.0, M.data(), M.local_ld(), side.data(), k, 0.0,
                 long_side.data(), long_side.local_ld());
    else
      blas::gemm('T', 'N', head, lc, k, 1.0, side.data(), k, M.data(), M.local_ld(), 0.0,
                 long_side.data(), long_side.local_ld());
  } else {
    const Matrix m = Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>>(
                         M.data(), lr, lc, Eigen::OuterStride<>(M.local_ld()))
                         .template cast<T>();
    const Matrix product = tall ? blas::gemm('N', m, 'N', side) : blas::gemm('T', side, 'N', m);
    for (std::int64_t j = 0; j < product.cols(); ++j)
      for (std::int64_t i = 0; i < product.rows(); ++i)
        long_side.local(i, j) = double(product(i, j));
  }
}

// The long side's vectors of the first `head` triplets from M itself: tall, U(:, j) =
// M V(:, j) / s_j; wide, V^T(j, :) = U(:, j)^T M / s_j (`short_side` is V or U, k x k), written
// into the first `head` columns (rows) of `long_side`: local gemms when the grid splits the long
// dimension only, else one pdgemm, or a psgemm on float copies in T = float.
template <typename T>
void long_side_by_product(const DistributedMatrix& M, const DistributedMatrix& short_side,
                          const Eigen::VectorXd& s, std::int64_t head,
                          DistributedMatrix& long_side) {
  if (head == 0) return;
  const bool tall = M.rows() >= M.cols();
  const lapack_int rows = to_lapack_int(tall ? M.rows() : head);
  const lapack_int cols = to_lapack_int(tall ? head : M.cols());
  const lapack_int inner = to_lapack_int(std::min(M.rows(), M.cols()));
  const char trans_m = tall ? 'N' : 'T';
  if (long_dimension_only_split(M)) {
    local_long_side<T>(M, short_side, head, long_side);
  } else if constexpr (std::is_same_v<T, double>) {
    if (tall)
      scalapack::pdgemm('N', 'N', rows, cols, inner, 1.0, M.data(), 1, 1, M.descriptor(),
                        short_side.data(), 1, 1, short_side.descriptor(), 0.0, long_side.data(), 1,
                        1, long_side.descriptor());
    else
      scalapack::pdgemm(trans_m, 'N', rows, cols, inner, 1.0, short_side.data(), 1, 1,
                        short_side.descriptor(), M.data(), 1, 1, M.descriptor(), 0.0,
                        long_side.data(), 1, 1, long_side.descriptor());
  } else {
    const LocalBlocks<float> m = LocalBlocks<float>::narrowed(M);
    const LocalBlocks<float> side = LocalBlocks<float>::narrowed(short_side);
    LocalBlocks<float> product = LocalBlocks<float>::zeros_like(long_side);
    if (tall)
      scalapack::psgemm('N', 'N', rows, cols, inner, 1.0F, m.data.data(), m.descriptor,
                        side.data.data(), side.descriptor, 0.0F, product.data.data(),
                        product.descriptor);
    else
      scalapack::psgemm(trans_m, 'N', rows, cols, inner, 1.0F, side.data.data(), side.descriptor,
                        m.data.data(), m.descriptor, 0.0F, product.data.data(), product.descriptor);
    for (std::int64_t lj = 0; lj < long_side.local_cols(); ++lj)
      for (std::int64_t li = 0; li < long_side.local_rows(); ++li)
        if ((tall ? long_side.global_col(lj) : long_side.global_row(li)) < head)
          long_side.local(li, lj) =
              double(product.data[static_cast<std::size_t>(li + lj * long_side.local_ld())]);
  }
  for (std::int64_t lj = 0; lj < long_side.local_cols(); ++lj)
    for (std::int64_t li = 0; li < long_side.local_rows(); ++li) {
      const std::int64_t j = tall ? long_side.global_col(lj) : long_side.global_row(li);
      if (j < head) long_side.local(li, lj) /= s[j];
    }
}

// QR (tall) or LQ (wide) first, the SVD of the k x k triangular factor, then the factor on the
// long side: for the well-conditioned leading triplets (gemm_triplets) by one product with M,
// which runs at gemm's speed and costs 2 k^2 (long side) flops where applying Q (pdormqr,
// pdormlq: blocked reflectors, slower per flop on a grid) costs twice that; for the others by
// applying Q to the core's vectors, whose accuracy does not depend on s_i.
template <typename T>
void reduce_first_svd(const DistributedMatrix& M, DistributedSpectrum& out,
                      const DistributedSvdOptions& options) {
  const ProcessGrid& grid = M.grid();
  const std::int64_t m = M.rows(), n = M.cols(), k = std::min(m, n), nb = M.block();
  const bool tall = m >= n;
  DistributedMatrix triangle(grid, k, k, nb);
  std::optional<Reduction<T>> reduction(std::in_place, M, triangle);
  DistributedMatrix Ut(grid, k, k, nb), VTt(grid, k, k, nb);
  if (options.core_on_one_rank) {
    core_on_grid_rank_zero(triangle, out.s, Ut, VTt, options);
    out.core_on_one_rank = true;
  } else {
    out.padded = factor(triangle, out.s, Ut, VTt, options);
  }
  const std::int64_t head =
      options.long_side_by_product ? gemm_triplets(out.s, options.precision) : 0;
  out.long_side_by_product = head;
  // The long side: tall, U (m x k) = Q [Ut; 0]; wide, V^T (k x n) = [VTt 0] Q. The tail's
  // triplets [head, k) through Q, on a matrix of k - head columns (rows).
  DistributedMatrix long_side(grid, tall ? m : k, tall ? k : n, nb);
  if (head < k) {
    DistributedMatrix tail(grid, tall ? m : k - head, tall ? k - head : n, nb);
    const IndexMap from_head = [head](std::int64_t j) { return j >= head ? j - head : -1; };
    const IndexMap to_head = [head](std::int64_t j) { return j + head; };
    redistribute(grid, RedistributionSource::of(tall ? Ut : VTt), RedistributionTarget::of(tail),
                 tall ? IndexMap{} : from_head, tall ? from_head : IndexMap{});
    reduction->apply(tail);
    redistribute(grid, RedistributionSource::of(tail), RedistributionTarget::of(long_side),
                 tall ? IndexMap{} : to_head, tall ? to_head : IndexMap{});
  }
  reduction.reset();  // the reflectors: M's size, in T
  if (tall) {
    out.V = transpose(VTt);
    long_side_by_product<T>(M, out.V, out.s, head, long_side);
    out.U = std::move(long_side);
  } else {
    out.U = std::move(Ut);
    long_side_by_product<T>(M, out.U, out.s, head, long_side);
    out.V = transpose(long_side);
  }
}

// The SVD through the bidiagonal form, its core by LAPACK on grid rank 0, for a layer that no QR
// or LQ first makes smaller (a square one): M = Q B P^T on the grid (pdgebrd, in T), the k x k
// bidiagonal B gathered to rank 0 and factored there by divide and conquer, B = U_B diag(s) V_B^T
// (dbdsdc, sbdsdc in single precision), while the other ranks run while_core_runs; then
// U = Q [U_B; 0] and V^T = [V_B^T 0] P^T on the grid (pdormbr). pdgesvd runs QR iteration on B
// with the rotations applied to the distributed vectors, which is where it loses 5-6x per flop
// against dgesdd; this is dgesdd's own algorithm with the two O(m n k) steps on the grid.
template <typename T>
void bidiagonal_svd(const DistributedMatrix& M, DistributedSpectrum& out,
                    const DistributedSvdOptions& options) {
  const ProcessGrid& grid = M.grid();
  const std::int64_t m = M.rows(), n = M.cols(), k = std::min(m, n), nb = M.block();
  const bool upper = m >= n;  // B is upper bidiagonal for m >= n, lower otherwise
  const int my_row = grid.my_row(), my_col = grid.my_col();
  const int rows = grid.shape().rows, cols = grid.shape().cols;
  LocalBlocks<T> a = LocalBlocks<T>::narrowed(M);
  // d, e, tauq and taup are each LOCr(k) or LOCc(k) long (pdgebrd); every one gets the larger.
  const std::size_t local_k =
      static_cast<std::size_t>(1 + std::max(block_cyclic::local_count(k, nb, my_row, rows),
                                            block_cyclic::local_count(k, nb, my_col, cols)));
  std::vector<T> d(local_k), e(local_k), tauq(local_k), taup(local_k);
  const lapack_int mi = to_lapack_int(m), ni = to_lapack_int(n), ki = to_lapack_int(k);
  scalapack::gebrd(grid.comm(), mi, ni, a.data.data(), a.descriptor, d.data(), e.data(),
                   tauq.data(), taup.data());

  // B's diagonal and off-diagonal (A(j-1, j) when upper, A(j+1, j) when lower) from the local
  // blocks, summed onto rank 0: each entry has one owner, so the sum is exact.
  std::vector<double> bidiagonal(static_cast<std::size_t>(2 * k), 0.0);
  const std::int64_t ld = M.local_ld();
  const auto local_entry = [&](std::int64_t i, std::int64_t lj, double& into) {
    if (i < 0 || i >= k || block_cyclic::owner(i, nb, rows) != my_row) return;
    const std::int64_t li = block_cyclic::global_to_local(i, nb, rows);
    into = static_cast<double>(a.data[static_cast<std::size_t>(li + lj * ld)]);
  };
  for (std::int64_t lj = 0; lj < M.local_cols(); ++lj) {
    const std::int64_t j = M.global_col(lj);
    if (j >= k) continue;
    local_entry(j, lj, bidiagonal[static_cast<std::size_t>(j)]);
    if (upper && j > 0) local_entry(j - 1, lj, bidiagonal[static_cast<std::size_t>(k + j - 1)]);
    if (!upper) local_entry(j + 1, lj, bidiagonal[static_cast<std::size_t>(k + j)]);
  }
  if (grid.rank() == 0)
    mpi::check(MPI_Reduce(MPI_IN_PLACE, bidiagonal.data(), static_cast<int>(2 * k), MPI_DOUBLE,
                          MPI_SUM, 0, grid.comm()),
               "MPI_Reduce");
  else
    mpi::check(MPI_Reduce(bidiagonal.data(), nullptr, static_cast<int>(2 * k), MPI_DOUBLE, MPI_SUM,
                          0, grid.comm()),
               "MPI_Reduce");

  Eigen::MatrixXd UB, VTB;
  out.s = on_grid_rank_zero(grid, k, options, [&] {
    std::vector<T> dd(bidiagonal.begin(), bidiagonal.begin() + k);
    std::vector<T> ee(bidiagonal.begin() + k, bidiagonal.end());
    bidiagonal.clear();
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> u(k, k), vt(k, k);
    lapack::bdsdc(upper ? 'U' : 'L', ki, dd.data(), ee.data(), u.data(), ki, vt.data(), ki);
    UB = u.template cast<double>();
    u.resize(0, 0);
    VTB = vt.template cast<double>();
    return Eigen::VectorXd(Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(dd.data(), k)
                               .template cast<double>());
  });

  // U (m x k) = Q [U_B; 0] and V^T (k x n) = [V_B^T 0] P^T: each core factor into the leading
  // block of a matrix of zeros on the grid, then the reflectors applied to it in T.
  const auto expand = [&](Eigen::MatrixXd& core, std::int64_t rows_out, std::int64_t cols_out,
                          char vect, char side, char trans, const std::vector<T>& tau) {
    DistributedMatrix x(grid, rows_out, cols_out, nb);
    redistribute(grid, RedistributionSource::whole(&core, 0, k, k), RedistributionTarget::of(x));
    core.resize(0, 0);
    in_precision<T>(x, [&](T* c, const Descriptor& descriptor) {
      scalapack::ormbr(grid.comm(), vect, side, trans, to_lapack_int(rows_out),
                       to_lapack_int(cols_out), vect == 'Q' ? ni : mi, a.data.data(), a.descriptor,
                       tau.data(), c, descriptor);
    });
    return x;
  };
  DistributedMatrix U = expand(UB, m, k, 'Q', 'L', 'N', tauq);
  DistributedMatrix VT = expand(VTB, k, n, 'P', 'R', 'T', taup);
  a = LocalBlocks<T>{};
  out.U = std::move(U);
  out.V = transpose(VT);
  out.core_on_one_rank = true;
  out.bidiagonal_core = true;
}

}  // namespace

bool pads_dimension(std::int64_t k, const DistributedSvdOptions& options) {
  return options.pad_min_dim > 0 && k >= options.pad_min_dim && k % 64 == 0;
}

DistributedSpectrum distributed_svd(const DistributedMatrix& M,
                                    const DistributedSvdOptions& options) {
  const ProcessGrid& grid = M.grid();
  const std::int64_t m = M.rows(), n = M.cols(), k = std::min(m, n), nb = M.block();
  DistributedSpectrum out{Eigen::VectorXd(0), DistributedMatrix(grid, m, k, nb),
                          DistributedMatrix(grid, n, k, nb)};
  if (!grid.active()) return out;

  // LAPACK's behaviour on NaN/Inf is undefined; refuse on every rank if any rank has one.
  bool finite = true;
  for (std::int64_t lj = 0; lj < M.local_cols() && finite; ++lj)
    for (std::int64_t li = 0; li < M.local_rows(); ++li)
      if (!std::isfinite(M.local(li, lj))) {
        finite = false;
        break;
      }
  mpi::agreed(grid.comm(), [&] {
    if (!finite) throw NumericalError("distributed_svd: the matrix contains NaN or Inf");
  });
  if (k == 0) return out;
  // The factors are allocated when they are produced, so that they do not add to pdgesvd's peak.
  out.U = DistributedMatrix(grid, 0, 0, nb);
  out.V = DistributedMatrix(grid, 0, 0, nb);

  out.s.setZero(k);
  if (options.precision == SvdPrecision::Single) check_single_range("distributed_svd", M);
  const bool reduce =
      options.path == SvdPath::ReduceFirst ||
      (options.path == SvdPath::Auto &&
       static_cast<double>(std::max(m, n)) >= options.reduce_aspect * static_cast<double>(k));
  const bool direct = !reduce || m == n;
  if (direct && options.core_on_one_rank) {
    if (options.precision == SvdPrecision::Single)
      bidiagonal_svd<float>(M, out, options);
    else
      bidiagonal_svd<double>(M, out, options);
    return out;
  }
  if (direct) {
    DistributedMatrix VT(grid, 0, 0, nb);
    out.padded = pads_dimension(k, options) && padded_svd(M, out.s, out.U, VT, options);
    if (!out.padded) {
      out.U = DistributedMatrix(grid, m, k, nb);
      VT = DistributedMatrix(grid, k, n, nb);
      if (options.precision == SvdPrecision::Single) {
        single_svd(LocalBlocks<float>::narrowed(M), to_lapack_int(m), to_lapack_int(n), out.s,
                   out.U, VT);  // a float copy of M, no double one
      } else {
        DistributedMatrix a = M;  // pdgesvd destroys its input
        direct_svd(a, out.s, out.U, VT, SvdPrecision::Double);
      }
    }
    out.V = transpose(VT);
    return out;
  }

  if (options.precision == SvdPrecision::Single)
    reduce_first_svd<float>(M, out, options);
  else
    reduce_first_svd<double>(M, out, options);
  return out;
}

void keep_bottom(DistributedSpectrum& spectrum, std::int64_t count) {
  if (count < 1)
    throw std::invalid_argument("keep_bottom: count must be at least 1, got " +
                                std::to_string(count));
  const ProcessGrid& grid = spectrum.U.grid();
  const std::int64_t r = spectrum.U.cols();
  if (!grid.active() || r <= count) return;
  const std::int64_t first = r - count;
  const IndexMap drop_leading = [first](std::int64_t j) { return j >= first ? j - first : -1; };
  const auto bottom_of = [&](const DistributedMatrix& factor) {
    DistributedMatrix kept(grid, factor.rows(), count, factor.block());
    redistribute(grid, RedistributionSource::of(factor), RedistributionTarget::of(kept), {},
                 drop_leading);
    return kept;
  };
  spectrum.U = bottom_of(spectrum.U);
  spectrum.V = bottom_of(spectrum.V);
  spectrum.s = spectrum.s.tail(count).eval();
}

Spectrum gather_spectrum(const DistributedSpectrum& spectrum, int root,
                         std::optional<std::int64_t> max_rank) {
  if (max_rank && *max_rank < 1)
    throw Error("gather_spectrum: max_rank must be at least 1, got " + std::to_string(*max_rank));
  Spectrum out;
  Eigen::MatrixXd U = spectrum.U.gather(root);
  Eigen::MatrixXd V = spectrum.V.gather(root);
  if (!spectrum.U.grid().active() || spectrum.U.grid().rank() != root) return out;
  out.s = spectrum.s;
  out.U = std::move(U);
  out.V = std::move(V);
  truncate(out, max_rank);
  return out;
}

}  // namespace svr
