#pragma once
// Thin SVD of one distributed matrix on its process grid (ScaLAPACK pdgesvd), the distributed
// counterpart of thin_svd: M = U diag(s) V^T, r = min(rows, cols).
#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <optional>

#include "svr/linalg/distributed_matrix.hpp"
#include "svr/linalg/svd.hpp"

namespace svr {

struct DistributedSpectrum {
  Eigen::VectorXd s;    // r singular values, decreasing, on every active rank
  DistributedMatrix U;  // rows x r, same grid and block size as M
  DistributedMatrix V;  // cols x r; V, not V^T
  bool padded = false;  // pdgesvd ran on the padded matrix (DistributedSvdOptions::pad_min_dim)
  bool core_on_one_rank = false;  // the r x r core went to LAPACK on grid rank 0 (see options)
  // That core was the bidiagonal form of M (a matrix no QR or LQ first makes smaller), not the
  // triangle of its QR or LQ.
  bool bidiagonal_core = false;
  // The reduce-first path: how many leading triplets got their long side's vectors from one
  // product with M (DistributedSvdOptions::long_side_by_product); 0 on the direct path.
  std::int64_t long_side_by_product = 0;
};

enum class SvdPath {
  Direct,       // pdgesvd on M
  ReduceFirst,  // QR (tall) or LQ (wide) first, pdgesvd of the r x r triangular factor, apply Q
  Auto,         // ReduceFirst when max(rows, cols) >= reduce_aspect * min(rows, cols)
};

struct DistributedSvdOptions {
  // Auto: QR/LQ first was 1.9-3.8x faster than pdgesvd at 1000x4000 (docs/distributed-svd.md).
  SvdPath path = SvdPath::Auto;
  double reduce_aspect = 2.0;
  // pdgesvd runs its bidiagonal QR with leading dimension min(m, n) in its own workspace; when
  // that is a multiple of 64 the rotations of V^T's rows stride through the same cache sets and
  // pdgesvd is 2-6x slower (1024 x 1024: 10.7 s against 1.7 s at 1000 and 2.0 s at 1040). Such a
  // matrix A (min dimension >= pad_min_dim) is factored as [A 0; 0 c I_8], c = 2 x a power
  // estimate of ||A||_2, whose 8 largest triplets are the padding's and are dropped. The padding
  // is verified (it must be the 8 largest singular values, its vectors in the padded rows and
  // columns); if not, the matrix is factored unpadded. 0 turns padding off.
  std::int64_t pad_min_dim = 256;
  double pad_scale = 2.0;  // c = pad_scale x the estimate; below 1 only to test the fallback
  // Single: the QR/LQ, pdgesvd and the application of Q run in float (psgeqrf, psgesvd,
  // psormqr) on float copies of the local blocks; the factors come back widened to double.
  SvdPrecision precision = SvdPrecision::Double;
  // The reduce-first path factors the r x r triangular core with LAPACK (dgesdd, or sgesdd in
  // single precision) on grid rank 0 instead of pdgesvd on the grid: the QR/LQ and Q's
  // application, which hold most of the flops of a long layer, stay distributed, and the core
  // gets divide and conquer, which pdgesvd lacks (5-6x faster per flop on one rank,
  // docs/distributed-svd.md). The direct path (a square or nearly square M) instead reduces M to
  // bidiagonal form on the grid (pdgebrd), factors the bidiagonal matrix by divide and conquer
  // on grid rank 0 (dbdsdc) and applies the reflectors on the grid (pdormbr). For a core that
  // fits one rank's memory (about 8 r^2 doubles on rank 0).
  bool core_on_one_rank = false;
  // The reduce-first path's long side (U of a tall M, V of a wide one): the triplets with
  // s_i >= s_max / 100 (s_max / 10 in single precision) get it from one product with M (tall:
  // M v_i / s_i, wide: M^T u_i / s_i), a gemm at full speed and half the flops of applying Q;
  // its rounding errs by about eps s_max / s_i, which those bounds keep within 100 eps (10 eps
  // in float). The other triplets, and all with false, get it by applying Q to the core's
  // vectors (pdormqr / pdormlq), whose accuracy does not depend on s_i.
  bool long_side_by_product = true;
  // With core_on_one_rank: called once on every grid rank but 0 while rank 0 factors the core,
  // so that they can do other work meanwhile (svr's pipeline factors their own LAPACK layers).
  // It must not throw and must not communicate on the grid.
  std::function<void()> while_core_runs;
};

// Whether distributed_svd pads a matrix whose pdgesvd has min dimension k (see above).
bool pads_dimension(std::int64_t k, const DistributedSvdOptions& options);

// Collective over M's grid; on an inactive grid it returns empty factors at once. In single
// precision an entry beyond float's range is a NumericalError, as NaN and Inf are. M is not
// modified (pdgesvd works on a copy). Throws, on every rank of the grid alike, NumericalError
// when M has a NaN or Inf anywhere and LapackError (routine, info) when a ScaLAPACK routine
// fails (info > 0: bdsqr did not converge, or min(m,n)+1: singular values differ across the
// grid).
DistributedSpectrum distributed_svd(const DistributedMatrix& M,
                                    const DistributedSvdOptions& options = {});

// Collective over the spectrum's grid (no-op on an inactive one): keeps the last `count` triplets,
// the smallest values (--min-rank), when there are more. The kept columns of U and V move into
// matrices of `count` columns on the same grid and block size (redistribute.hpp), so that the
// rest of svr uses them as it uses leading columns. Throws std::invalid_argument for count < 1.
void keep_bottom(DistributedSpectrum& spectrum, std::int64_t count);

// Collective over the grid: the Spectrum on grid rank `root` (U and V gathered, optionally
// truncated to the top max_rank triplets as in thin_svd); an empty Spectrum elsewhere.
Spectrum gather_spectrum(const DistributedSpectrum& spectrum, int root = 0,
                         std::optional<std::int64_t> max_rank = {});

}  // namespace svr
