#pragma once
// The top K singular triplets of a block-cyclic matrix on its process grid, without a full SVD:
// the block Krylov method of the LAPACK path (truncated_svd.hpp, docs/algorithms.md, "Truncated
// SVD") with its blocks distributed as M is. Products with M are pdgemm; the small matrices
// (the Gram matrix, the Ritz vectors' coefficients) are the same on every rank of the grid, and
// the eigensolver runs on grid rank 0 and is broadcast, so every rank takes every decision
// alike (docs/distributed-svd.md, "Truncated SVD on a grid").
#include <optional>

#include "svr/core/results.hpp"
#include "svr/linalg/distributed_matrix.hpp"
#include "svr/linalg/distributed_svd.hpp"
#include "svr/linalg/truncated_svd.hpp"

namespace svr {

struct DistributedTruncatedSvd {
  DistributedSpectrum spectrum;  // K triplets: U rows x K, V cols x K, M's grid and block size
  SvdReport report;              // method "scalapack-krylov", iterations, residual
};

// Collective over M's grid (an inactive grid returns nothing at once). The same contract as
// krylov_svd: the top settings.rank triplets, each with residual <= tolerance * s_max, or
// nothing with the reason in *why (the same on every rank): callers then run distributed_svd.
// The start block is krylov_svd's, so the result does not depend on the grid (up to rounding).
// Throws std::invalid_argument for rank < 1 or >= min(rows, cols), NumericalError (on every rank)
// for a NaN or Inf in M.
std::optional<DistributedTruncatedSvd> distributed_krylov_svd(const DistributedMatrix& M,
                                                              const TruncatedSvdSettings& settings,
                                                              KrylovGiveUp* why = nullptr);

struct DistributedBottomSvd {
  DistributedSpectrum spectrum;  // the bottom K: U rows x K, V cols x K, s decreasing
  double s_max = 0;              // M's largest singular value
  SvdReport report;              // method "scalapack-qr-krylov", iterations, residual / s_max
};

// Collective over M's grid: the bottom settings.rank triplets as krylov_bottom_svd finds them on
// one rank, on the grid: a distributed QR (pdgeqrf; pdgelqf for a wide M), s_max from the
// triangular factor's top triplet, the Krylov method on its inverse (pdtrsm), the left (right)
// vectors by pdormqr (pdormlq). The same give-ups, argument checks and exceptions.
std::optional<DistributedBottomSvd> distributed_krylov_bottom_svd(
    const DistributedMatrix& M, const TruncatedSvdSettings& settings, KrylovGiveUp* why = nullptr);

// max_i max(||M v_i - s_i u_i||, ||M^T u_i - s_i v_i||) / s_max over the columns of the
// spectrum (on M's grid and block size), by two pdgemm; collective over M's grid.
double distributed_svd_residual(const DistributedMatrix& M, const DistributedSpectrum& spectrum,
                                double s_max);

}  // namespace svr
