#include "svr/distributed_svd.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "svr/error.hpp"
#include "svr/scalapack.hpp"

namespace svr {
namespace {

using scalapack::Descriptor;

DistributedMatrix transposed(const DistributedMatrix& a) {
  DistributedMatrix t(a.grid(), a.cols(), a.rows(), a.block());
  if (a.rows() > 0 && a.cols() > 0)
    scalapack::pdtran(to_lapack_int(a.cols()), to_lapack_int(a.rows()), 1.0, a.data(),
                      a.descriptor(), 0.0, t.data(), t.descriptor());
  return t;
}

// pdgesvd of a (destroyed): s, U (m x k) and VT (k x n).
void direct_svd(DistributedMatrix& a, Eigen::VectorXd& s, DistributedMatrix& U,
                DistributedMatrix& VT) {
  const MPI_Comm comm = a.grid().comm();
  scalapack::pdgesvd(comm, 'V', 'V', to_lapack_int(a.rows()), to_lapack_int(a.cols()), a.data(),
                     a.descriptor(), s.data(), U.data(), U.descriptor(), VT.data(),
                     VT.descriptor());
}

// The local tau array of pdgeqrf (LOCc(k)) or pdgelqf (LOCr(k)).
std::vector<double> tau_for(const DistributedMatrix& a, std::int64_t k, bool columns) {
  const ProcessGrid& grid = a.grid();
  const std::int64_t count =
      columns ? block_cyclic::local_count(k, a.block(), grid.my_col(), grid.shape().cols)
              : block_cyclic::local_count(k, a.block(), grid.my_row(), grid.shape().rows);
  return std::vector<double>(static_cast<std::size_t>(std::max<std::int64_t>(1, count)), 0.0);
}

}  // namespace

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
  grid.agree_on_errors(finite ? "" : "distributed_svd: the matrix contains NaN or Inf");
  if (k == 0) return out;

  out.s.setZero(k);
  const bool tall = m >= n;
  const bool reduce =
      options.path == SvdPath::ReduceFirst ||
      (options.path == SvdPath::Auto &&
       static_cast<double>(std::max(m, n)) >= options.reduce_aspect * static_cast<double>(k));
  const MPI_Comm comm = grid.comm();
  const lapack_int lm = to_lapack_int(m), ln = to_lapack_int(n), lk = to_lapack_int(k);

  if (!reduce || m == n) {
    DistributedMatrix a = M;  // pdgesvd destroys its input
    DistributedMatrix VT(grid, k, n, nb);
    direct_svd(a, out.s, out.U, VT);
    out.V = transposed(VT);
    return out;
  }

  DistributedMatrix a = M;
  DistributedMatrix T(grid, k, k, nb);  // the triangular factor R (tall) or L (wide)
  std::vector<double> tau = tau_for(a, k, tall);
  if (tall) {
    scalapack::pdgeqrf(comm, lm, ln, a.data(), a.descriptor(), tau.data());
    scalapack::pdlacpy('U', lk, lk, a.data(), a.descriptor(), T.data(), T.descriptor());
  } else {
    scalapack::pdgelqf(comm, lm, ln, a.data(), a.descriptor(), tau.data());
    scalapack::pdlacpy('L', lk, lk, a.data(), a.descriptor(), T.data(), T.descriptor());
  }
  DistributedMatrix Ut(grid, k, k, nb), VTt(grid, k, k, nb);
  direct_svd(T, out.s, Ut, VTt);
  if (tall) {
    // A = Q [R; 0] = (Q [Ut; 0]) diag(s) VTt.
    scalapack::pdlacpy('A', lk, lk, Ut.data(), Ut.descriptor(), out.U.data(),
                       out.U.descriptor());
    scalapack::pdormqr(comm, 'L', 'N', lm, lk, lk, a.data(), a.descriptor(), tau.data(),
                       out.U.data(), out.U.descriptor());
    out.V = transposed(VTt);
  } else {
    // A = [L 0] Q = Ut diag(s) ([VTt 0] Q).
    out.U = std::move(Ut);
    DistributedMatrix VT(grid, k, n, nb);
    scalapack::pdlacpy('A', lk, lk, VTt.data(), VTt.descriptor(), VT.data(), VT.descriptor());
    scalapack::pdormlq(comm, 'R', 'N', lk, ln, lk, a.data(), a.descriptor(), tau.data(),
                       VT.data(), VT.descriptor());
    out.V = transposed(VT);
  }
  return out;
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
