// Distributed matrices: layout consistent with numroc and the descriptor, fills, gathers.
#include "svr/linalg/distributed_matrix.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <utility>

#include "mpi_test_support.hpp"
#include "svr/linalg/transpose.hpp"

using svr_test::random_entry;
using svr_test::random_matrix;

namespace {

Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major(
    const Eigen::MatrixXd& m) {
  return m;
}

}  // namespace

TEST(DistributedMatrix, LocalSizesAndDescriptor) {
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    svr::ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const std::int64_t nb : {2, 3, 64}) {
      svr::DistributedMatrix a(grid, 37, 11, nb);
      EXPECT_EQ(a.local_rows(), svr::scalapack::numroc(37, static_cast<int>(nb), grid.my_row(), 0,
                                                       shape.rows));
      EXPECT_EQ(a.local_cols(), svr::scalapack::numroc(11, static_cast<int>(nb), grid.my_col(), 0,
                                                       shape.cols));
      const auto& d = a.descriptor();
      EXPECT_EQ(d[svr::scalapack::kContext], grid.context());
      EXPECT_EQ(d[svr::scalapack::kRows], 37);
      EXPECT_EQ(d[svr::scalapack::kCols], 11);
      EXPECT_EQ(d[svr::scalapack::kRowBlock], nb);
      EXPECT_EQ(d[svr::scalapack::kColBlock], nb);
      EXPECT_EQ(d[svr::scalapack::kLeadingDim], std::max<std::int64_t>(1, a.local_rows()));
      // Total entries over the grid = 37 * 11.
      std::int64_t mine = a.local_rows() * a.local_cols(), total = 0;
      MPI_Allreduce(&mine, &total, 1, MPI_INT64_T, MPI_SUM, grid.comm());
      EXPECT_EQ(total, 37 * 11);
    }
  }
}

TEST(DistributedMatrix, FillAndGatherRoundTrip) {
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    svr::ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const std::int64_t nb : {2, 3, 64}) {
      const Eigen::MatrixXd expected = random_matrix(29, 17, 7);
      svr::DistributedMatrix a(grid, 29, 17, nb);
      a.fill([](std::int64_t i, std::int64_t j) { return random_entry(i, j, 7); });
      for (int root = 0; root < shape.size(); ++root) {
        const Eigen::MatrixXd g = a.gather(root);
        if (grid.rank() == root) {
          ASSERT_EQ(g.rows(), 29);
          ASSERT_EQ(g.cols(), 17);
          EXPECT_EQ((g - expected).cwiseAbs().maxCoeff(), 0.0)
              << svr_test::shape_name(shape) << " nb=" << nb << " root=" << root;
        } else {
          EXPECT_EQ(g.size(), 0);
        }
      }
    }
  }
}

TEST(DistributedMatrix, RowRunsCoverOwnedEntriesOnceAndFillFromRowMajorMatches) {
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    svr::ProcessGrid grid(MPI_COMM_WORLD, shape);
    // 150 rows: several staging batches of 64 local rows on a grid of one process row.
    for (const auto [nb, rows, cols] : {std::array<std::int64_t, 3>{2, 23, 31},
                                        {3, 23, 31},
                                        {64, 23, 31},
                                        {3, 150, 40},
                                        {64, 150, 200}}) {
      const auto global = row_major(random_matrix(rows, cols, 3));
      svr::DistributedMatrix by_value(grid, rows, cols, nb), by_runs(grid, rows, cols, nb);
      by_value.fill([](std::int64_t i, std::int64_t j) { return random_entry(i, j, 3); });

      std::set<std::pair<std::int64_t, std::int64_t>> seen;
      std::int64_t bytes_read = 0;
      by_runs.fill_from_row_major([&](const svr::RowRun& run, double* out) {
        for (std::int64_t k = 0; k < run.count; ++k) {
          EXPECT_TRUE(by_runs.owns(run.row, run.col + k));
          EXPECT_TRUE(seen.insert({run.row, run.col + k}).second);
          out[k] = global(run.row, run.col + k);
        }
        bytes_read += run.count;
      });
      EXPECT_EQ(bytes_read, by_runs.local_rows() * by_runs.local_cols());
      for (std::int64_t lj = 0; lj < by_runs.local_cols(); ++lj)
        for (std::int64_t li = 0; li < by_runs.local_rows(); ++li)
          ASSERT_EQ(by_runs.local(li, lj), by_value.local(li, lj));

      svr::DistributedMatrix from_array(grid, rows, cols, nb);
      from_array.fill_from_row_major(global.data());
      const Eigen::MatrixXd g = from_array.gather(0);
      if (grid.rank() == 0) {
        EXPECT_EQ((g - random_matrix(rows, cols, 3)).norm(), 0.0);
      }
    }
  }
}

TEST(DistributedMatrix, RankOwningNoBlockHasNoLocalEntries) {
  svr::ProcessGrid grid(MPI_COMM_WORLD, svr_test::world_size());
  svr::DistributedMatrix a(grid, 5, 3, 64);  // one block, on process (0, 0)
  if (grid.rank() == 0) {
    EXPECT_EQ(a.local_rows() * a.local_cols(), 15);
  } else {
    EXPECT_EQ(a.local_rows() * a.local_cols(), 0);
    EXPECT_TRUE(a.row_runs().empty());
  }
  a.fill([](std::int64_t i, std::int64_t j) { return random_entry(i, j); });
  const Eigen::MatrixXd g = a.gather(grid.shape().size() - 1);
  if (grid.rank() == grid.shape().size() - 1) {
    EXPECT_EQ((g - random_matrix(5, 3)).norm(), 0.0);
  }
}

TEST(DistributedMatrix, TransposeMatchesTheSerialTranspose) {
  // Every grid of the world (the exchange on 1 x P, pdtran elsewhere), blocks that do and do not
  // divide the sizes, more columns than rows and the reverse, and a rank without columns.
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    svr::ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const auto [nb, rows, cols] : {std::array<std::int64_t, 3>{1, 7, 5},
                                        {3, 23, 31},
                                        {64, 130, 70},
                                        {5, 5, 200},
                                        {4, 200, 3},
                                        {64, 10, 64}}) {
      svr::DistributedMatrix a(grid, rows, cols, nb);
      a.fill([](std::int64_t i, std::int64_t j) { return random_entry(i, j, 17); });
      // The default pieces, and for two of the shapes pieces of 7 values: several messages per
      // pair of ranks, some of a single column longer than the piece.
      const bool small_pieces = (rows == 23 && cols == 31) || (rows == 5 && cols == 200);
      for (const std::int64_t piece : {std::int64_t{1} << 20, std::int64_t{7}}) {
        if (piece == 7 && !small_pieces) continue;
        const svr::DistributedMatrix t = svr::transpose(a, piece);
        EXPECT_EQ(t.rows(), cols);
        EXPECT_EQ(t.cols(), rows);
        EXPECT_EQ(t.block(), nb);
        const Eigen::MatrixXd g = t.gather(0);
        if (grid.rank() == 0) {
          EXPECT_EQ((g - random_matrix(rows, cols, 17).transpose()).norm(), 0.0)
              << svr_test::shape_name(shape) << " nb=" << nb << " " << rows << "x" << cols
              << " piece " << piece;
        }
      }
    }
  }
}
