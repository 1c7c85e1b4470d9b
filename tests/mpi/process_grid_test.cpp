// Process grids: shapes, activity of ranks outside a sub-grid, disjoint grids at once.
#include <gtest/gtest.h>

#include "mpi_test_support.hpp"
#include "svr/core/error.hpp"
#include "svr/linalg/process_grid.hpp"

using svr_test::world_rank;
using svr_test::world_size;

TEST(ProcessGrid, NearSquareShapes) {
  const int expect[][3] = {{1, 1, 1}, {2, 1, 2}, {3, 1, 3}, {4, 2, 2}, {6, 2, 3},
                           {8, 2, 4}, {9, 3, 3}, {12, 3, 4}, {7, 1, 7}, {16, 4, 4}};
  for (const auto& e : expect) {
    const svr::GridShape s = svr::near_square_shape(e[0]);
    EXPECT_EQ(s.rows, e[1]) << e[0];
    EXPECT_EQ(s.cols, e[2]) << e[0];
  }
  EXPECT_THROW(svr::near_square_shape(0), svr::Error);
}

TEST(ProcessGrid, EveryWorldShapeGivesTheExpectedPositions) {
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    svr::ProcessGrid grid(MPI_COMM_WORLD, shape);
    ASSERT_TRUE(grid.active());
    EXPECT_EQ(grid.shape().rows, shape.rows);
    EXPECT_EQ(grid.shape().cols, shape.cols);
    EXPECT_EQ(grid.rank(), world_rank());
    EXPECT_EQ(grid.my_row(), world_rank() / shape.cols) << svr_test::shape_name(shape);
    EXPECT_EQ(grid.my_col(), world_rank() % shape.cols) << svr_test::shape_name(shape);
    EXPECT_EQ(grid.rank_of(grid.my_row(), grid.my_col()), grid.rank());
    EXPECT_GE(grid.context(), 0);
  }
}

TEST(ProcessGrid, RanksOutsideASubGridAreInactive) {
  const int p = world_size();
  const int first = p > 1 ? 1 : 0;
  const int count = p > 1 ? p - 1 : 1;
  svr::ProcessGrid grid(MPI_COMM_WORLD, svr::GridShape{1, count}, first);
  const bool inside = world_rank() >= first;
  EXPECT_EQ(grid.active(), inside);
  if (inside) {
    EXPECT_EQ(grid.rank(), world_rank() - first);
    EXPECT_EQ(grid.my_row(), 0);
  } else {
    EXPECT_EQ(grid.comm(), MPI_COMM_NULL);
    EXPECT_EQ(grid.context(), -1);
    EXPECT_EQ(grid.rank(), -1);
    EXPECT_EQ(grid.my_row(), -1);
  }
}

TEST(ProcessGrid, ManyGridsCreatedAndFreedInARow) {
  // Contexts and communicators are released: a leak would exhaust BLACS/MPI handles.
  for (int i = 0; i < 200; ++i) {
    svr::ProcessGrid grid(MPI_COMM_WORLD, world_size());
    ASSERT_TRUE(grid.active());
  }
}

TEST(ProcessGrid, ShapeNotMatchingTheGroupThrowsOnEveryRank) {
  // Every rank in one colour, but a shape with one process too many.
  EXPECT_THROW(svr::ProcessGrid(MPI_COMM_WORLD, 0, svr::GridShape{1, world_size() + 1}),
               svr::Error);
  // The ranks are still in step: a collective afterwards completes.
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(ProcessGrid, RangeBeyondTheCommunicatorThrows) {
  EXPECT_THROW(svr::ProcessGrid(MPI_COMM_WORLD, svr::GridShape{1, world_size()}, 1), svr::Error);
}
