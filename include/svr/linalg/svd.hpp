#pragma once
// Thin SVD of one layer matrix on one rank (LAPACK, double precision). The distributed SVD of
// the next issue replaces this step behind the same Spectrum result.
#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <vector>

namespace svr {

// The floating-point type the SVD itself runs in (--precision). Single factors a float copy of
// the matrix (sgesdd, psgesvd): about twice as fast and half the memory, singular values and
// vectors accurate to about 1e-6 relative to s_max instead of 1e-15 (docs/algorithms.md,
// "Single precision"). The factors are widened to double: E and p are computed in double.
enum class SvdPrecision { Double, Single };

const char* to_string(SvdPrecision precision);  // "double" or "single"

// Singular values closer than this times s_max form a cluster (nodes.csv): the spec's 1e-8 in
// double; in single, 1e-5, above the float SVD's error in s (measured up to 1.5e-6 s_max on
// VGG16, docs/algorithms.md), so that a value repeated in exact arithmetic stays one cluster.
double cluster_tolerance(SvdPrecision precision);

struct Spectrum {
  Eigen::VectorXd s;  // r singular values, decreasing
  Eigen::MatrixXd U;  // rows x r, left singular vectors (output space)
  Eigen::MatrixXd V;  // cols x r, right singular vectors (input space); V, not V^T
  std::vector<int> group;  // block_diagonal_svd: the diagonal block of each triplet; else empty
};

// M = U diag(s) V^T with r = min(rows, cols), computed by dgesdd (job 'S'), falling back to
// dgesvd when dgesdd does not converge (info > 0). With max_rank = K and min(rows, cols) > K,
// only the top K triplets are kept (the full SVD is computed, then truncated).
// Throws NumericalError on non-finite input or when both routines fail.
// Keeps the top max_rank triplets when there are more (no-op without max_rank).
void truncate(Spectrum& spectrum, std::optional<std::int64_t> max_rank);
// Keeps the last `count` triplets, the smallest values (--min-rank), when there are more.
// Throws std::invalid_argument for count < 1.
void keep_bottom(Spectrum& spectrum, std::int64_t count);

// In single precision a matrix with an entry beyond float's range is a NumericalError.
Spectrum thin_svd(const Eigen::MatrixXd& M, std::optional<std::int64_t> max_rank = {},
                  SvdPrecision precision = SvdPrecision::Double);

// The SVD of a block-diagonal M (a grouped convolution, spec section 7): `blocks` diagonal
// blocks of (rows / blocks) x (cols / blocks), each factored by thin_svd, every singular vector
// zero outside its block; the triplets of all blocks sorted by s (decreasing; ties: the lower
// block first, then the block's own order), group[k] the block of triplet k, then truncated
// to max_rank. Entries outside the blocks are ignored. Throws std::invalid_argument when
// `blocks` does not divide both dimensions; otherwise as thin_svd.
Spectrum block_diagonal_svd(const Eigen::MatrixXd& M, std::int64_t blocks,
                            std::optional<std::int64_t> max_rank = {},
                            SvdPrecision precision = SvdPrecision::Double);

}  // namespace svr
