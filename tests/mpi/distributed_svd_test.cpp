// distributed_svd against LAPACK's thin_svd on the same matrix, on every grid shape the process
// count allows, for tall, wide and square matrices, block sizes 2, 3, 64, sub-grids, disjoint
// concurrent grids, and the QR/LQ-first path.
#include "svr/linalg/distributed_svd.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "mpi_test_support.hpp"
#include "svr/core/error.hpp"
#include "svr/linalg/lapack.hpp"
#include "svr/linalg/svd.hpp"
#include "svr_test/spectra.hpp"

using svr_test::random_entry;
using svr_test::random_matrix;
using svr_test::world_rank;
using svr_test::world_size;

namespace {

constexpr double kTol = 1e-10;

struct Case {
  std::int64_t rows, cols, nb;
};

// Checks a gathered spectrum of random_matrix(rows, cols, seed) on the grid root.
// tol bounds the errors relative to s_max (and of U^T U, V^T V); kTol unless single precision.
void check_spectrum(const svr::Spectrum& got, std::int64_t rows, std::int64_t cols,
                    std::uint64_t seed, const std::string& what, double tol = kTol) {
  const Eigen::MatrixXd M = random_matrix(rows, cols, seed);
  const svr::Spectrum ref = svr::thin_svd(M);
  const Eigen::Index r = std::min(rows, cols);
  ASSERT_EQ(got.s.size(), r) << what;
  ASSERT_EQ(got.U.rows(), rows) << what;
  ASSERT_EQ(got.U.cols(), r) << what;
  ASSERT_EQ(got.V.rows(), cols) << what;
  ASSERT_EQ(got.V.cols(), r) << what;
  const double smax = ref.s(0);
  EXPECT_LE((got.s - ref.s).cwiseAbs().maxCoeff(), tol * smax) << what;
  for (Eigen::Index i = 1; i < r; ++i) EXPECT_GE(got.s(i - 1), got.s(i)) << what;
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(r, r);
  EXPECT_LE((got.U.transpose() * got.U - I).cwiseAbs().maxCoeff(), tol) << what << " U";
  EXPECT_LE((got.V.transpose() * got.V - I).cwiseAbs().maxCoeff(), tol) << what << " V";
  const Eigen::MatrixXd back = got.U * got.s.asDiagonal() * got.V.transpose();
  EXPECT_LE((back - M).cwiseAbs().maxCoeff(), tol * smax) << what << " reconstruction";
}

// Checks a gathered spectrum of A on the grid root through its triplets rather than a
// reconstruction (for graded spectra): the values against thin_svd's, orthonormal U and V, and
// both residuals of every triplet, relative to s_max. Returns thin_svd's spectrum.
svr::Spectrum check_triplets(const svr::Spectrum& got, const Eigen::MatrixXd& A,
                             const std::string& what, double tol) {
  const svr::Spectrum ref = svr::thin_svd(A);
  const Eigen::Index r = ref.s.size();
  const double s_max = ref.s[0];
  EXPECT_LE((got.s - ref.s).cwiseAbs().maxCoeff(), tol * s_max) << what;
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(r, r);
  EXPECT_LE((got.U.transpose() * got.U - I).cwiseAbs().maxCoeff(), tol) << what << " U";
  EXPECT_LE((got.V.transpose() * got.V - I).cwiseAbs().maxCoeff(), tol) << what << " V";
  const Eigen::MatrixXd left = A * got.V - got.U * got.s.asDiagonal();
  const Eigen::MatrixXd right = A.transpose() * got.U - got.V * got.s.asDiagonal();
  EXPECT_LE(left.colwise().norm().maxCoeff(), tol * s_max) << what << " A v - s u";
  EXPECT_LE(right.colwise().norm().maxCoeff(), tol * s_max) << what << " A^T u - s v";
  return ref;
}

// The largest and smallest singular value have the same bits on every rank of the grid.
void expect_same_ends_on_every_rank(const Eigen::VectorXd& s, MPI_Comm comm,
                                    const std::string& what) {
  double ends[2] = {s(0), -s(s.size() - 1)}, most[2] = {0, 0}, least[2] = {0, 0};
  MPI_Allreduce(ends, most, 2, MPI_DOUBLE, MPI_MAX, comm);
  MPI_Allreduce(ends, least, 2, MPI_DOUBLE, MPI_MIN, comm);
  EXPECT_EQ(most[0], least[0]) << what;
  EXPECT_EQ(most[1], least[1]) << what;
}

svr::Spectrum run(const svr::ProcessGrid& grid, const Case& c, std::uint64_t seed,
                  svr::DistributedSvdOptions options) {
  svr::DistributedMatrix M(grid, c.rows, c.cols, c.nb);
  M.fill([seed](std::int64_t i, std::int64_t j) { return random_entry(i, j, seed); });
  const svr::DistributedSpectrum d = svr::distributed_svd(M, options);
  if (grid.active()) {
    // Padding follows the shape of what pdgesvd factors: r x r after QR/LQ, else M itself.
    EXPECT_EQ(d.padded, svr::pads_dimension(std::min(c.rows, c.cols), options))
        << c.rows << "x" << c.cols;
    // Singular values are replicated on every rank of the grid.
    EXPECT_EQ(d.s.size(), std::min(c.rows, c.cols));
    double smax = d.s.size() ? d.s(0) : 0.0, smax_all = 0.0, smin_all = 0.0;
    MPI_Allreduce(&smax, &smax_all, 1, MPI_DOUBLE, MPI_MAX, grid.comm());
    MPI_Allreduce(&smax, &smin_all, 1, MPI_DOUBLE, MPI_MIN, grid.comm());
    EXPECT_EQ(smax_all, smin_all);
    EXPECT_EQ(d.U.rows(), c.rows);
    EXPECT_EQ(d.V.rows(), c.cols);
  }
  return svr::gather_spectrum(d, 0);
}

svr::Spectrum run(const svr::ProcessGrid& grid, const Case& c, std::uint64_t seed,
                  svr::SvdPath path = svr::SvdPath::Direct) {
  svr::DistributedSvdOptions options;
  options.path = path;
  return run(grid, c, seed, options);
}

std::string describe(svr::GridShape shape, const Case& c) {
  return svr_test::shape_name(shape) + " grid, " + std::to_string(c.rows) + "x" +
         std::to_string(c.cols) + " nb=" + std::to_string(c.nb);
}

}  // namespace

TEST(DistributedSvd, MatchesLapackOnEveryGridShapeAndBlockSize) {
  // Tall, wide, square; no dimension a multiple of 64, most not of 2 or 3 either.
  const Case cases[] = {{131, 70, 2},  {70, 131, 3}, {97, 97, 64}, {150, 41, 3},
                        {41, 150, 64}, {100, 77, 2}, {7, 5, 3},    {1, 9, 2}};
  std::uint64_t seed = 10;
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    svr::ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const Case& c : cases) {
      const svr::Spectrum got = run(grid, c, ++seed);
      if (grid.rank() == 0) check_spectrum(got, c.rows, c.cols, seed, describe(shape, c));
    }
  }
}

TEST(DistributedSvd, LargerMatrixWithDefaultBlock) {
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  const Case c{300, 200, 64};
  const svr::Spectrum got = run(grid, c, 99);
  if (grid.rank() == 0) check_spectrum(got, c.rows, c.cols, 99, describe(grid.shape(), c));
}

TEST(DistributedSvd, SubGridSmallerThanTheWorld) {
  // Ranks 1..P-1 form the grid (rank 0 idles) when P > 1.
  const int p = world_size();
  const int first = p > 1 ? 1 : 0;
  svr::ProcessGrid grid(MPI_COMM_WORLD, svr::near_square_shape(p > 1 ? p - 1 : 1), first);
  const Case c{90, 61, 3};
  const svr::Spectrum got = run(grid, c, 5);
  if (!grid.active()) {
    EXPECT_EQ(got.s.size(), 0);
    EXPECT_EQ(got.U.size(), 0);
  }
  if (grid.active() && grid.rank() == 0) check_spectrum(got, c.rows, c.cols, 5, "sub-grid");
}

TEST(DistributedSvd, DisjointGridsAtOnce) {
  // Two groups (even and odd world ranks, or one group at P = 1), each its own SVD.
  const int p = world_size();
  const int color = p > 1 ? world_rank() % 2 : 0;
  const int members = p > 1 ? (p + 1 - color) / 2 : 1;
  svr::ProcessGrid grid(MPI_COMM_WORLD, color, svr::GridShape{members, 1});
  ASSERT_TRUE(grid.active());
  const Case c = color == 0 ? Case{80, 50, 3} : Case{45, 70, 2};
  const std::uint64_t seed = 40 + static_cast<std::uint64_t>(color);
  const svr::Spectrum got = run(grid, c, seed);
  if (grid.rank() == 0)
    check_spectrum(got, c.rows, c.cols, seed, "colour " + std::to_string(color));
}

TEST(DistributedSvd, MoreRanksThanBlocks) {
  // One 64-block: only process (0, 0) owns data, the others hold nothing.
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  const Case c{20, 13, 64};
  const svr::Spectrum got = run(grid, c, 8);
  if (grid.rank() == 0) check_spectrum(got, c.rows, c.cols, 8, "single block");
}

TEST(DistributedSvd, ReduceFirstPathMatchesLapack) {
  const Case cases[] = {{250, 60, 3}, {60, 250, 2}, {200, 90, 64}, {90, 200, 64}, {55, 55, 3}};
  std::uint64_t seed = 60;
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    svr::ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const Case& c : cases) {
      const svr::Spectrum got = run(grid, c, ++seed, svr::SvdPath::ReduceFirst);
      if (grid.rank() == 0)
        check_spectrum(got, c.rows, c.cols, seed, "reduce-first " + describe(shape, c));
    }
  }
}

// The padded path (min dimension a multiple of 64; pad_min_dim lowered so the cases stay small):
// direct and QR/LQ first, on every grid shape.
TEST(DistributedSvd, PaddedPathMatchesLapack) {
  const Case cases[] = {{128, 128, 5}, {64, 100, 3}, {300, 128, 64}, {128, 400, 3}, {192, 64, 2}};
  svr::DistributedSvdOptions options;
  options.pad_min_dim = 64;
  ASSERT_TRUE(svr::pads_dimension(128, options));
  ASSERT_FALSE(svr::pads_dimension(100, options));
  ASSERT_FALSE(svr::pads_dimension(128, svr::DistributedSvdOptions{}));
  ASSERT_TRUE(svr::pads_dimension(1024, svr::DistributedSvdOptions{}));
  std::uint64_t seed = 200;
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    svr::ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const Case& c : cases) {
      const svr::Spectrum got = run(grid, c, ++seed, options);
      if (grid.rank() == 0)
        check_spectrum(got, c.rows, c.cols, seed, "padded " + describe(shape, c));
    }
  }
}

// A rank-deficient matrix (zero singular values of its own) and a padding that is not the
// largest (pad_scale 0.2: the verification fails and the matrix is factored unpadded) give the
// same answer as LAPACK.
TEST(DistributedSvd, PaddingWithZeroSingularValuesAndTheFallback) {
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  const Case c{128, 192, 3};
  for (double scale : {2.0, 0.2}) {
    svr::DistributedSvdOptions options;
    options.pad_min_dim = 64;
    options.pad_scale = scale;
    // Rows 0..19 zero: 20 zero singular values.
    const auto entry = [](std::int64_t i, std::int64_t j) {
      return i < 20 ? 0.0 : random_entry(i, j, 77);
    };
    svr::DistributedMatrix M(grid, c.rows, c.cols, c.nb);
    M.fill(entry);
    const svr::DistributedSpectrum d = svr::distributed_svd(M, options);
    EXPECT_EQ(d.padded, scale > 1.0) << "pad_scale " << scale;
    const svr::Spectrum got = svr::gather_spectrum(d, 0);
    if (grid.rank() != 0) continue;
    Eigen::MatrixXd A(c.rows, c.cols);
    for (std::int64_t j = 0; j < c.cols; ++j)
      for (std::int64_t i = 0; i < c.rows; ++i) A(i, j) = entry(i, j);
    const svr::Spectrum ref = svr::thin_svd(A);
    const std::string what = "pad_scale " + std::to_string(scale);
    ASSERT_EQ(got.s.size(), ref.s.size()) << what;
    EXPECT_LE((got.s - ref.s).cwiseAbs().maxCoeff(), kTol * ref.s(0)) << what;
    EXPECT_LE(got.s.tail(20).cwiseAbs().maxCoeff(), kTol * ref.s(0)) << what;
    const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(c.rows, c.rows);
    EXPECT_LE((got.U.transpose() * got.U - I).cwiseAbs().maxCoeff(), kTol) << what;
    EXPECT_LE((got.V.transpose() * got.V - I).cwiseAbs().maxCoeff(), kTol) << what;
    const Eigen::MatrixXd back = got.U * got.s.asDiagonal() * got.V.transpose();
    EXPECT_LE((back - A).cwiseAbs().maxCoeff(), kTol * ref.s(0)) << what;
  }
}

// --precision single: every path (direct, QR and LQ first, padded) in float, within the float
// bound of double; and really in float (errors far above double's).
TEST(DistributedSvd, SinglePrecisionOnEveryPath) {
  struct PathCase {
    Case c;
    svr::SvdPath path;
    std::int64_t pad_min_dim;
  };
  const PathCase cases[] = {{{131, 70, 3}, svr::SvdPath::Direct, 0},
                            {{250, 60, 3}, svr::SvdPath::ReduceFirst, 0},
                            {{60, 250, 2}, svr::SvdPath::ReduceFirst, 0},
                            {{128, 128, 5}, svr::SvdPath::Direct, 64},
                            {{300, 128, 64}, svr::SvdPath::ReduceFirst, 64}};
  constexpr double kSingleTol = 2e-5;
  std::uint64_t seed = 300;
  // One grid: the float path is the double path's code on float copies (every shape is tested
  // above), and each SVD is dozens of collectives, slow on an oversubscribed, loaded machine.
  {
    svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
    const svr::GridShape shape = grid.shape();
    for (const PathCase& pc : cases) {
      svr::DistributedSvdOptions options;
      options.path = pc.path;
      options.pad_min_dim = pc.pad_min_dim;
      options.precision = svr::SvdPrecision::Single;
      const svr::Spectrum got = run(grid, pc.c, ++seed, options);
      if (grid.rank() != 0) continue;
      const std::string what = "single " + describe(shape, pc.c);
      check_spectrum(got, pc.c.rows, pc.c.cols, seed, what, kSingleTol);
      const svr::Spectrum ref = svr::thin_svd(random_matrix(pc.c.rows, pc.c.cols, seed));
      EXPECT_GE((got.s - ref.s).cwiseAbs().maxCoeff(), 1e-9 * ref.s(0)) << what << ": not float";
    }
  }
}

// The path of a split layer: QR or LQ on the grid, the r x r core by LAPACK on grid rank 0 while
// every other rank runs while_core_runs once; the answers of thin_svd, s the same bits on every
// rank. The direct path (a square matrix) ignores the option.
TEST(DistributedSvd, CoreOnOneRankMatchesLapack) {
  struct CoreCase {
    Case c;
    svr::SvdPrecision precision;
  };
  const CoreCase cases[] = {
      {{250, 60, 3}, svr::SvdPrecision::Double},   {{60, 250, 2}, svr::SvdPrecision::Double},
      {{300, 128, 64}, svr::SvdPrecision::Double}, {{41, 150, 8}, svr::SvdPrecision::Double},
      {{55, 55, 3}, svr::SvdPrecision::Double},    {{40, 170, 4}, svr::SvdPrecision::Single}};
  std::uint64_t seed = 400;
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    svr::ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const CoreCase& cc : cases) {
      const Case& c = cc.c;
      const std::uint64_t case_seed = ++seed;
      int calls = 0;
      svr::DistributedSvdOptions options;
      options.core_on_one_rank = true;
      options.precision = cc.precision;
      options.while_core_runs = [&calls] { ++calls; };
      svr::DistributedMatrix M(grid, c.rows, c.cols, c.nb);
      M.fill([case_seed](std::int64_t i, std::int64_t j) { return random_entry(i, j, case_seed); });
      const svr::DistributedSpectrum d = svr::distributed_svd(M, options);
      const svr::Spectrum got = svr::gather_spectrum(d, 0);
      if (!grid.active()) {
        EXPECT_EQ(calls, 0);
        continue;
      }
      const bool square = c.rows == c.cols;
      const std::string what = "core on one rank " + describe(shape, c);
      EXPECT_TRUE(d.core_on_one_rank) << what;
      EXPECT_EQ(d.bidiagonal_core, square) << what;  // no QR or LQ makes a square one smaller
      EXPECT_FALSE(d.padded) << what;
      EXPECT_EQ(calls, grid.rank() == 0 ? 0 : 1) << what;
      expect_same_ends_on_every_rank(d.s, grid.comm(), what);
      if (grid.rank() != 0) continue;
      const bool single = cc.precision == svr::SvdPrecision::Single;
      check_spectrum(got, c.rows, c.cols, case_seed, what, single ? 2e-5 : kTol);
      if (single) {
        const svr::Spectrum ref = svr::thin_svd(random_matrix(c.rows, c.cols, case_seed));
        EXPECT_GE((got.s - ref.s).cwiseAbs().maxCoeff(), 1e-9 * ref.s(0)) << what << ": not float";
      }
    }
  }
}

// The reduce-first path's long side: the leading triplets (s_i >= s_max / 100, s_max / 10 in
// single precision) from one product with M, the others by applying Q. A graded spectrum (1 down
// to 1e-6, 1e-3 in single) puts triplets on both sides, tall and wide, with the core on one rank
// and on the grid, on every grid shape. Against thin_svd's values, with orthonormal vectors and
// every triplet's residual on both sides small relative to s_max; the head as the rule says,
// neither empty nor everything; and with the option off, every triplet through Q.
TEST(DistributedSvd, LongSideByProductAndThroughQ) {
  struct GradedCase {
    Case c;
    svr::SvdPrecision precision;
    bool core_on_one_rank;
    bool by_product;
  };
  const GradedCase cases[] = {{{180, 60, 5}, svr::SvdPrecision::Double, true, true},
                              {{60, 180, 4}, svr::SvdPrecision::Double, false, true},
                              {{60, 180, 4}, svr::SvdPrecision::Double, true, false},
                              {{70, 200, 3}, svr::SvdPrecision::Single, true, true},
                              {{200, 70, 7}, svr::SvdPrecision::Single, false, true}};
  std::uint64_t seed = 500;
  // 1 x P and P x 1 grids take the local products (the long dimension alone split), others
  // PBLAS's.
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    svr::ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const GradedCase& g : cases) {
      const Case& c = g.c;
      const bool single = g.precision == svr::SvdPrecision::Single;
      const Eigen::Index r = std::min(c.rows, c.cols);
      const Eigen::VectorXd graded =
          svr::test::geometric(r, std::pow(single ? 1e-3 : 1e-6, 1.0 / static_cast<double>(r - 1)));
      const Eigen::MatrixXd A = svr::test::with_spectrum(c.rows, c.cols, graded, ++seed);
      svr::DistributedMatrix M(grid, c.rows, c.cols, c.nb);
      M.fill([&](std::int64_t i, std::int64_t j) { return A(i, j); });
      svr::DistributedSvdOptions options;
      options.path = svr::SvdPath::ReduceFirst;
      options.precision = g.precision;
      options.core_on_one_rank = g.core_on_one_rank;
      options.long_side_by_product = g.by_product;
      const svr::DistributedSpectrum d = svr::distributed_svd(M, options);
      const std::string what = std::string(single ? "single " : "double ") +
                               (g.core_on_one_rank ? "core on one rank " : "core on the grid ") +
                               (g.by_product ? "" : "all through Q ") + describe(grid.shape(), c);
      std::int64_t rule = 0;
      while (rule < r && d.s[rule] >= d.s[0] / (single ? 10.0 : 100.0)) ++rule;
      if (g.by_product) {
        EXPECT_EQ(d.long_side_by_product, rule) << what;
        EXPECT_GT(rule, 0) << what;
        EXPECT_LT(rule, r) << what;
      } else {
        EXPECT_EQ(d.long_side_by_product, 0) << what;
      }
      const svr::Spectrum got = svr::gather_spectrum(d, 0);
      if (grid.rank() != 0) continue;
      check_triplets(got, A, what, single ? 2e-5 : kTol);
    }
  }
}

// The bidiagonal core (pdgebrd on the grid, dbdsdc on grid rank 0, pdormbr): square and nearly
// square, tall (upper bidiagonal) and wide (lower), on every grid shape, double and single, with
// block sizes that do and do not divide the dimensions. The spectra are graded down to 1e-6
// (1e-3 in single) and one has an exact kernel of 5 (rank deficient: its near-kernel vectors must
// still come out orthonormal). Against thin_svd's values, with orthonormal vectors, every
// triplet's residual on both sides small relative to s_max, the same s bits on every rank, and
// while_core_runs called once on every rank but 0.
TEST(DistributedSvd, BidiagonalCoreMatchesLapack) {
  struct BidiagonalCase {
    Case c;
    svr::SvdPrecision precision;
    std::int64_t kernel;  // trailing singular values set to exactly 0
  };
  const BidiagonalCase cases[] = {
      {{64, 64, 8}, svr::SvdPrecision::Double, 0}, {{90, 70, 5}, svr::SvdPrecision::Double, 0},
      {{70, 90, 4}, svr::SvdPrecision::Double, 0}, {{75, 75, 6}, svr::SvdPrecision::Double, 5},
      {{80, 80, 7}, svr::SvdPrecision::Single, 0}, {{60, 84, 3}, svr::SvdPrecision::Single, 0}};
  std::uint64_t seed = 700;
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    svr::ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const BidiagonalCase& b : cases) {
      const Case& c = b.c;
      const bool single = b.precision == svr::SvdPrecision::Single;
      const Eigen::Index r = std::min(c.rows, c.cols);
      Eigen::VectorXd graded =
          svr::test::geometric(r, std::pow(single ? 1e-3 : 1e-6, 1.0 / static_cast<double>(r - 1)));
      graded.tail(b.kernel).setZero();
      const Eigen::MatrixXd A = svr::test::with_spectrum(c.rows, c.cols, graded, ++seed);
      svr::DistributedMatrix M(grid, c.rows, c.cols, c.nb);
      M.fill([&](std::int64_t i, std::int64_t j) { return A(i, j); });
      int calls = 0;
      svr::DistributedSvdOptions options;
      options.precision = b.precision;
      options.core_on_one_rank = true;
      options.while_core_runs = [&calls] { ++calls; };
      const svr::DistributedSpectrum d = svr::distributed_svd(M, options);
      const svr::Spectrum got = svr::gather_spectrum(d, 0);
      if (!grid.active()) continue;
      const std::string what = std::string(single ? "single " : "double ") + "bidiagonal core " +
                               (b.kernel ? "with a kernel " : "") + describe(grid.shape(), c);
      EXPECT_TRUE(d.core_on_one_rank) << what;
      EXPECT_TRUE(d.bidiagonal_core) << what;
      EXPECT_EQ(d.long_side_by_product, 0) << what;
      EXPECT_EQ(calls, grid.rank() == 0 ? 0 : 1) << what;
      expect_same_ends_on_every_rank(d.s, grid.comm(), what);
      if (grid.rank() != 0) continue;
      const svr::Spectrum ref = check_triplets(got, A, what, single ? 2e-5 : kTol);
      if (single) {
        EXPECT_GE((got.s - ref.s).cwiseAbs().maxCoeff(), 1e-10 * ref.s[0]) << what << ": not float";
      }
    }
  }
}

TEST(DistributedSvd, SinglePrecisionRefusesWhatFloatCannotHold) {
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  svr::DistributedMatrix M(grid, 30, 20, 2);
  M.fill([](std::int64_t i, std::int64_t j) {
    return i == 29 && j == 19 ? 1e300 : random_entry(i, j);
  });
  svr::DistributedSvdOptions options;
  options.precision = svr::SvdPrecision::Single;
  EXPECT_THROW(svr::distributed_svd(M, options), svr::NumericalError);
  EXPECT_NO_THROW(svr::distributed_svd(M));  // double holds it
  MPI_Barrier(MPI_COMM_WORLD);               // still in step
}

TEST(DistributedSvd, GatherSpectrumTruncatesLikeThinSvd) {
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  svr::DistributedMatrix M(grid, 40, 30, 3);
  M.fill([](std::int64_t i, std::int64_t j) { return random_entry(i, j, 77); });
  const svr::Spectrum got = svr::gather_spectrum(svr::distributed_svd(M), 0, 7);
  if (grid.rank() == 0) {
    const svr::Spectrum ref = svr::thin_svd(random_matrix(40, 30, 77), 7);
    ASSERT_EQ(got.s.size(), 7);
    EXPECT_EQ(got.U.cols(), 7);
    EXPECT_EQ(got.V.cols(), 7);
    EXPECT_LE((got.s - ref.s).cwiseAbs().maxCoeff(), kTol * ref.s(0));
  }
}

TEST(DistributedSvd, KeepBottomMovesTheLastColumnsLikeTheSerialOne) {
  // Block size 3 and K = 7 of 30: the kept columns start inside a block, on any process column.
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  svr::DistributedMatrix M(grid, 40, 30, 3);
  M.fill([](std::int64_t i, std::int64_t j) { return random_entry(i, j, 79); });
  svr::DistributedSpectrum spectrum = svr::distributed_svd(M);
  const Eigen::MatrixXd U_all = spectrum.U.gather(0), V_all = spectrum.V.gather(0);
  svr::keep_bottom(spectrum, 7);
  EXPECT_EQ(spectrum.s.size(), 7);
  EXPECT_EQ(spectrum.U.cols(), 7);
  EXPECT_EQ(spectrum.V.cols(), 7);
  EXPECT_EQ(spectrum.U.block(), 3);
  const Eigen::MatrixXd U = spectrum.U.gather(0), V = spectrum.V.gather(0);
  if (grid.rank() == 0) {
    // Moved exactly (a copy, no arithmetic), and the serial keep_bottom of the same factors.
    EXPECT_EQ(U, U_all.rightCols(7));
    EXPECT_EQ(V, V_all.rightCols(7));
    const svr::Spectrum ref = svr::thin_svd(random_matrix(40, 30, 79));
    EXPECT_LE((spectrum.s - ref.s.tail(7)).cwiseAbs().maxCoeff(), kTol * ref.s(0));
  }
  svr::keep_bottom(spectrum, 10);  // more than it holds: unchanged
  EXPECT_EQ(spectrum.U.cols(), 7);
  EXPECT_THROW(svr::keep_bottom(spectrum, 0), std::invalid_argument);
}

TEST(DistributedSvd, EmptyMatrix) {
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  svr::DistributedMatrix M(grid, 0, 5, 2);
  const svr::DistributedSpectrum d = svr::distributed_svd(M);
  EXPECT_EQ(d.s.size(), 0);
  const svr::Spectrum got = svr::gather_spectrum(d, 0);
  if (grid.rank() == 0) {
    EXPECT_EQ(got.U.rows(), 0);
    EXPECT_EQ(got.V.rows(), 5);
    EXPECT_EQ(got.V.cols(), 0);
  }
}

TEST(DistributedSvd, NanOnOneRankThrowsOnEveryRank) {
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  svr::DistributedMatrix M(grid, 30, 20, 2);
  M.fill([](std::int64_t i, std::int64_t j) {
    return i == 29 && j == 19 ? std::numeric_limits<double>::quiet_NaN() : random_entry(i, j);
  });
  EXPECT_THROW(svr::distributed_svd(M), svr::NumericalError);
  MPI_Barrier(MPI_COMM_WORLD);  // still in step
}

TEST(ScalapackWrappers, InfoIsAgreedAcrossRanks) {
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  // Only the last rank reports a failure; every rank must throw the same LapackError.
  const svr::lapack_int info = grid.rank() == grid.shape().size() - 1 ? 3 : 0;
  try {
    svr::scalapack::agree_info(grid.comm(), "pdfake", info);
    ADD_FAILURE() << "no throw";
  } catch (const svr::LapackError& e) {
    EXPECT_EQ(e.routine(), "pdfake");
    EXPECT_EQ(e.info(), 3);
  }
  EXPECT_THROW(svr::scalapack::descinit(10, 10, 0, 2, 0, 0, grid.context(), 10), svr::LapackError);
}

TEST(ScalapackWrappers, InfoBeyondIntIsAgreedUnchanged) {
  // An ILP64 LAPACK can return an info past INT_MAX (e.g. an index into a huge matrix); the
  // agreement must carry it whole, on every rank, whatever the build's lapack_int is.
  svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
  const std::int64_t big = (std::int64_t{1} << 33) + 5;
  const bool last = grid.rank() == grid.shape().size() - 1;
  for (const std::int64_t reported : {big, -big}) {
    try {
      svr::scalapack::agree_info(grid.comm(), "pdhuge", last ? reported : 0);
      ADD_FAILURE() << "no throw for info " << reported;
    } catch (const svr::LapackError& e) {
      EXPECT_EQ(e.info(), reported);
    }
  }
  // A bad argument (info < 0) anywhere wins over a numerical failure (info > 0) elsewhere.
  if (grid.shape().size() > 1) {
    try {
      svr::scalapack::agree_info(grid.comm(), "pdmixed", grid.rank() == 0 ? big : -7);
      ADD_FAILURE() << "no throw";
    } catch (const svr::LapackError& e) {
      EXPECT_EQ(e.info(), -7);
    }
  }
}
