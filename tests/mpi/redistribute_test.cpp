// redistribute (src/linalg/redistribute.cpp): whole -> grid -> grid (other block) -> whole round
// trips with row/column permutations, dropped indices, untouched target entries, leading
// blocks, gather_leading against DistributedMatrix::gather, and argument errors thrown on every
// rank alike. Then sources and targets on a sub-grid (a team of contiguous ranks, as a layer
// factored by one team): -> whole, -> the world grid with permutations and back, between two
// disjoint teams and within one, and bad layouts.
#include "svr/linalg/redistribute.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mpi_test_support.hpp"
#include "svr/linalg/distributed_matrix.hpp"

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

// Rounds of source columns (piece_doubles / rows columns each, at least one): the same entries
// land in the same places however many rounds there are, with permuted and dropped columns and
// between every placement.
TEST(Redistribute, RoundsOfColumnsGiveTheSameResult) {
  const int size = world_size();
  const std::int64_t rows = 29, cols = 17;
  const std::uint64_t seed = 77;
  auto row_perm = [](std::int64_t i) -> std::int64_t { return rows - 1 - i; };
  // Columns rotated by 5; source column 4 dropped (target column 9 untouched).
  auto col_map = [](std::int64_t j) -> std::int64_t { return j == 4 ? -1 : (j + 5) % cols; };
  auto expected = [&](std::int64_t i, std::int64_t j) {
    const std::int64_t source = (j - 5 + cols) % cols;
    return source == 4 ? -3.0 : random_entry(rows - 1 - i, source, seed);
  };
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const std::int64_t piece :
         {std::int64_t{1}, std::int64_t{29}, std::int64_t{100}, svr::kRedistributePieceDoubles}) {
      const std::string what = svr_test::shape_name(shape) + " piece=" + std::to_string(piece);
      const int owner = size - 1;
      Eigen::MatrixXd original;
      if (world_rank() == owner) original = random_matrix(rows, cols, seed);
      DistributedMatrix A(grid, rows, cols, 3);
      A.fill([](std::int64_t, std::int64_t) { return -3.0; });
      svr::redistribute(grid,
                        RedistributionSource::whole(world_rank() == owner ? &original : nullptr,
                                                    owner, rows, cols),
                        RedistributionTarget::of(A), row_perm, col_map, piece);
      EXPECT_EQ(local_mismatches(A, expected), 0) << what;
      DistributedMatrix B(grid, rows, cols, 2);
      svr::redistribute(grid, RedistributionSource::of(A), RedistributionTarget::of(B), {}, {},
                        piece);
      EXPECT_EQ(local_mismatches(B, expected), 0) << what;
      Eigen::MatrixXd back;
      if (world_rank() == 0) back = Eigen::MatrixXd::Constant(rows, cols, 9.0);
      svr::redistribute(
          grid, RedistributionSource::of(B),
          RedistributionTarget::whole(world_rank() == 0 ? &back : nullptr, 0, rows, cols), {}, {},
          piece);
      if (world_rank() == 0) {
        int wrong = 0;  // counted, not asserted: every rank must reach the next collective
        for (std::int64_t j = 0; j < cols; ++j)
          for (std::int64_t i = 0; i < rows; ++i) wrong += back(i, j) != expected(i, j);
        EXPECT_EQ(wrong, 0) << what;
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

// ---- Sources and targets on a sub-grid of the redistribution grid (a team of ranks) ----

namespace {

// The sum over the world, so that a mismatch seen on any rank fails on rank 0 as well.
int world_sum(int value) {
  int sum = 0;
  MPI_Allreduce(&value, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return sum;
}

bool in_range(int first_rank, svr::GridShape shape) {
  return world_rank() >= first_rank && world_rank() < first_rank + shape.size();
}

// Sub-grids of k = 1 and 2 ranks (1x1, 1x2, 2x1) at the start and at the end of the world, and
// the whole world with its near-square shape.
struct Team {
  int first_rank;
  svr::GridShape shape;
};

std::vector<Team> teams() {
  const int size = world_size();
  std::vector<Team> out;
  std::vector<svr::GridShape> shapes{{1, 1}};
  if (size >= 2) {
    shapes.push_back({1, 2});
    shapes.push_back({2, 1});
  }
  for (const svr::GridShape s : shapes) {
    out.push_back({size - s.size(), s});
    if (size - s.size() != 0) out.push_back({0, s});
  }
  if (size > 2) out.push_back({0, svr::near_square_shape(size)});
  return out;
}

std::string team_name(const Team& t) {
  return svr_test::shape_name(t.shape) + "@" + std::to_string(t.first_rank);
}

}  // namespace

TEST(RedistributeSubgrid, SourceOnASubgridToWholeWorldGridAndPermutation) {
  const int size = world_size();
  ProcessGrid world(MPI_COMM_WORLD, svr::near_square_shape(size), 0);
  const std::int64_t dims[][2] = {{37, 11}, {5, 23}, {1, 1}};
  int variant = 0;
  for (const Team& team : teams()) {
    // The colour constructor, as the teams of the driver are built.
    ProcessGrid sub(MPI_COMM_WORLD, in_range(team.first_rank, team.shape) ? 0 : -1, team.shape);
    for (const auto& d : dims) {
      for (const std::int64_t nb : {1, 3, 64}) {
        const std::int64_t rows = d[0], cols = d[1];
        const std::string what = team_name(team) + " " + std::to_string(rows) + "x" +
                                 std::to_string(cols) + " nb=" + std::to_string(nb);
        const std::uint64_t seed = 300 + static_cast<std::uint64_t>(rows * cols + nb);
        const auto original = [seed](std::int64_t i, std::int64_t j) {
          return random_entry(i, j, seed);
        };
        // Only the team's ranks hold the matrix; the others know its layout only.
        std::unique_ptr<DistributedMatrix> M;
        svr::SubgridLayout layout{team.shape, team.first_rank, nb, rows, cols};
        if (sub.active()) {
          M = std::make_unique<DistributedMatrix>(sub, rows, cols, nb);
          M->fill(original);
          const svr::SubgridLayout own = svr::subgrid_layout(*M, team.first_rank);
          EXPECT_TRUE(own.shape.rows == layout.shape.rows && own.shape.cols == layout.shape.cols &&
                      own.first_rank == layout.first_rank && own.block == layout.block &&
                      own.rows == layout.rows && own.cols == layout.cols)
              << what;
        }

        // -> whole on a rank (alternately the last and the first), the leading block.
        const int owner = (variant++ % 2 == 0) ? size - 1 : 0;
        const std::int64_t lead_rows = std::max<std::int64_t>(1, rows - 2), lead_cols = cols;
        Eigen::MatrixXd whole;
        if (world_rank() == owner) whole = Eigen::MatrixXd::Constant(lead_rows, lead_cols, 9.0);
        svr::redistribute(world,
                          RedistributionSource::on_subgrid(M.get(), layout, lead_rows, lead_cols),
                          RedistributionTarget::whole(world_rank() == owner ? &whole : nullptr,
                                                      owner, lead_rows, lead_cols));
        int bad = 0;
        if (world_rank() == owner)
          for (std::int64_t j = 0; j < lead_cols; ++j)
            for (std::int64_t i = 0; i < lead_rows; ++i) bad += whole(i, j) != original(i, j);
        EXPECT_EQ(world_sum(bad), 0) << what << " -> whole on " << owner;

        // -> the world grid with another block size, rows reversed and columns rotated by 1.
        const std::int64_t nb2 = nb == 64 ? 2 : nb + 1;
        DistributedMatrix W(world, rows, cols, nb2);
        svr::redistribute(
            world, RedistributionSource::on_subgrid(M.get(), layout, rows, cols),
            RedistributionTarget::of(W), [rows](std::int64_t i) { return rows - 1 - i; },
            [cols](std::int64_t j) { return (j + 1) % cols; });
        const auto moved = [&](std::int64_t i, std::int64_t j) {
          return original(rows - 1 - i, (j - 1 + cols) % cols);
        };
        EXPECT_EQ(world_sum(local_mismatches(W, moved)), 0) << what << " -> world grid";

        // World grid -> back onto the sub-grid (another block), undoing the row permutation
        // only; target entries no source maps to (column 0 of the sub-grid matrix) keep -5.
        const std::int64_t nb3 = nb == 1 ? 64 : 1;
        std::unique_ptr<DistributedMatrix> B;
        const svr::SubgridLayout back_layout{team.shape, team.first_rank, nb3, rows, cols + 1};
        if (sub.active()) {
          B = std::make_unique<DistributedMatrix>(sub, rows, cols + 1, nb3);
          B->fill([](std::int64_t, std::int64_t) { return -5.0; });
        }
        svr::redistribute(
            world, RedistributionSource::of(W),
            RedistributionTarget::on_subgrid(B.get(), back_layout),
            [rows](std::int64_t i) { return rows - 1 - i; }, [](std::int64_t j) { return j + 1; });
        bad = 0;
        if (B)
          bad = local_mismatches(*B, [&](std::int64_t i, std::int64_t j) {
            return j == 0 ? -5.0 : original(i, (j - 2 + cols) % cols);
          });
        EXPECT_EQ(world_sum(bad), 0) << what << " -> world grid -> sub-grid";
      }
    }
  }
}

TEST(RedistributeSubgrid, OutsideRanksMayPassAMatrixOnTheirInactiveGrid) {
  // With the range constructor a rank outside the team holds an empty matrix on an inactive
  // grid object; passing it instead of nullptr is allowed.
  const int size = world_size();
  ProcessGrid world(MPI_COMM_WORLD, svr::near_square_shape(size), 0);
  for (const Team& team : teams()) {
    ProcessGrid sub(MPI_COMM_WORLD, team.shape, team.first_rank);
    DistributedMatrix M(sub, 9, 7, 2);
    M.fill([](std::int64_t i, std::int64_t j) { return random_entry(i, j, 11); });
    const svr::SubgridLayout layout{team.shape, team.first_rank, 2, 9, 7};
    DistributedMatrix W(world, 9, 7, 3);
    svr::redistribute(world, RedistributionSource::on_subgrid(&M, layout, 9, 7),
                      RedistributionTarget::of(W));
    EXPECT_EQ(world_sum(local_mismatches(
                  W, [](std::int64_t i, std::int64_t j) { return random_entry(i, j, 11); })),
              0)
        << team_name(team);
  }
}

TEST(RedistributeSubgrid, BetweenDisjointSubgridsAndWithinOne) {
  const int size = world_size();
  ProcessGrid world(MPI_COMM_WORLD, svr::near_square_shape(size), 0);
  // (A, B): B after A, or A after B; at one rank both are the world itself (same sub-grid).
  std::vector<std::pair<Team, Team>> cases;
  if (size == 1) cases.push_back({{0, {1, 1}}, {0, {1, 1}}});
  for (int a = 1; a < size; ++a) {
    const int b = size - a;
    for (const svr::GridShape sa : {svr::GridShape{1, a}, svr::GridShape{a, 1}})
      for (const svr::GridShape sb : {svr::GridShape{1, b}, svr::GridShape{b, 1}}) {
        cases.push_back({{0, sa}, {a, sb}});
        cases.push_back({{b, sa}, {0, sb}});
      }
  }
  // Within one team, another block size.
  for (const Team& t : teams()) cases.push_back({t, t});
  for (const auto& [A, B] : cases) {
    const bool same = A.first_rank == B.first_rank && A.shape.rows == B.shape.rows &&
                      A.shape.cols == B.shape.cols;
    const int color = in_range(A.first_rank, A.shape)   ? 0
                      : in_range(B.first_rank, B.shape) ? 1
                                                        : -1;
    ProcessGrid team(MPI_COMM_WORLD, color, color == 1 ? B.shape : A.shape);
    for (const std::int64_t nb : {1, 3, 64}) {
      const std::int64_t rows = 29, cols = 13;
      const std::string what = team_name(A) + " -> " + team_name(B) + " nb=" + std::to_string(nb);
      const auto original = [](std::int64_t i, std::int64_t j) { return random_entry(i, j, 21); };
      std::unique_ptr<DistributedMatrix> S, T;
      if (color == 0) {
        S = std::make_unique<DistributedMatrix>(team, rows, cols, nb);
        S->fill(original);
      }
      const std::int64_t nb2 = nb == 3 ? 2 : 3;
      // Target: rows x (cols - 2) with the even source rows first, then the odd ones; the
      // last two source columns are dropped.
      const std::int64_t half = (rows + 1) / 2;
      if ((same && color == 0) || (!same && color == 1))
        T = std::make_unique<DistributedMatrix>(team, rows, cols - 2, nb2);
      svr::redistribute(
          world,
          RedistributionSource::on_subgrid(S.get(), {A.shape, A.first_rank, nb, rows, cols}, rows,
                                           cols),
          RedistributionTarget::on_subgrid(T.get(), {B.shape, B.first_rank, nb2, rows, cols - 2}),
          [h = half](std::int64_t i) { return i % 2 == 0 ? i / 2 : h + i / 2; },
          [n = cols](std::int64_t j) -> std::int64_t { return j < n - 2 ? j : -1; });
      int bad = 0;
      if (T)
        bad = local_mismatches(*T, [&](std::int64_t i, std::int64_t j) {
          return original(i < half ? 2 * i : 2 * (i - half) + 1, j);
        });
      EXPECT_EQ(world_sum(bad), 0) << what;
    }
  }
}

TEST(RedistributeSubgrid, BadLayoutsThrowOnEveryRank) {
  const int size = world_size();
  ProcessGrid world(MPI_COMM_WORLD, svr::near_square_shape(size), 0);
  // A team of the last rank (the whole world at one rank).
  const svr::GridShape one{1, 1};
  const int last = size - 1;
  ProcessGrid sub(MPI_COMM_WORLD, one, last);
  std::unique_ptr<DistributedMatrix> M;
  if (sub.active()) M = std::make_unique<DistributedMatrix>(sub, 6, 5, 2);
  const svr::SubgridLayout good{one, last, 2, 6, 5};
  DistributedMatrix W(world, 6, 5, 3);
  const auto attempt = [&](const DistributedMatrix* m, const svr::SubgridLayout& layout) {
    svr::redistribute(world, RedistributionSource::on_subgrid(m, layout, 6, 5),
                      RedistributionTarget::of(W));
  };
  EXPECT_NO_THROW(attempt(M.get(), good));
  // The range is not inside the grid: past its end, before its start, an empty shape.
  EXPECT_THROW(attempt(M.get(), {one, size, 2, 6, 5}), std::invalid_argument);
  EXPECT_THROW(attempt(M.get(), {{1, 2}, last, 2, 6, 5}), std::invalid_argument);
  EXPECT_THROW(attempt(M.get(), {one, -1, 2, 6, 5}), std::invalid_argument);
  EXPECT_THROW(attempt(M.get(), {{0, 1}, 0, 2, 6, 5}), std::invalid_argument);
  // No matrix on the rank inside the range (only that rank can tell).
  EXPECT_THROW(attempt(nullptr, good), std::invalid_argument);
  // The layout does not describe the matrix: block, rows, a leading block too large.
  EXPECT_THROW(attempt(M.get(), {one, last, 3, 6, 5}), std::invalid_argument);
  EXPECT_THROW(attempt(M.get(), {one, last, 2, 7, 5}), std::invalid_argument);
  EXPECT_THROW(svr::redistribute(world, RedistributionSource::on_subgrid(M.get(), good, 6, 6),
                                 RedistributionTarget::of(W)),
               std::invalid_argument);
  // The matrix's grid has the wrong rank for the layout: a range that starts at rank 0 while
  // the team is the last rank (rank 0 has no matrix, the last rank is outside the range).
  if (size > 1) {
    EXPECT_THROW(attempt(M.get(), {one, 0, 2, 6, 5}), std::invalid_argument);
    // A layout that differs between ranks.
    EXPECT_THROW(attempt(M.get(), {one, last, world_rank() == 0 ? 3 : 2, 6, 5}),
                 std::invalid_argument);
    EXPECT_THROW(svr::redistribute(world, RedistributionSource::of(W),
                                   RedistributionTarget::on_subgrid(
                                       M.get(), {one, last, 2, world_rank() == 0 ? 7 : 6, 5})),
                 std::invalid_argument);
  }
  // A target on a sub-grid with the same problems.
  EXPECT_THROW(svr::redistribute(world, RedistributionSource::of(W),
                                 RedistributionTarget::on_subgrid(nullptr, good)),
               std::invalid_argument);
  EXPECT_THROW(svr::redistribute(world, RedistributionSource::of(W),
                                 RedistributionTarget::on_subgrid(M.get(), {one, size, 2, 6, 5})),
               std::invalid_argument);
  // Still usable afterwards.
  W.fill([](std::int64_t i, std::int64_t j) { return static_cast<double>(i * 10 + j); });
  svr::redistribute(world, RedistributionSource::of(W),
                    RedistributionTarget::on_subgrid(M.get(), good));
  int bad = 0;
  if (M)
    bad = local_mismatches(
        *M, [](std::int64_t i, std::int64_t j) { return static_cast<double>(i * 10 + j); });
  EXPECT_EQ(world_sum(bad), 0);
}
