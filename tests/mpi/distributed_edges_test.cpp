// distributed_edge_weights against the serial edge_weights (src/stats/edges.cpp) on random
// factors: dense (z = 1), conv (z_v > 1), cosvr (z_u > 1) and both; every combination of whole
// (on different owners) and distributed factors; truncated columns; block sizes 1, 2, 3, 64 with
// dimensions that are not multiples of them; every grid shape of the world (1xP, Px1, 2x2);
// dest cycling over all ranks. Plus argument errors thrown on every rank alike. Then factors on
// teams (sub-grids of contiguous world ranks built with the colour constructor, as the driver
// does) while E is computed on the grid of all ranks: U and V on disjoint teams, both on one
// team, one whole and the other on a team; and bad team placements.
#include "svr/linalg/distributed_edge_weights.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mpi_test_support.hpp"
#include "svr/linalg/edge_weights.hpp"

using svr::DistributedMatrix;
using svr::FactorPlacement;
using svr::ProcessGrid;
using svr_test::random_entry;
using svr_test::random_matrix;
using svr_test::world_rank;
using svr_test::world_size;

namespace {

constexpr double kTol = 1e-12;

// A pair: c channels; U is (c z_u) x u_total of which u_used columns take part, V likewise.
struct Pair {
  const char* name;
  std::int64_t c, z_u, z_v, u_total, u_used, v_total, v_used;
};

const Pair kPairs[] = {
    {"dense", 13, 1, 1, 13, 9, 10, 10},    // U truncated, V cols < rows
    {"conv", 5, 1, 4, 5, 5, 7, 6},         // z_v > 1
    {"cosvr", 6, 3, 1, 11, 11, 6, 4},      // z_u > 1
    {"both", 7, 2, 3, 9, 8, 10, 10},       // z_u, z_v > 1
    {"one channel", 1, 2, 2, 2, 2, 2, 1},  // c = 1
};

// One factor, whole on `owner` (owner >= 0) or distributed with block nb; keeps its storage.
struct Factor {
  Eigen::MatrixXd whole;
  std::unique_ptr<DistributedMatrix> distributed;
  FactorPlacement placement;
};

void make_factor(Factor& f, const ProcessGrid& grid, std::int64_t rows, std::int64_t total,
                 std::int64_t used, std::uint64_t seed, int owner, std::int64_t nb) {
  f.placement = FactorPlacement{};
  f.placement.rows = rows;
  f.placement.cols = used;
  if (owner >= 0) {
    f.placement.owner = owner;
    if (world_rank() == owner) {
      f.whole = random_matrix(rows, total, seed);
      f.placement.whole = &f.whole;
    }
  } else {
    f.distributed = std::make_unique<DistributedMatrix>(grid, rows, total, nb);
    f.distributed->fill(
        [seed](std::int64_t i, std::int64_t j) { return random_entry(i, j, seed); });
    f.placement.distributed = f.distributed.get();
  }
}

Eigen::MatrixXd reference(const Pair& p, std::uint64_t seed_u, std::uint64_t seed_v) {
  const Eigen::MatrixXd U = random_matrix(p.c * p.z_u, p.u_total, seed_u).leftCols(p.u_used);
  const Eigen::MatrixXd V = random_matrix(p.c * p.z_v, p.v_total, seed_v).leftCols(p.v_used);
  return svr::edge_weights(U, V, p.c, p.z_u, p.z_v);
}

enum Placement { kWholeWhole, kWholeDistributed, kDistributedWhole, kDistributedDistributed };
const char* const kPlacementNames[] = {"whole+whole", "whole+distributed", "distributed+whole",
                                       "distributed+distributed"};

// Runs one case and checks it on dest (and 0x0 elsewhere). Returns whether it took the column
// method.
bool run_case(const ProcessGrid& grid, const Pair& p, Placement placement, std::int64_t nb,
              std::int64_t factor_nb, int dest, const std::string& what,
              svr::EdgeProducts products = svr::EdgeProducts::automatic) {
  // Grid ranks are world ranks here (every grid starts at world rank 0).
  const int size = grid.shape().size();
  const std::uint64_t seed_u = 1000 + static_cast<std::uint64_t>(p.c),
                      seed_v = 2000 + static_cast<std::uint64_t>(p.c);
  // Whole factors on different ranks when there are several (U on the last, V on rank 0).
  const bool u_whole = placement == kWholeWhole || placement == kWholeDistributed;
  const bool v_whole = placement == kWholeWhole || placement == kDistributedWhole;
  Factor U, V;
  make_factor(U, grid, p.c * p.z_u, p.u_total, p.u_used, seed_u, u_whole ? size - 1 : -1,
              factor_nb);
  make_factor(V, grid, p.c * p.z_v, p.v_total, p.v_used, seed_v, v_whole ? 0 : -1, factor_nb);
  const bool column =
      svr::uses_column_method(grid, U.placement, V.placement, p.c, p.z_u, p.z_v, products);
  const Eigen::MatrixXd E = svr::distributed_edge_weights(
      grid, U.placement, V.placement, p.c, p.z_u, p.z_v, dest, nb, nullptr, {}, products);
  if (world_rank() != dest) {
    EXPECT_EQ(E.size(), 0) << what;
    return column;
  }
  const Eigen::MatrixXd ref = reference(p, seed_u, seed_v);
  EXPECT_EQ(E.rows(), p.v_used) << what;
  EXPECT_EQ(E.cols(), p.u_used) << what;
  if (E.rows() != ref.rows() || E.cols() != ref.cols()) return column;
  const double scale = ref.cwiseAbs().maxCoeff();
  EXPECT_GT(scale, 0.0) << what;
  EXPECT_LE((E - ref).cwiseAbs().maxCoeff(), kTol * scale) << what;
  return column;
}

}  // namespace

TEST(DistributedEdges, MatchesSerialForEveryPlacementBlockAndGrid) {
  // Both methods: the grid products everywhere, and the automatic choice, which takes the column
  // method on a grid of one process row whenever a factor is on the grid (and never otherwise).
  const int size = world_size();
  int counter = 0;
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const std::int64_t nb : {1, 2, 3, 64}) {
      for (const Pair& p : kPairs) {
        for (int pl = kWholeWhole; pl <= kDistributedDistributed; ++pl) {
          for (const auto products :
               {svr::EdgeProducts::automatic, svr::EdgeProducts::grid_products}) {
            const bool automatic = products == svr::EdgeProducts::automatic;
            const int dest = (counter++) % size;  // cycles, so dest != 0 whenever size > 1
            const std::string what = svr_test::shape_name(shape) + " nb=" + std::to_string(nb) +
                                     " " + p.name + " " + kPlacementNames[pl] +
                                     (automatic ? " automatic" : " grid products") +
                                     " dest=" + std::to_string(dest);
            const bool column =
                run_case(grid, p, static_cast<Placement>(pl), nb, nb, dest, what, products);
            EXPECT_EQ(column, automatic && shape.rows == 1 && pl != kWholeWhole) << what;
          }
        }
      }
    }
  }
}

TEST(DistributedEdges, ColumnMethodOverManyChunksAndBothStationaryFactors) {
  // More local columns than one chunk (256) of the stationary factor, on a grid of one process
  // row: U stays (V copied, z_v = 3) and V stays (U copied, z_u = 2); the wider one stays when
  // both are on the grid.
  const int size = world_size();
  ProcessGrid grid(MPI_COMM_WORLD, svr::GridShape{1, size});
  const Pair wide_u{"wide U", 3, 1, 3, 600 * size, 600 * size - 7, 5, 5};
  const Pair wide_v{"wide V", 4, 2, 3, 6, 5, 700 * size, 700 * size - 1};
  int dest = 0;
  for (const Pair& p : {wide_u, wide_v}) {
    for (int pl = kWholeDistributed; pl <= kDistributedDistributed; ++pl) {
      const bool u_whole = pl == kWholeDistributed;
      const bool v_whole = pl == kDistributedWhole;
      // A wide factor held whole would be copied instead: only the wide one on the grid.
      if ((p.u_total > p.v_total && u_whole) || (p.v_total > p.u_total && v_whole)) continue;
      const std::string what = std::string(p.name) + " " + kPlacementNames[pl];
      EXPECT_TRUE(run_case(grid, p, static_cast<Placement>(pl), 4, 4, dest, what)) << what;
      dest = (dest + 1) % size;
    }
  }
}

TEST(DistributedEdges, FactorBlockDiffersFromRequestedBlock) {
  // A dense distributed factor with the requested block is used in place; with another block it
  // is redistributed first. Both must agree with the serial result.
  const int size = world_size();
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const Pair& p : kPairs) {
      const std::string what = svr_test::shape_name(shape) + " " + p.name;
      run_case(grid, p, kDistributedDistributed, 2, 3, size - 1, what + " nb=2 factor nb=3");
      run_case(grid, p, kDistributedDistributed, 64, 1, 0, what + " nb=64 factor nb=1");
    }
  }
}

TEST(DistributedEdges, LargerThanOneBlockPerProcess) {
  // Enough rows and columns that each process holds several blocks of every operand.
  const Pair big{"big", 37, 2, 3, 41, 39, 45, 43};
  const int size = world_size();
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const std::int64_t nb : {3, 64})
      run_case(grid, big, kDistributedDistributed, nb, nb, size / 2,
               svr_test::shape_name(shape) + " big nb=" + std::to_string(nb));
    run_case(grid, big, kWholeDistributed, 5, 5, size - 1, svr_test::shape_name(shape) + " big");
  }
}

TEST(DistributedEdges, RanksOutsideASubGridReturnAtOnce) {
  // A grid of the first P - 1 ranks (grid rank = world rank there); the last rank is inactive
  // and must neither block nor get a result.
  const int size = world_size();
  if (size < 2) GTEST_SKIP() << "needs two ranks";
  ProcessGrid grid(MPI_COMM_WORLD, svr::near_square_shape(size - 1), 0);
  const Pair& p = kPairs[3];
  const std::string what = "sub-grid of " + std::to_string(size - 1);
  if (grid.active()) {
    run_case(grid, p, kWholeDistributed, 3, 3, size - 2, what);
  } else {
    const FactorPlacement none;
    EXPECT_EQ(svr::distributed_edge_weights(grid, none, none, p.c, p.z_u, p.z_v, 0, 3).size(), 0);
  }
}

TEST(DistributedEdges, ZeroColumnsGiveAnEmptyResult) {
  const int size = world_size();
  ProcessGrid grid(MPI_COMM_WORLD, svr::near_square_shape(size));
  const Pair p{"empty", 4, 1, 2, 4, 0, 8, 3};
  Factor U, V;
  make_factor(U, grid, 4, 4, 0, 5, -1, 2);
  make_factor(V, grid, 8, 8, 3, 6, 0, 2);
  const Eigen::MatrixXd E =
      svr::distributed_edge_weights(grid, U.placement, V.placement, p.c, p.z_u, p.z_v, 0, 2);
  if (world_rank() == 0) {
    EXPECT_EQ(E.rows(), 3);
    EXPECT_EQ(E.cols(), 0);
  } else {
    EXPECT_EQ(E.size(), 0);
  }
}

TEST(DistributedEdges, BadArgumentsThrowOnEveryRank) {
  const int size = world_size();
  ProcessGrid grid(MPI_COMM_WORLD, svr::near_square_shape(size));
  Factor U, V;
  make_factor(U, grid, 12, 5, 5, 1, -1, 2);  // c = 4, z_u = 3
  make_factor(V, grid, 8, 6, 6, 2, 0, 2);    // c = 4, z_v = 2
  auto call = [&](const FactorPlacement& u, const FactorPlacement& v, std::int64_t c,
                  std::int64_t z_u, std::int64_t z_v, int dest, std::int64_t nb) {
    return svr::distributed_edge_weights(grid, u, v, c, z_u, z_v, dest, nb);
  };
  // Sanity: the valid call works.
  EXPECT_NO_THROW(call(U.placement, V.placement, 4, 3, 2, 0, 2));
  // Rows that do not match c z.
  EXPECT_THROW(call(U.placement, V.placement, 4, 2, 2, 0, 2), std::invalid_argument);
  EXPECT_THROW(call(U.placement, V.placement, 4, 3, 3, 0, 2), std::invalid_argument);
  EXPECT_THROW(call(U.placement, V.placement, 0, 3, 2, 0, 2), std::invalid_argument);
  EXPECT_THROW(call(U.placement, V.placement, 4, 3, 0, 0, 2), std::invalid_argument);
  // dest and block.
  EXPECT_THROW(call(U.placement, V.placement, 4, 3, 2, size, 2), std::invalid_argument);
  EXPECT_THROW(call(U.placement, V.placement, 4, 3, 2, -1, 2), std::invalid_argument);
  EXPECT_THROW(call(U.placement, V.placement, 4, 3, 2, 0, 0), std::invalid_argument);
  // More used columns than the factor has (distributed: every rank sees it).
  FactorPlacement wide_u = U.placement;
  wide_u.cols = 6;
  EXPECT_THROW(call(wide_u, V.placement, 4, 3, 2, 0, 2), std::invalid_argument);
  // More used columns than the whole factor has: only its owner can tell.
  FactorPlacement wide_v = V.placement;
  wide_v.cols = 7;
  EXPECT_THROW(call(U.placement, wide_v, 4, 3, 2, 0, 2), std::invalid_argument);
  // Neither distributed nor owned; both.
  FactorPlacement nowhere = V.placement;
  nowhere.owner = -1;
  EXPECT_THROW(call(U.placement, nowhere, 4, 3, 2, 0, 2), std::invalid_argument);
  FactorPlacement both = U.placement;
  both.owner = 0;
  EXPECT_THROW(call(both, V.placement, 4, 3, 2, 0, 2), std::invalid_argument);
  // Owner outside the grid.
  FactorPlacement far = V.placement;
  far.owner = size;
  EXPECT_THROW(call(U.placement, far, 4, 3, 2, 0, 2), std::invalid_argument);
  // A factor distributed on another grid object.
  {
    ProcessGrid other(MPI_COMM_WORLD, svr::near_square_shape(size));
    DistributedMatrix M(other, 12, 5, 2);
    FactorPlacement elsewhere = U.placement;
    elsewhere.distributed = &M;
    EXPECT_THROW(call(elsewhere, V.placement, 4, 3, 2, 0, 2), std::invalid_argument);
  }
  // Arguments that differ between ranks.
  if (size > 1) {
    EXPECT_THROW(call(U.placement, V.placement, 4, 3, 2, world_rank() == 0 ? 0 : 1, 2),
                 std::invalid_argument);
  }
  // The grid still works afterwards.
  const Eigen::MatrixXd E = call(U.placement, V.placement, 4, 3, 2, size - 1, 2);
  if (world_rank() == size - 1) {
    const Eigen::MatrixXd ref =
        svr::edge_weights(random_matrix(12, 5, 1), random_matrix(8, 6, 2), 4, 3, 2);
    EXPECT_LE((E - ref).cwiseAbs().maxCoeff(), kTol * ref.cwiseAbs().maxCoeff());
  }
}

// ---- Factors on teams: sub-grids of the world grid that computes E ----

namespace {

// A team: world ranks [first_rank, first_rank + shape.size()), grid rank = world rank - first.
struct Team {
  int first_rank;
  svr::GridShape shape;
  bool contains(int rank) const { return rank >= first_rank && rank < first_rank + shape.size(); }
};

std::string team_name(const Team& t) {
  return svr_test::shape_name(t.shape) + "@" + std::to_string(t.first_rank);
}

// Where a factor is: on a team (set) or whole on `owner`.
struct Where {
  std::optional<Team> team;
  int owner = -1;
};

std::string where_name(const Where& w) {
  return w.team ? "team " + team_name(*w.team) : "whole on " + std::to_string(w.owner);
}

// A factor on `team` (this rank's team grid `mine` when the rank is in it): the matrix exists on
// the team's ranks only, the layout on every rank.
void make_team_factor(Factor& f, const ProcessGrid& mine, const Team& team, std::int64_t rows,
                      std::int64_t total, std::int64_t used, std::uint64_t seed, std::int64_t nb) {
  f.placement = FactorPlacement{};
  f.placement.rows = rows;
  f.placement.cols = used;
  f.placement.subgrid = svr::SubgridLayout{team.shape, team.first_rank, nb, rows, total};
  if (team.contains(world_rank())) {
    f.distributed = std::make_unique<DistributedMatrix>(mine, rows, total, nb);
    f.distributed->fill(
        [seed](std::int64_t i, std::int64_t j) { return random_entry(i, j, seed); });
    f.placement.distributed = f.distributed.get();
  }
}

int world_sum(int value) {
  int sum = 0;
  MPI_Allreduce(&value, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return sum;
}

// One pair with U and V placed as given (teams equal or disjoint), E on the world grid with
// block nb, the teams' factors with block factor_nb; checked on dest against edge_weights, and
// the failure reported on every rank (so rank 0 shows it).
void run_team_case(const ProcessGrid& world, const Pair& p, const Where& u, const Where& v,
                   std::int64_t nb, std::int64_t factor_nb, int dest) {
  const std::string what = std::string(p.name) + " U " + where_name(u) + ", V " + where_name(v) +
                           " nb=" + std::to_string(nb) + " factor nb=" + std::to_string(factor_nb) +
                           " dest=" + std::to_string(dest);
  // One colour call builds every team at once, as the driver does: colour 0 for U's team, 1 for
  // V's (a rank in both, when they are the same team, takes 0).
  const int me = world_rank();
  const int color = u.team && u.team->contains(me) ? 0 : v.team && v.team->contains(me) ? 1 : -1;
  const svr::GridShape shape = color == 0   ? u.team->shape
                               : color == 1 ? v.team->shape
                                            : svr::GridShape{1, 1};
  ProcessGrid team(MPI_COMM_WORLD, color, shape);
  const std::uint64_t seed_u = 3000 + static_cast<std::uint64_t>(p.c),
                      seed_v = 4000 + static_cast<std::uint64_t>(p.c);
  Factor U, V;
  if (u.team)
    make_team_factor(U, team, *u.team, p.c * p.z_u, p.u_total, p.u_used, seed_u, factor_nb);
  else
    make_factor(U, world, p.c * p.z_u, p.u_total, p.u_used, seed_u, u.owner, factor_nb);
  if (v.team)
    make_team_factor(V, team, *v.team, p.c * p.z_v, p.v_total, p.v_used, seed_v, factor_nb);
  else
    make_factor(V, world, p.c * p.z_v, p.v_total, p.v_used, seed_v, v.owner, factor_nb);
  const Eigen::MatrixXd E =
      svr::distributed_edge_weights(world, U.placement, V.placement, p.c, p.z_u, p.z_v, dest, nb);
  int bad = 0;
  if (me == dest) {
    const Eigen::MatrixXd ref = reference(p, seed_u, seed_v);
    const double scale = ref.cwiseAbs().maxCoeff();
    if (E.rows() != p.v_used || E.cols() != p.u_used || !(scale > 0.0))
      bad = 1;
    else if (!((E - ref).cwiseAbs().maxCoeff() <= kTol * scale))
      bad = 1;
  } else if (E.size() != 0) {
    bad = 1;
  }
  EXPECT_EQ(world_sum(bad), 0) << what;
}

// Disjoint teams: the first a ranks and the remaining size - a, in 1xk and kx1 shapes; at one
// rank there is only the world itself (then both factors are on it).
std::vector<std::pair<Team, Team>> disjoint_teams() {
  const int size = world_size();
  std::vector<std::pair<Team, Team>> out;
  if (size == 1) out.push_back({{0, {1, 1}}, {0, {1, 1}}});
  const int a = size / 2, b = size - a;
  if (a >= 1) {
    out.push_back({{0, {1, a}}, {a, {b, 1}}});
    if (a > 1 || b > 1) out.push_back({{0, {a, 1}}, {a, {1, b}}});
  }
  return out;
}

}  // namespace

TEST(DistributedEdgesTeams, FactorsOnDisjointTeams) {
  const int size = world_size();
  ProcessGrid world(MPI_COMM_WORLD, svr::near_square_shape(size), 0);
  int counter = 0;
  for (const auto& [A, B] : disjoint_teams()) {
    for (const std::int64_t nb : {1, 3, 64}) {
      for (const Pair& p : kPairs) {
        const int dest = (counter++) % size;
        // U on A and V on B, then the other way round; the factor block differs from E's.
        run_team_case(world, p, {A, -1}, {B, -1}, nb, nb, dest);
        run_team_case(world, p, {B, -1}, {A, -1}, nb, nb == 3 ? 2 : 3, dest);
      }
    }
  }
}

TEST(DistributedEdgesTeams, BothFactorsOnOneTeam) {
  const int size = world_size();
  ProcessGrid world(MPI_COMM_WORLD, svr::near_square_shape(size), 0);
  // The last size - 1 ranks (or the one rank), and the whole world as a team: a grid of the
  // same ranks but not `world` itself, so the factors must be copied, never used in place.
  std::vector<Team> teams{{size > 1 ? 1 : 0, svr::near_square_shape(std::max(1, size - 1))},
                          {0, svr::near_square_shape(size)}};
  if (size == 4) teams.push_back({0, {4, 1}});
  int counter = 0;
  for (const Team& t : teams)
    for (const std::int64_t nb : {1, 3, 64})
      for (const Pair& p : kPairs) {
        const int dest = (counter++) % size;
        run_team_case(world, p, {t, -1}, {t, -1}, nb, nb, dest);
      }
}

TEST(DistributedEdgesTeams, OneFactorWholeTheOtherOnATeam) {
  const int size = world_size();
  ProcessGrid world(MPI_COMM_WORLD, svr::near_square_shape(size), 0);
  // A team of the last ranks and a whole factor on rank 0 (outside the team when size > 1), or
  // on a rank of the team.
  const int k = std::max(1, size - 1);
  const Team last{size - k, {k, 1}};
  int counter = 0;
  for (const int owner : {0, size - 1})
    for (const std::int64_t nb : {1, 3, 64})
      for (const Pair& p : kPairs) {
        const int dest = (counter++) % size;
        run_team_case(world, p, {last, -1}, {std::nullopt, owner}, nb, 2, dest);
        run_team_case(world, p, {std::nullopt, owner}, {last, -1}, nb, 64, dest);
      }
}

TEST(DistributedEdgesTeams, LargerThanOneBlockPerProcess) {
  const Pair big{"big", 37, 2, 3, 41, 39, 45, 43};
  const Pair dense{"big dense", 41, 1, 1, 41, 40, 45, 45};
  const int size = world_size();
  ProcessGrid world(MPI_COMM_WORLD, svr::near_square_shape(size), 0);
  for (const auto& [A, B] : disjoint_teams())
    for (const Pair& p : {big, dense}) {
      run_team_case(world, p, {A, -1}, {B, -1}, 3, 4, size - 1);
      run_team_case(world, p, {B, -1}, {A, -1}, 64, 3, 0);
    }
}

TEST(DistributedEdgesTeams, BadTeamPlacementsThrowOnEveryRank) {
  const int size = world_size();
  ProcessGrid world(MPI_COMM_WORLD, svr::near_square_shape(size), 0);
  // U on the team of the last rank (c = 4, z_u = 3), V whole on rank 0 (z_v = 2).
  const Team last{size - 1, {1, 1}};
  ProcessGrid team(MPI_COMM_WORLD, last.contains(world_rank()) ? 0 : -1, last.shape);
  Factor U, V;
  make_team_factor(U, team, last, 12, 5, 5, 1, 2);
  make_factor(V, world, 8, 6, 6, 2, 0, 2);
  auto call = [&](const FactorPlacement& u) {
    return svr::distributed_edge_weights(world, u, V.placement, 4, 3, 2, 0, 2);
  };
  EXPECT_NO_THROW(call(U.placement));
  auto with_layout = [&](svr::SubgridLayout l) {
    FactorPlacement f = U.placement;
    f.subgrid = l;
    return f;
  };
  const svr::SubgridLayout good = *U.placement.subgrid;
  // The team's range is not inside the world grid.
  EXPECT_THROW(call(with_layout({{1, 2}, size - 1, 2, 12, 5})), std::invalid_argument);
  EXPECT_THROW(call(with_layout({{1, 1}, size, 2, 12, 5})), std::invalid_argument);
  // The layout does not describe the matrix (checked where the matrix is, then agreed), or
  // does not fit the placement (rows != c z_u, fewer columns than used).
  EXPECT_THROW(call(with_layout({{1, 1}, size - 1, 3, 12, 5})), std::invalid_argument);
  EXPECT_THROW(call(with_layout({{1, 1}, size - 1, 2, 12, 4})), std::invalid_argument);
  EXPECT_THROW(call(with_layout({{1, 1}, size - 1, 2, 8, 5})), std::invalid_argument);
  // No matrix on the team's rank.
  FactorPlacement missing = U.placement;
  missing.distributed = nullptr;
  EXPECT_THROW(call(missing), std::invalid_argument);
  // Both on a team and whole.
  FactorPlacement both = U.placement;
  both.owner = 0;
  EXPECT_THROW(call(both), std::invalid_argument);
  if (size > 1) {
    // A range that does not match the team: rank 0 has no matrix, the team's rank is outside.
    EXPECT_THROW(call(with_layout({{1, 1}, 0, 2, 12, 5})), std::invalid_argument);
    // A layout that differs between ranks.
    EXPECT_THROW(call(with_layout({{1, 1}, size - 1, world_rank() == 0 ? 3 : 2, 12, 5})),
                 std::invalid_argument);
  }
  // Still works afterwards.
  const Eigen::MatrixXd E = call(with_layout(good));
  int bad = 0;
  if (world_rank() == 0) {
    const Eigen::MatrixXd ref =
        svr::edge_weights(random_matrix(12, 5, 1), random_matrix(8, 6, 2), 4, 3, 2);
    bad = (E - ref).cwiseAbs().maxCoeff() <= kTol * ref.cwiseAbs().maxCoeff() ? 0 : 1;
  }
  EXPECT_EQ(world_sum(bad), 0);
}
