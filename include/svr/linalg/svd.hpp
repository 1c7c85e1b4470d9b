#pragma once
// Thin SVD of one layer matrix on one rank (LAPACK, double precision). The distributed SVD of
// the next issue replaces this step behind the same Spectrum result.
#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <vector>

namespace svr {

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

Spectrum thin_svd(const Eigen::MatrixXd& M, std::optional<std::int64_t> max_rank = {});

// Flips each column so that its largest-magnitude entry is positive (ties: the first index);
// an all-zero column is left alone. For --save-spectra: a reproducible sign per singular vector.
void canonical_sign(Eigen::MatrixXd& vectors);

// The SVD of a block-diagonal M (a grouped convolution, spec section 7): `blocks` diagonal
// blocks of (rows / blocks) x (cols / blocks), each factored by thin_svd, every singular vector
// zero outside its block; the triplets of all blocks sorted by s (decreasing; ties: the lower
// block first, then the block's own order), group[k] the block of triplet k, then truncated
// to max_rank. Entries outside the blocks are ignored. Throws std::invalid_argument when
// `blocks` does not divide both dimensions; otherwise as thin_svd.
Spectrum block_diagonal_svd(const Eigen::MatrixXd& M, std::int64_t blocks,
                            std::optional<std::int64_t> max_rank = {});

}  // namespace svr
