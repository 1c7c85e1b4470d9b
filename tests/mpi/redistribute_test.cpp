// redistribute (src/linalg/redistribute.cpp): whole -> grid -> grid (other block) -> whole round
// trips with row/column permutations, dropped indices, untouched target entries, leading
// blocks, gather_leading against DistributedMatrix::gather, and argument errors thrown on every
// rank alike.
#include "svr/redistribute.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "mpi_test_support.hpp"
#include "svr/distributed_matrix.hpp"

using svr::DistributedMatrix;
using svr::ProcessGrid;
using svr::RedistributionSource;
using svr::RedistributionTarget;
using svr_test::random_entry;
using svr_test::random_matrix;
using svr_test::world_rank;
using svr_test::world_size;

namespace {

// Every local entry of `m` against expected(global i, global j); returns the mismatches.
template <typename Expected>
int local_mismatches(const DistributedMatrix& m, Expected expected) {
  int bad = 0;
  for (std::int64_t lj = 0; lj < m.local_cols(); ++lj)
    for (std::int64_t li = 0; li < m.local_rows(); ++li)
      if (m.local(li, lj) != expected(m.global_row(li), m.global_col(lj))) ++bad;
  return bad;
}

}  // namespace

TEST(Redistribute, RoundTripWholeGridGridWholeWithPermutations) {
  const int size = world_size();
  const std::int64_t blocks[] = {1, 2, 3, 64};
  const std::int64_t dims[][2] = {{37, 11}, {5, 23}, {1, 1}, {64, 3}};
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const auto& d : dims) {
      for (const std::int64_t nb : blocks) {
        const std::int64_t rows = d[0], cols = d[1];
        const std::string what = svr_test::shape_name(shape) + " " + std::to_string(rows) + "x" +
                                 std::to_string(cols) + " nb=" + std::to_string(nb);
        const std::uint64_t seed = 100 + static_cast<std::uint64_t>(rows * cols + nb);
        const int owner = size - 1;
        Eigen::MatrixXd original;
        if (world_rank() == owner) original = random_matrix(rows, cols, seed);

        // Whole -> grid, rows reversed and columns rotated by 3: A(i, j) = M(rows-1-i, j-3).
        auto row_perm = [rows](std::int64_t i) { return rows - 1 - i; };
        auto col_perm = [cols](std::int64_t j) { return (j + 3) % cols; };
        auto col_inverse = [cols](std::int64_t j) { return (j - 3 % cols + cols) % cols; };
        auto moved = [&](std::int64_t i, std::int64_t j) {
          return random_entry(rows - 1 - i, col_inverse(j), seed);
        };
        DistributedMatrix A(grid, rows, cols, nb);
        svr::redistribute(grid,
                          RedistributionSource::whole(world_rank() == owner ? &original : nullptr,
                                                      owner, rows, cols),
                          RedistributionTarget::of(A), row_perm, col_perm);
        EXPECT_EQ(local_mismatches(A, moved), 0) << what;

        // Grid -> grid with another block size, identity maps.
        const std::int64_t nb2 = nb == 64 ? 2 : nb + 3;
        DistributedMatrix B(grid, rows, cols, nb2);
        svr::redistribute(grid, RedistributionSource::of(A), RedistributionTarget::of(B));
        EXPECT_EQ(local_mismatches(B, moved), 0) << what;

        // Grid -> whole on rank 0 with the inverse permutations: bitwise the original.
        Eigen::MatrixXd back;
        if (world_rank() == 0) back = Eigen::MatrixXd::Constant(rows, cols, 9.0);
        svr::redistribute(
            grid, RedistributionSource::of(B),
            RedistributionTarget::whole(world_rank() == 0 ? &back : nullptr, 0, rows, cols),
            row_perm, col_inverse);
        if (world_rank() == 0) {
          const Eigen::MatrixXd expected = random_matrix(rows, cols, seed);
          EXPECT_EQ((back - expected).cwiseAbs().maxCoeff(), 0.0) << what;
        }
      }
    }
  }
}

TEST(Redistribute, DroppedIndicesLeadingBlocksAndUntouchedEntries) {
  const int size = world_size();
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const std::int64_t nb : {1, 2, 3, 64}) {
      // Source: the leading 10x6 block of a 13x8 distributed matrix; even rows go to rows
      // 0..4 of a 6x7 target, columns j -> j + 1; target row 5 and column 0 keep -7.
      DistributedMatrix S(grid, 13, 8, nb);
      S.fill([](std::int64_t i, std::int64_t j) { return random_entry(i, j, 7); });
      DistributedMatrix T(grid, 6, 7, 3);
      T.fill([](std::int64_t, std::int64_t) { return -7.0; });
      svr::redistribute(
          grid, RedistributionSource::of(S, 10, 6), RedistributionTarget::of(T),
          [](std::int64_t i) -> std::int64_t { return i % 2 == 0 ? i / 2 : -1; },
          [](std::int64_t j) { return j + 1; });
      EXPECT_EQ(local_mismatches(T,
                                 [](std::int64_t i, std::int64_t j) {
                                   if (i == 5 || j == 0) return -7.0;
                                   return random_entry(2 * i, j - 1, 7);
                                 }),
                0)
          << svr_test::shape_name(shape) << " nb=" << nb;

      // gather_leading to every rank equals the leading block of DistributedMatrix::gather.
      for (int dest = 0; dest < size; ++dest) {
        const Eigen::MatrixXd got = svr::gather_leading(S, 7, 4, dest);
        if (world_rank() == dest) {
          ASSERT_EQ(got.rows(), 7);
          ASSERT_EQ(got.cols(), 4);
          EXPECT_EQ((got - random_matrix(13, 8, 7).topLeftCorner(7, 4)).cwiseAbs().maxCoeff(), 0.0);
        } else {
          EXPECT_EQ(got.size(), 0);
        }
      }
      const Eigen::MatrixXd empty = svr::gather_leading(S, 0, 0, size - 1);
      if (world_rank() == size - 1) {
        EXPECT_EQ(empty.size(), 0);
      }
    }
  }
}

TEST(Redistribute, WholeToWholeBetweenRanks) {
  const int size = world_size();
  ProcessGrid grid(MPI_COMM_WORLD, svr::near_square_shape(size));
  const Eigen::MatrixXd M = random_matrix(9, 4, 3);
  const int from = 0, to = size - 1;
  // A transpose through the maps is not expressible (maps are per dimension), but a column
  // permutation into a wider array's leading block is: 9x4 -> leading 9x4 of a 9x6 array.
  Eigen::MatrixXd wide;
  if (world_rank() == to) wide = Eigen::MatrixXd::Constant(9, 6, 5.0);
  svr::redistribute(grid,
                    RedistributionSource::whole(world_rank() == from ? &M : nullptr, from, 9, 4),
                    RedistributionTarget::whole(world_rank() == to ? &wide : nullptr, to, 9, 6), {},
                    [](std::int64_t j) { return 3 - j; });
  if (world_rank() == to) {
    EXPECT_EQ((wide.leftCols(4) - M.rowwise().reverse()).cwiseAbs().maxCoeff(), 0.0);
    EXPECT_EQ((wide.rightCols(2).array() - 5.0).abs().maxCoeff(), 0.0);
  }
}

TEST(Redistribute, BadArgumentsThrowOnEveryRank) {
  const int size = world_size();
  ProcessGrid grid(MPI_COMM_WORLD, svr::near_square_shape(size));
  DistributedMatrix S(grid, 6, 5, 2);
  DistributedMatrix T(grid, 6, 5, 3);
  // Out of range (every rank sees it on its own entries or in its receive walk).
  EXPECT_THROW(svr::redistribute(grid, RedistributionSource::of(S), RedistributionTarget::of(T),
                                 [](std::int64_t i) { return i + 1; }),
               std::invalid_argument);
  // Not injective: only the ranks holding target row 0 notice; all must throw.
  EXPECT_THROW(svr::redistribute(grid, RedistributionSource::of(S), RedistributionTarget::of(T),
                                 [](std::int64_t i) { return i / 2; }),
               std::invalid_argument);
  // Owner outside the grid.
  EXPECT_THROW(svr::redistribute(grid, RedistributionSource::whole(nullptr, size, 6, 5),
                                 RedistributionTarget::of(T)),
               std::invalid_argument);
  // No data on the owner (only the owner can tell).
  EXPECT_THROW(svr::redistribute(grid, RedistributionSource::whole(nullptr, size - 1, 6, 5),
                                 RedistributionTarget::of(T)),
               std::invalid_argument);
  // An owner's array too small for the block.
  const Eigen::MatrixXd small = Eigen::MatrixXd::Zero(6, 4);
  EXPECT_THROW(svr::redistribute(grid, RedistributionSource::whole(&small, 0, 6, 5),
                                 RedistributionTarget::of(T)),
               std::invalid_argument);
  // A leading block larger than the distributed matrix.
  EXPECT_THROW(
      svr::redistribute(grid, RedistributionSource::of(S, 7, 5), RedistributionTarget::of(T)),
      std::invalid_argument);
  // A map that differs between ranks (rank-dependent shift): caught by the count cross-check
  // or a range/injectivity check, but never a hang or silent misplacement.
  if (size > 1) {
    const int rank = world_rank();
    EXPECT_THROW(svr::redistribute(grid, RedistributionSource::of(S), RedistributionTarget::of(T),
                                   [rank](std::int64_t i) -> std::int64_t {
                                     return rank == 0 ? i : (i < 3 ? -1 : i);
                                   }),
                 std::invalid_argument);
  }
  // The grid is still usable afterwards.
  T.fill([](std::int64_t, std::int64_t) { return 0.0; });
  S.fill([](std::int64_t i, std::int64_t j) { return static_cast<double>(i * 10 + j); });
  svr::redistribute(grid, RedistributionSource::of(S), RedistributionTarget::of(T));
  EXPECT_EQ(local_mismatches(
                T, [](std::int64_t i, std::int64_t j) { return static_cast<double>(i * 10 + j); }),
            0);
}
