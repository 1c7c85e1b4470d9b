// distributed_edge_weights with FactorPlacement::row_map (a slice of the producer's channels, a
// consumer read at an offset, a permutation, hwc positions) and with u_norm2 / u_row_group,
// against the serial computation: the rows selected by hand from the maps' definitions, then
// edge_weights; the norms summed by hand. Factors whole on one rank, on the grid of all ranks
// (in place or copied), on a team's sub-grid while E is on the grid of all ranks, and E on a
// team's own grid (as src/app/phase_edges.cpp does for a pair inside one team).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "mpi_test_support.hpp"
#include "svr/linalg/distributed_edge_weights.hpp"
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

// One pair of svr (z_u = 1): U has u_rows rows (the producer's channels), V has v_rows (the
// consumer's c_B z_v input features); E sums over the c channels of S; a map sends a factor's
// row to its row of U' (c rows) or V' (c z_v rows, channel-major a z_v + p), -1: unused; an empty
// map: the rows as they are. u_group: the group of each row of U' for the norms (empty: one).
struct MapCase {
  std::string name;
  std::int64_t c = 0, z_v = 1;
  std::int64_t u_rows = 0, v_rows = 0;
  std::vector<std::int64_t> u_map, v_map;
  std::int64_t u_total = 0, u_used = 0, v_total = 0, v_used = 0;
  std::vector<int> u_group;
};

// The consumer's rows -> V' rows for a consumer of c_B channels and z positions that reads the
// c channels of S at consumer channels target[a] (a = 0..c-1), flattened chw or hwc.
std::vector<std::int64_t> consumer_map(std::int64_t c_B, std::int64_t z,
                                       const std::vector<std::int64_t>& target, bool hwc) {
  std::vector<std::int64_t> source(static_cast<std::size_t>(c_B), -1);
  for (std::size_t a = 0; a < target.size(); ++a)
    source[static_cast<std::size_t>(target[a])] = static_cast<std::int64_t>(a);
  std::vector<std::int64_t> map;
  for (std::int64_t row = 0; row < c_B * z; ++row) {
    const std::int64_t b = hwc ? row % c_B : row / z, p = hwc ? row / c_B : row % z;
    const std::int64_t a = source[static_cast<std::size_t>(b)];
    map.push_back(a < 0 ? -1 : a * z + p);
  }
  return map;
}

// The producer's rows -> U' rows for a slice [first, first + count) of c_A channels.
std::vector<std::int64_t> slice_map(std::int64_t c_A, std::int64_t first, std::int64_t count) {
  std::vector<std::int64_t> map;
  for (std::int64_t a = 0; a < c_A; ++a) map.push_back(a >= first && a < first + count ? a - first : -1);
  return map;
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t count) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(count));
  std::iota(out.begin(), out.end(), first);
  return out;
}

std::vector<MapCase> map_cases() {
  std::vector<MapCase> cases;
  {  // split: channels 3..7 of a 9-channel producer into a 5-channel conv, z = 4
    MapCase m;
    m.name = "slice";
    m.c = 5;
    m.z_v = 4;
    m.u_rows = 9;
    m.v_rows = 20;
    m.u_map = slice_map(9, 3, 5);
    m.u_total = 9, m.u_used = 8, m.v_total = 11, m.v_used = 10;
    cases.push_back(m);
  }
  {  // concat: a 4-channel producer at offset 3 of a 10-channel conv, z = 3
    MapCase m;
    m.name = "offset";
    m.c = 4;
    m.z_v = 3;
    m.u_rows = 4;
    m.v_rows = 30;
    m.v_map = consumer_map(10, 3, range(3, 4), false);
    m.u_total = 4, m.u_used = 4, m.v_total = 12, m.v_used = 9;
    cases.push_back(m);
  }
  {  // permute: channels 1..6 of a 7-channel producer shuffled into a 6-channel conv, z = 2
    MapCase m;
    m.name = "permutation";
    m.c = 6;
    m.z_v = 2;
    m.u_rows = 7;
    m.v_rows = 12;
    m.u_map = slice_map(7, 1, 6);
    m.v_map = consumer_map(6, 2, {4, 0, 5, 2, 1, 3}, false);
    m.u_total = 7, m.u_used = 7, m.v_total = 12, m.v_used = 12;
    cases.push_back(m);
  }
  {  // hwc: a 5-channel conv flattened channels-last into a linear layer, z = 6
    MapCase m;
    m.name = "hwc";
    m.c = 5;
    m.z_v = 6;
    m.u_rows = 5;
    m.v_rows = 30;
    m.v_map = consumer_map(5, 6, range(0, 5), true);
    m.u_total = 5, m.u_used = 5, m.v_total = 7, m.v_used = 7;
    cases.push_back(m);
  }
  {  // concat at an offset and hwc: 3 channels at offset 2 of 8, z = 4, slice of the producer
    MapCase m;
    m.name = "offset+hwc+slice";
    m.c = 3;
    m.z_v = 4;
    m.u_rows = 6;
    m.v_rows = 32;
    m.u_map = slice_map(6, 2, 3);
    m.v_map = consumer_map(8, 4, range(2, 3), true);
    m.u_total = 6, m.u_used = 5, m.v_total = 9, m.v_used = 6;
    cases.push_back(m);
  }
  // Groups of the rows of U' for the norms: a grouped consumer (offset case: consumer channels
  // 3..6 of 10 in 5 groups of 2 -> groups 1, 2, 2, 3), and a permutation into 3 groups of 2.
  cases[1].u_group = {1, 2, 2, 3};
  cases[2].u_group = {2, 0, 2, 1, 0, 1};  // target / 2 for targets 4, 0, 5, 2, 1, 3
  return cases;
}

Eigen::MatrixXd select_rows(const Eigen::MatrixXd& m, const std::vector<std::int64_t>& map,
                            std::int64_t rows) {
  if (map.empty()) return m;
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(rows, m.cols());
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    if (map[static_cast<std::size_t>(i)] >= 0) out.row(map[static_cast<std::size_t>(i)]) = m.row(i);
  return out;
}

struct Reference {
  Eigen::MatrixXd E, norm2;
};

Reference reference(const MapCase& m, std::uint64_t seed_u, std::uint64_t seed_v) {
  const Eigen::MatrixXd U = select_rows(random_matrix(m.u_rows, m.u_total, seed_u), m.u_map, m.c)
                                .leftCols(m.u_used);
  const Eigen::MatrixXd V =
      select_rows(random_matrix(m.v_rows, m.v_total, seed_v), m.v_map, m.c * m.z_v)
          .leftCols(m.v_used);
  Reference ref;
  ref.E = svr::edge_weights(U, V, m.c, 1, m.z_v);
  int groups = 1;
  for (int g : m.u_group) groups = std::max(groups, g + 1);
  ref.norm2 = Eigen::MatrixXd::Zero(groups, m.u_used);
  for (Eigen::Index a = 0; a < U.rows(); ++a)
    for (Eigen::Index i = 0; i < U.cols(); ++i)
      ref.norm2(m.u_group.empty() ? 0 : m.u_group[static_cast<std::size_t>(a)], i) += U(a, i) * U(a, i);
  return ref;
}

svr::IndexMap index_map(const std::vector<std::int64_t>& table) {
  if (table.empty()) return {};
  return [table](std::int64_t row) { return table[static_cast<std::size_t>(row)]; };
}

struct Factor {
  Eigen::MatrixXd whole;
  std::unique_ptr<DistributedMatrix> distributed;
  FactorPlacement placement;
};

// Whole on `owner` (>= 0), or distributed on `grid` with block nb; with the row map.
void make_factor(Factor& f, const ProcessGrid& grid, std::int64_t rows, std::int64_t total,
                 std::int64_t used, std::uint64_t seed, int owner, std::int64_t nb,
                 const std::vector<std::int64_t>& map) {
  f.placement = FactorPlacement{};
  f.placement.rows = rows;
  f.placement.cols = used;
  f.placement.row_map = index_map(map);
  if (owner >= 0) {
    f.placement.owner = owner;
    if (grid.rank() == owner) {
      f.whole = random_matrix(rows, total, seed);
      f.placement.whole = &f.whole;
    }
  } else {
    f.distributed = std::make_unique<DistributedMatrix>(grid, rows, total, nb);
    f.distributed->fill([seed](std::int64_t i, std::int64_t j) { return random_entry(i, j, seed); });
    f.placement.distributed = f.distributed.get();
  }
}

int world_sum(int value) {
  int sum = 0;
  MPI_Allreduce(&value, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return sum;
}

// Checks E and the norms on dest (0x0 elsewhere); returns 1 on a mismatch (0 on other ranks).
int check(const Eigen::MatrixXd& E, const Eigen::MatrixXd& norm2, bool norms, bool is_dest,
          const Reference& ref, const std::string& what) {
  if (!is_dest) {
    const bool empty = E.size() == 0 && (!norms || norm2.size() == 0);
    EXPECT_TRUE(empty) << what;
    return empty ? 0 : 1;
  }
  int bad = 0;
  const double scale = ref.E.cwiseAbs().maxCoeff();
  if (E.rows() != ref.E.rows() || E.cols() != ref.E.cols() || !(scale > 0.0) ||
      !((E - ref.E).cwiseAbs().maxCoeff() <= kTol * scale))
    bad = 1;
  EXPECT_EQ(bad, 0) << what << ": E";
  if (norms) {
    const bool ok = norm2.rows() == ref.norm2.rows() && norm2.cols() == ref.norm2.cols() &&
                    (norm2 - ref.norm2).cwiseAbs().maxCoeff() <= kTol * ref.norm2.cwiseAbs().maxCoeff();
    EXPECT_TRUE(ok) << what << ": norms\n" << norm2 << "\nexpected\n" << ref.norm2;
    bad += ok ? 0 : 1;
  }
  return bad;
}

enum Where { kWhole, kDistributed };

}  // namespace

TEST(DistributedEdgesMaps, MatchesSelectedRowsForEveryPlacementBlockAndGrid) {
  const int size = world_size();
  int counter = 0, bad = 0, column_cases = 0;
  for (const svr::GridShape shape : svr_test::world_shapes()) {
    ProcessGrid grid(MPI_COMM_WORLD, shape);
    for (const std::int64_t nb : {1, 2, 64}) {
      for (const MapCase& m : map_cases()) {
        for (const Where u_where : {kWhole, kDistributed}) {
          for (const Where v_where : {kWhole, kDistributed}) {
            for (const bool norms : {false, true}) {
              // Both methods: on a grid of one process row the automatic choice may take the
              // column method (a factor without a row map on the grid stays in place).
              const auto products = counter % 2 == 0 ? svr::EdgeProducts::automatic
                                                     : svr::EdgeProducts::grid_products;
              const int dest = (counter++) % size;
              const std::string what = svr_test::shape_name(shape) + " nb=" + std::to_string(nb) +
                                       " " + m.name + (u_where == kWhole ? " U whole" : " U grid") +
                                       (v_where == kWhole ? " V whole" : " V grid") +
                                       (norms ? " norms" : "") +
                                       (counter % 2 == 1 ? " automatic" : " grid products") +
                                       " dest=" + std::to_string(dest);
              const std::uint64_t seed_u = 5000 + static_cast<std::uint64_t>(counter),
                                  seed_v = 6000 + static_cast<std::uint64_t>(counter);
              Factor U, V;
              make_factor(U, grid, m.u_rows, m.u_total, m.u_used, seed_u,
                          u_where == kWhole ? size - 1 : -1, nb, m.u_map);
              make_factor(V, grid, m.v_rows, m.v_total, m.v_used, seed_v,
                          v_where == kWhole ? 0 : -1, nb, m.v_map);
              Eigen::MatrixXd norm2;
              column_cases +=
                  svr::uses_column_method(grid, U.placement, V.placement, m.c, 1, m.z_v, products);
              const Eigen::MatrixXd E =
                  svr::distributed_edge_weights(grid, U.placement, V.placement, m.c, 1, m.z_v, dest,
                                                nb, norms ? &norm2 : nullptr, m.u_group, products);
              bad += check(E, norm2, norms, world_rank() == dest, reference(m, seed_u, seed_v),
                           what);
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(world_sum(bad), 0);
  EXPECT_GT(column_cases, 0);  // every world has a grid of one process row (1 x P)
}

TEST(DistributedEdgesMaps, NormsWithoutARowMap) {
  // No map: the factor used in place when its block is E's (z_u = 1), or copied; the norms
  // summed by group over U's own rows, or over all of them without groups.
  const int size = world_size();
  ProcessGrid grid(MPI_COMM_WORLD, svr::near_square_shape(size));
  MapCase m;
  m.name = "identity";
  m.c = 8;
  m.z_v = 9;
  m.u_rows = 8;
  m.v_rows = 72;
  m.u_total = 8, m.u_used = 7, m.v_total = 10, m.v_used = 10;
  int bad = 0;
  for (const std::vector<int>& groups :
       {std::vector<int>{}, std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1}, std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}}) {
    m.u_group = groups;
    for (const std::int64_t factor_nb : {3, 2}) {  // E's block is 3: in place, then copied
      for (const Where u_where : {kWhole, kDistributed}) {
        const int dest = size - 1;
        const std::string what = "groups " + std::to_string(groups.size()) + " factor nb " +
                                 std::to_string(factor_nb) + (u_where == kWhole ? " whole" : " grid");
        Factor U, V;
        make_factor(U, grid, m.u_rows, m.u_total, m.u_used, 71, u_where == kWhole ? 0 : -1,
                    factor_nb, {});
        make_factor(V, grid, m.v_rows, m.v_total, m.v_used, 72, -1, factor_nb, {});
        Eigen::MatrixXd norm2;
        const Eigen::MatrixXd E = svr::distributed_edge_weights(
            grid, U.placement, V.placement, m.c, 1, m.z_v, dest, 3, &norm2, m.u_group);
        bad += check(E, norm2, true, world_rank() == dest, reference(m, 71, 72), what);
      }
    }
  }
  EXPECT_EQ(world_sum(bad), 0);
}

TEST(DistributedEdgesMaps, FactorsOnTeamsWhileEIsOnTheWorldGrid) {
  const int size = world_size();
  ProcessGrid world(MPI_COMM_WORLD, svr::near_square_shape(size), 0);
  // U on the first ranks, V on the others (or both on the one rank).
  const int a = std::max(1, size / 2);
  const int u_first = 0, v_first = size > 1 ? a : 0;
  const svr::GridShape u_shape{1, a}, v_shape{size > 1 ? size - a : 1, 1};
  const int me = world_rank();
  const bool in_u = me >= u_first && me < u_first + u_shape.size();
  const bool in_v = me >= v_first && me < v_first + v_shape.size();
  const int color = in_u ? 0 : in_v ? 1 : -1;
  ProcessGrid team(MPI_COMM_WORLD, color, color == 0 ? u_shape : color == 1 ? v_shape : svr::GridShape{1, 1});
  int counter = 0, bad = 0;
  for (const MapCase& m : map_cases()) {
    for (const std::int64_t nb : {1, 3, 64}) {
      for (const bool norms : {false, true}) {
        const int dest = (counter++) % size;
        const std::uint64_t seed_u = 7000 + static_cast<std::uint64_t>(counter),
                            seed_v = 8000 + static_cast<std::uint64_t>(counter);
        const std::int64_t factor_nb = nb == 3 ? 2 : 3;
        auto on_team = [&](Factor& f, bool mine, int first, svr::GridShape shape, std::int64_t rows,
                           std::int64_t total, std::int64_t used, std::uint64_t seed,
                           const std::vector<std::int64_t>& map) {
          f.placement = FactorPlacement{};
          f.placement.rows = rows;
          f.placement.cols = used;
          f.placement.row_map = index_map(map);
          f.placement.subgrid = svr::SubgridLayout{shape, first, factor_nb, rows, total};
          // One rank at one process: both factors on the same team grid.
          if (mine) {
            f.distributed = std::make_unique<DistributedMatrix>(team, rows, total, factor_nb);
            f.distributed->fill(
                [seed](std::int64_t i, std::int64_t j) { return random_entry(i, j, seed); });
            f.placement.distributed = f.distributed.get();
          }
        };
        Factor U, V;
        on_team(U, in_u, u_first, u_shape, m.u_rows, m.u_total, m.u_used, seed_u, m.u_map);
        on_team(V, size > 1 ? in_v : in_u, v_first, v_shape, m.v_rows, m.v_total, m.v_used, seed_v,
                m.v_map);
        Eigen::MatrixXd norm2;
        const Eigen::MatrixXd E = svr::distributed_edge_weights(
            world, U.placement, V.placement, m.c, 1, m.z_v, dest, nb, norms ? &norm2 : nullptr,
            m.u_group);
        bad += check(E, norm2, norms, me == dest, reference(m, seed_u, seed_v),
                     m.name + " teams nb=" + std::to_string(nb) + (norms ? " norms" : "") +
                         " dest=" + std::to_string(dest));
      }
    }
  }
  EXPECT_EQ(world_sum(bad), 0);
}

TEST(DistributedEdgesMaps, EOnATeamsOwnGrid) {
  // Both factors on one team (the last ranks), E computed on that team's grid, as for a pair
  // whose two layers were factored by the same team; the other ranks get 0x0 at once.
  const int size = world_size();
  const int k = size > 2 ? size - 1 : size;
  const int first = size - k;
  const int me = world_rank();
  const bool mine = me >= first;
  ProcessGrid team(MPI_COMM_WORLD, mine ? 0 : -1, svr::near_square_shape(k));
  int counter = 0, bad = 0;
  for (const MapCase& m : map_cases()) {
    for (const std::int64_t nb : {2, 64}) {
      for (const Where u_where : {kWhole, kDistributed}) {
        for (const bool norms : {false, true}) {
          const int dest = (counter++) % k;  // a team grid rank
          const std::uint64_t seed_u = 9000 + static_cast<std::uint64_t>(counter),
                              seed_v = 9500 + static_cast<std::uint64_t>(counter);
          Factor U, V;
          Eigen::MatrixXd norm2, E;
          if (mine) {
            make_factor(U, team, m.u_rows, m.u_total, m.u_used, seed_u,
                        u_where == kWhole ? k - 1 : -1, nb, m.u_map);
            make_factor(V, team, m.v_rows, m.v_total, m.v_used, seed_v, -1, nb, m.v_map);
          }
          E = svr::distributed_edge_weights(team, U.placement, V.placement, m.c, 1, m.z_v, dest,
                                            nb, norms ? &norm2 : nullptr, m.u_group);
          bad += check(E, norm2, norms, mine && team.rank() == dest, reference(m, seed_u, seed_v),
                       m.name + " team grid nb=" + std::to_string(nb) +
                           (u_where == kWhole ? " U whole" : " U grid") + (norms ? " norms" : "") +
                           " dest=" + std::to_string(dest));
        }
      }
    }
  }
  EXPECT_EQ(world_sum(bad), 0);
}
