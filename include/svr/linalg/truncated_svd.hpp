#pragma once
// The top K singular triplets of a layer matrix on one rank, without a full SVD: a block
// Krylov method with thick restarts, run until every wanted triplet meets a residual tolerance
// (docs/algorithms.md, "Truncated SVD"). The cost follows K: a few products of M with blocks of
// about K columns, instead of the O(rows cols min(rows, cols)) of a full SVD.
#include <cstdint>
#include <optional>
#include <string>

#include "svr/core/results.hpp"
#include "svr/linalg/svd.hpp"

namespace svr {

// The engine of the top K in double precision (--truncated-svd): SLEPc when its plug-in is
// there, else svr's block Krylov method (Auto); or one of them (slepc_svd.hpp).
enum class TruncatedEngine { Auto, Builtin, Slepc };

struct TruncatedSvdSettings {
  std::int64_t rank = 0;              // K, the number of top triplets wanted (>= 1)
  double tolerance = 1e-10;           // on the residual of SvdReport, relative to s_max
  std::int64_t max_iterations = 400;  // Krylov expansions before giving up
  // Give up once the method has cost max_cost times the full SVD (an operation count of every
  // step against a measured model of dgesdd, docs/algorithms.md), or as soon as the residual's
  // rate so far projects a total well above that: on crowded spectra the full SVD is cheaper,
  // and the fallback then wastes at most this fraction. Infinity: never.
  double max_cost = 1.0;
  // --precision: of the full SVD the method competes with and falls back to, and of krylov_svd
  // and krylov_bottom_svd themselves (in single: float blocks and sgemm, the bottom K's QR and
  // triangular solves in float too, the tolerance at least kSingleKrylovTolerance). On a grid
  // the top K runs its products with M in float (psgemm) to the same tolerance; the bottom K
  // there runs in double, a single-precision full SVD being about twice as fast halving its
  // budget.
  SvdPrecision precision = SvdPrecision::Double;
  TruncatedEngine engine = TruncatedEngine::Auto;  // used by truncated_or_full_svd
};

// The smallest residual krylov_svd asks for in single precision: float vectors of n entries
// carry rounding of about sqrt(n) 6e-8 relative to s_max (4e-6 at n = 4096), and a single
// full SVD's values are accurate to about 1e-6 s_max (docs/algorithms.md, "Single precision").
constexpr double kSingleKrylovTolerance = 1e-5;

// Why krylov_svd gave up: `cost` when the full SVD is cheaper (the budget spent, projected to
// be exceeded, or too large a K to start), otherwise a failure (the iteration limit, a rank
// below K, a zero matrix, the eigensolver).
struct KrylovGiveUp {
  std::string reason;
  bool cost = false;
};

struct TruncatedSvdResult {
  Spectrum spectrum;  // K triplets (U rows x K, V cols x K), s decreasing
  SvdReport report;
};

// The top settings.rank triplets of M, each with residual <= tolerance * s_max. The start block
// is a fixed pseudo-random one, so the result depends on M and the settings only (the same on
// every rank and at every process count). Returns nothing, with the reason in *why, when the
// method cannot deliver: the tolerance not reached within max_iterations or max_cost, or M of
// numerical rank below K (zero singular values have no unique vectors to converge
// to). Callers then run the full SVD (truncated_or_full_svd does).
// Throws std::invalid_argument for rank < 1 or rank >= min(rows, cols) (use the full SVD),
// NumericalError for non-finite entries.
std::optional<TruncatedSvdResult> krylov_svd(const Eigen::MatrixXd& M,
                                             const TruncatedSvdSettings& settings,
                                             KrylovGiveUp* why = nullptr);

struct BottomSvdResult {
  Spectrum spectrum;  // the bottom K triplets (U rows x K, V cols x K), s decreasing
  double s_max = 0;   // M's largest singular value (the scale of every relative measure)
  SvdReport report;   // the residual relative to s_max
};

// The bottom settings.rank triplets of M (the smallest singular values, the near-kernel), each
// with residual <= tolerance * s_max, without a full SVD: a Householder QR of M's tall
// orientation, s_max from the top triplet of R, then the same Krylov method on R^{-1} (two
// triangular solves per product; docs/algorithms.md, "Bottom K"). The absolute accuracy of the
// values is that of the full SVD (the QR is backward stable: about eps s_max); their relative
// accuracy falls as s / s_max does, as the full SVD's. Returns nothing, with the reason in *why,
// when it cannot deliver (its budget, R numerically singular: zero singular values have no
// unique vectors). The same argument checks as krylov_svd. In single precision (sgeqrf, strsm,
// sormqr) the values' absolute accuracy is that of sgesdd, about 1e-7 s_max, and a K-th value
// at or below n eps(float) s_max counts as singular.
std::optional<BottomSvdResult> krylov_bottom_svd(const Eigen::MatrixXd& M,
                                                 const TruncatedSvdSettings& settings,
                                                 KrylovGiveUp* why = nullptr);

// The layer SVD of the LAPACK path: krylov_svd with `limits` (its rank is max_rank) when
// max_rank = K < min(rows, cols), falling back to the full SVD (with the reason in the report)
// when it cannot deliver; otherwise thin_svd truncated to max_rank.
TruncatedSvdResult truncated_or_full_svd(const Eigen::MatrixXd& M,
                                         std::optional<std::int64_t> max_rank,
                                         TruncatedSvdSettings limits = {});

// The layer SVD of the LAPACK path with --min-rank K: krylov_bottom_svd with `limits` when
// K < min(rows, cols), falling back to the full SVD (then its bottom K, with the reason in the
// report) when it cannot deliver; otherwise every triplet of the full SVD.
BottomSvdResult bottom_or_full_svd(const Eigen::MatrixXd& M, std::int64_t min_rank,
                                   TruncatedSvdSettings limits = {});

// max_i max(||M v_i - s_i u_i||, ||M^T u_i - s_i v_i||) / s_max over the columns of the
// spectrum (0 for an empty one or s_max = 0), through two BLAS products.
double svd_residual(const Eigen::MatrixXd& M, const Spectrum& spectrum);
// The same relative to a given s_max (the bottom K's spectrum does not hold it).
double svd_residual(const Eigen::MatrixXd& M, const Spectrum& spectrum, double s_max);

}  // namespace svr
