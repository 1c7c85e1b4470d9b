// Edge weights of one layer pair on a ScaLAPACK grid (spec section 3; serial: stats/edges.cpp).
//
// Both factors are first brought onto the grid in position-major row order, U'(p c + a, i) =
// U(a z_u + p, i) and V'(q c + a, j) = V(a z_v + q, j), by one redistribute() each (which also
// drops the unused trailing columns and handles a factor held whole by one rank or on a team's
// sub-grid). The c rows of a position are then a contiguous row block, so the product of
// positions p and q is a single pdgemm on submatrices: T = V'(q c : q c + c, :)^T
// U'(p c : p c + c, :), r_to x r_from, and E accumulates T squared entry by entry. T and E share
// one distribution, so the accumulation is local. Finally E goes to `dest` by redistribute() as
// well: only dest ever holds all of E, and no rank ever holds a whole factor that arrived
// distributed.
#include "svr/linalg/distributed_edge_weights.hpp"

#include <mpi.h>

#include <algorithm>
#include <array>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>

#include "column_edge_weights.hpp"
#include "svr/core/error.hpp"
#include "svr/linalg/lapack.hpp"
#include "svr/linalg/redistribute.hpp"
#include "svr/linalg/scalapack.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {
namespace {

constexpr int kPlacementFields = 12;

// Everything about a placement that must be the same on every rank. A sub-grid factor is
// described by its layout alone: its matrix exists on the team's ranks only.
std::array<std::int64_t, kPlacementFields> placement_fields(const ProcessGrid& grid,
                                                            const FactorPlacement& f) {
  if (const auto& l = f.subgrid)
    return {2,
            f.owner,
            f.rows,
            f.cols,
            l->rows,
            l->cols,
            -1,  // -1: no grid object to compare
            l->shape.rows,
            l->shape.cols,
            l->first_rank,
            l->block,
            f.row_map ? 1 : 0};
  const DistributedMatrix* d = f.distributed;
  return {d != nullptr ? 1 : 0,
          f.owner,
          f.rows,
          f.cols,
          d != nullptr ? d->rows() : -1,
          d != nullptr ? d->cols() : -1,
          d != nullptr ? (&d->grid() == &grid ? 1 : 0) : -1,
          0,
          0,
          0,
          0,
          f.row_map ? 1 : 0};
}

// A problem with one factor that every rank sees alike (its fields were checked to be equal).
std::string placement_problem(const FactorPlacement& f, const ProcessGrid& grid, const char* name,
                              std::int64_t c, std::int64_t z, int grid_size) {
  const std::string what = std::string("distributed_edge_weights: ") + name + " ";
  if (f.subgrid && f.owner != -1)
    return what + "is both on a sub-grid and whole on grid rank " + std::to_string(f.owner);
  if (!f.subgrid && f.distributed != nullptr && f.owner != -1)
    return what + "is both distributed and whole on grid rank " + std::to_string(f.owner);
  if (!f.subgrid && f.distributed == nullptr && (f.owner < 0 || f.owner >= grid_size))
    return what + "is neither distributed nor whole on a grid rank (owner " +
           std::to_string(f.owner) + " of a " + std::to_string(grid_size) + "-process grid)";
  if (!f.row_map && f.rows != c * z)
    return what + "has " + std::to_string(f.rows) + " rows; c * z = " + std::to_string(c) + " * " +
           std::to_string(z) + " = " + std::to_string(c * z) + " expected";
  if (f.cols < 0) return what + "uses a negative number of columns " + std::to_string(f.cols);
  if (const auto& l = f.subgrid) {
    // Its matrix is checked against the layout on every rank (owner_problem).
    if (l->shape.rows < 1 || l->shape.cols < 1 || l->first_rank < 0 ||
        static_cast<std::int64_t>(l->first_rank) + l->shape.size() > grid_size)
      return what + "sub-grid " + std::to_string(l->shape.rows) + "x" +
             std::to_string(l->shape.cols) + " from grid rank " + std::to_string(l->first_rank) +
             " is not inside the " + std::to_string(grid_size) + "-process grid";
    if (l->block < 1)
      return what + "sub-grid block size " + std::to_string(l->block) + " must be positive";
    if (l->rows != f.rows || l->cols < f.cols)
      return what + "sub-grid matrix is " + std::to_string(l->rows) + "x" +
             std::to_string(l->cols) + "; " + std::to_string(f.rows) + " rows and at least " +
             std::to_string(f.cols) + " columns expected";
  } else if (const DistributedMatrix* d = f.distributed) {
    if (&d->grid() != &grid) return what + "is distributed on another grid";
    if (d->rows() != f.rows || d->cols() < f.cols)
      return what + "matrix is " + std::to_string(d->rows()) + "x" + std::to_string(d->cols()) +
             "; " + std::to_string(f.rows) + " rows and at least " + std::to_string(f.cols) +
             " columns expected";
  }
  return "";
}

// The whole factor can only be checked on its owner, a sub-grid factor's matrix on each rank;
// the result is agreed by the caller.
std::string owner_problem(const FactorPlacement& f, const ProcessGrid& grid, const char* name) {
  const std::string what = std::string("distributed_edge_weights: ") + name + " ";
  if (f.subgrid) {
    const std::string problem = subgrid_problem(grid, *f.subgrid, f.distributed);
    return problem.empty() ? "" : what + problem;
  }
  if (f.distributed != nullptr || f.owner != grid.rank()) return "";
  if (f.whole == nullptr)
    return what + "has no matrix on its owner, grid rank " + std::to_string(f.owner);
  if (f.whole->rows() != f.rows || f.whole->cols() < f.cols)
    return what + "matrix is " + std::to_string(f.whole->rows()) + "x" +
           std::to_string(f.whole->cols()) + "; " + std::to_string(f.rows) + " rows and at least " +
           std::to_string(f.cols) + " columns expected";
  return "";
}

// Throws std::invalid_argument on every rank alike, or returns.
void validate(const ProcessGrid& grid, const FactorPlacement& U, const FactorPlacement& V,
              std::int64_t c, std::int64_t z_u, std::int64_t z_v, int dest, std::int64_t block) {
  const MPI_Comm comm = grid.comm();
  const int size = grid.shape().size();
  // The scalar arguments first: if ranks disagree they would plan different collectives.
  constexpr int n = 5 + 2 * kPlacementFields;
  std::array<std::int64_t, n> mine{c, z_u, z_v, dest, block};
  const auto u = placement_fields(grid, U);
  const auto v = placement_fields(grid, V);
  std::copy(u.begin(), u.end(), mine.begin() + 5);
  std::copy(v.begin(), v.end(), mine.begin() + 5 + kPlacementFields);
  std::array<std::int64_t, 2 * n> local{}, global{};
  for (int k = 0; k < n; ++k) {
    local[static_cast<std::size_t>(k)] = mine[static_cast<std::size_t>(k)];
    local[static_cast<std::size_t>(n + k)] = -mine[static_cast<std::size_t>(k)];
  }
  mpi::check(MPI_Allreduce(local.data(), global.data(), 2 * n, MPI_INT64_T, MPI_MIN, comm),
             "MPI_Allreduce");
  for (int k = 0; k < n; ++k)
    if (global[static_cast<std::size_t>(k)] != -global[static_cast<std::size_t>(n + k)])
      throw std::invalid_argument(
          "distributed_edge_weights: the ranks of the grid pass different arguments");

  const std::string shape = " (c = " + std::to_string(c) + ", z_u = " + std::to_string(z_u) +
                            ", z_v = " + std::to_string(z_v) + ")";
  if (c < 1 || z_u < 1 || z_v < 1)
    throw std::invalid_argument("distributed_edge_weights: c, z_u and z_v must be positive" +
                                shape);
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  if (c > max / z_u || c > max / z_v)
    throw std::invalid_argument("distributed_edge_weights: c * z overflows" + shape);
  if (dest < 0 || dest >= size)
    throw std::invalid_argument("distributed_edge_weights: dest " + std::to_string(dest) +
                                " is not a rank of the " + std::to_string(size) + "-process grid");
  if (block < 1)
    throw std::invalid_argument("distributed_edge_weights: block size " + std::to_string(block) +
                                " must be positive");
  for (const std::string& problem : {placement_problem(U, grid, "U_from", c, z_u, size),
                                     placement_problem(V, grid, "V_to", c, z_v, size)})
    if (!problem.empty()) throw std::invalid_argument(problem + shape);

  mpi::agreed(comm, [&] {
    std::string problem = owner_problem(U, grid, "U_from");
    if (problem.empty()) problem = owner_problem(V, grid, "V_to");
    if (!problem.empty()) throw std::invalid_argument(problem + shape);
  });
}

// Whether a factor can take part as it is: a dense factor already on the grid itself with the
// requested block (pdgemm takes its leading columns as a submatrix). Otherwise it is copied; a
// sub-grid factor always is, and the test depends on agreed fields only, so every rank decides
// alike (`distributed` is set on some ranks only for a sub-grid factor).
bool usable_in_place(const FactorPlacement& f, std::int64_t z, std::int64_t block) {
  return !f.subgrid && !f.row_map && f.distributed != nullptr && z == 1 &&
         f.distributed->block() == block;
}

// The factor's rows and used columns as a redistribution source.
RedistributionSource source_of(const FactorPlacement& f) {
  return f.subgrid ? RedistributionSource::on_subgrid(f.distributed, *f.subgrid, f.rows, f.cols)
         : f.distributed != nullptr ? RedistributionSource::of(*f.distributed, f.rows, f.cols)
                                    : RedistributionSource::whole(f.whole, f.owner, f.rows, f.cols);
}

// Fills `target` (c z x f.cols on the grid) with the factor in position-major row order:
// target row p c + a = factor row a z + p (after f.row_map), only the leading f.cols columns.
void arrange_position_major(const ProcessGrid& grid, const FactorPlacement& f, std::int64_t c,
                            std::int64_t z, DistributedMatrix& target) {
  const RedistributionSource source = source_of(f);
  IndexMap rows;  // identity for z = 1 without a map
  if (f.row_map) {
    rows = [c, z, map = f.row_map](std::int64_t i) {
      const std::int64_t r = map(i);
      return r < 0 ? std::int64_t{-1} : (r % z) * c + r / z;
    };
  } else if (z > 1) {
    rows = [c, z](std::int64_t i) { return (i % z) * c + i / z; };
  }
  redistribute(grid, source, RedistributionTarget::of(target), rows);
}

// Squared norms of the leading `cols` columns of `m`, summed over the rows of each group
// (row_group[i] for global row i; empty: one group), on grid rank `dest` as groups x cols
// (collective over the grid; 0x0 elsewhere): each rank sums its own entries, one reduce.
Eigen::MatrixXd column_squared_norms(const DistributedMatrix& m, std::int64_t cols,
                                     const std::vector<int>& row_group, int dest) {
  int groups = 1;
  for (int g : row_group) groups = std::max(groups, g + 1);
  Eigen::MatrixXd mine = Eigen::MatrixXd::Zero(groups, cols), all = mine;
  for (std::int64_t lj = 0; lj < m.local_cols(); ++lj) {
    const std::int64_t j = m.global_col(lj);
    if (j >= cols) continue;
    for (std::int64_t li = 0; li < m.local_rows(); ++li) {
      const std::int64_t i = m.global_row(li);
      const int g = row_group.empty() ? 0 : row_group[static_cast<std::size_t>(i)];
      mine(g, j) += m.local(li, lj) * m.local(li, lj);
    }
  }
  mpi::check(MPI_Reduce(mine.data(), all.data(), static_cast<int>(mine.size()), MPI_DOUBLE,
                        MPI_SUM, dest, m.grid().comm()),
             "MPI_Reduce");
  return m.grid().rank() == dest ? all : Eigen::MatrixXd(0, 0);
}

// --- The column method -------------------------------------------------------------------

// Which factor stays where it is in the column method; none: the grid-products method.
enum class Stationary { none, u, v };

// A copy on every rank larger than this would cost more memory than the products save time.
constexpr double kCopyLimitBytes = 256.0 * 1024 * 1024;

// Decided from agreed fields only, so every rank chooses alike. The stationary factor must be
// dense on the grid itself (any block, no row map), and the grid must have one process row, so
// that each rank holds whole columns of it.
Stationary stationary_factor(const ProcessGrid& grid, const FactorPlacement& U,
                             const FactorPlacement& V, std::int64_t c, std::int64_t z_u,
                             std::int64_t z_v, EdgeProducts products) {
  if (products != EdgeProducts::automatic || grid.shape().rows != 1) return Stationary::none;
  const auto in_place = [](const FactorPlacement& f) {
    return !f.subgrid && !f.row_map && f.distributed != nullptr;
  };
  const double u_copy = column_edges::copy_bytes(c * z_u, U.cols, z_u);
  const double v_copy = column_edges::copy_bytes(c * z_v, V.cols, z_v);
  const bool u_stays = in_place(U) && v_copy <= kCopyLimitBytes;
  const bool v_stays = in_place(V) && u_copy <= kCopyLimitBytes;
  if (u_stays && v_stays) return v_copy <= u_copy ? Stationary::u : Stationary::v;
  return u_stays ? Stationary::u : v_stays ? Stationary::v : Stationary::none;
}

// The factor's c z used rows (after its row map, in their natural order) and its used columns
// on every rank. The owner of a whole factor without a row map lends its own matrix (its
// leading columns are contiguous: it has exactly c z rows); everyone else holds `copy`.
column_edges::View copy_to_every_rank(const ProcessGrid& grid, const FactorPlacement& f,
                                      std::int64_t rows, Eigen::MatrixXd& copy) {
  const bool lent = !f.subgrid && f.distributed == nullptr && !f.row_map;
  const bool lender = lent && grid.rank() == f.owner;
  mpi::agreed(grid.comm(), [&] {
    try {
      if (!lender) copy.resize(rows, f.cols);
    } catch (const std::bad_alloc&) {
      throw Error("distributed_edge_weights: out of memory for a copy of a " +
                  std::to_string(rows) + "x" + std::to_string(f.cols) + " factor on every rank");
    }
  });
  if (!lent)
    redistribute(grid, source_of(f),
                 RedistributionTarget::whole(grid.rank() == 0 ? &copy : nullptr, 0, rows, f.cols),
                 f.row_map);
  // MPI_Bcast only reads the root's buffer, so lending a const matrix is safe.
  double* data = lender ? const_cast<double*>(f.whole->data()) : copy.data();
  mpi::broadcast_in_pieces(data, rows * f.cols, lent ? f.owner : 0, grid.comm());
  return {data, rows, rows, f.cols};
}

// Squared column norms of a c x cols matrix held whole, summed over the rows of each group.
Eigen::MatrixXd grouped_column_norms(const column_edges::View& m,
                                     const std::vector<int>& row_group) {
  int groups = 1;
  for (int g : row_group) groups = std::max(groups, g + 1);
  Eigen::MatrixXd norm2 = Eigen::MatrixXd::Zero(groups, m.cols);
  for (std::int64_t j = 0; j < m.cols; ++j)
    for (std::int64_t i = 0; i < m.rows; ++i) {
      const double x = m.data[i + j * m.ld];
      norm2(row_group.empty() ? 0 : row_group[static_cast<std::size_t>(i)], j) += x * x;
    }
  return norm2;
}

// The column method (see the header): the stationary factor X stays in place, the other factor
// Y goes to every rank, and each rank computes the columns of E (X = U) or of E^T (X = V) that
// its columns of X give. No product crosses ranks; E is gathered to dest at the end.
Eigen::MatrixXd column_method(const ProcessGrid& grid, const FactorPlacement& U,
                              const FactorPlacement& V, std::int64_t c, std::int64_t z_u,
                              std::int64_t z_v, int dest, Stationary stays,
                              Eigen::MatrixXd* u_norm2, const std::vector<int>& u_row_group) {
  const bool u_stays = stays == Stationary::u;
  const FactorPlacement& X = u_stays ? U : V;
  const FactorPlacement& Y = u_stays ? V : U;
  const std::int64_t z_x = u_stays ? z_u : z_v, z_y = u_stays ? z_v : z_u;
  std::optional<DistributedMatrix> M;  // Y.cols x X.cols, laid out like X's columns
  mpi::agreed(grid.comm(), [&] {
    try {
      M.emplace(grid, Y.cols, X.cols, X.distributed->block());
    } catch (const std::bad_alloc&) {
      throw Error("distributed_edge_weights: out of memory for the " + std::to_string(V.cols) +
                  "x" + std::to_string(U.cols) + " pair");
    }
  });
  Eigen::MatrixXd copy;
  const column_edges::View y = copy_to_every_rank(grid, Y, c * z_y, copy);
  if (u_norm2 != nullptr) {
    if (u_stays)
      *u_norm2 = column_squared_norms(*U.distributed, U.cols, u_row_group, dest);
    else
      *u_norm2 = grid.rank() == dest ? grouped_column_norms(y, u_row_group) : Eigen::MatrixXd(0, 0);
  }
  mpi::agreed(grid.comm(), [&] { column_edges::accumulate(*X.distributed, z_x, y, z_y, c, *M); });
  copy = Eigen::MatrixXd();  // freed before E is gathered
  Eigen::MatrixXd out = gather_leading(*M, Y.cols, X.cols, dest);
  if (u_stays) return out;
  return out.transpose();
}

}  // namespace

bool uses_column_method(const ProcessGrid& grid, const FactorPlacement& U_from,
                        const FactorPlacement& V_to, std::int64_t c, std::int64_t z_u,
                        std::int64_t z_v, EdgeProducts products) {
  return stationary_factor(grid, U_from, V_to, c, z_u, z_v, products) != Stationary::none;
}

Eigen::MatrixXd distributed_edge_weights(const ProcessGrid& grid, const FactorPlacement& U_from,
                                         const FactorPlacement& V_to, std::int64_t c,
                                         std::int64_t z_u, std::int64_t z_v, int dest,
                                         std::int64_t block, Eigen::MatrixXd* u_norm2,
                                         const std::vector<int>& u_row_group,
                                         EdgeProducts products) {
  if (!grid.active()) return Eigen::MatrixXd(0, 0);
  validate(grid, U_from, V_to, c, z_u, z_v, dest, block);
  const std::int64_t r_from = U_from.cols;
  const std::int64_t r_to = V_to.cols;
  if (r_from == 0 || r_to == 0) {  // nothing to multiply; every rank takes this branch alike
    if (u_norm2 != nullptr) {
      int groups = 1;
      for (int g : u_row_group) groups = std::max(groups, g + 1);
      *u_norm2 = grid.rank() == dest ? Eigen::MatrixXd::Zero(groups, r_from) : Eigen::MatrixXd(0, 0);
    }
    return grid.rank() == dest ? Eigen::MatrixXd::Zero(r_to, r_from) : Eigen::MatrixXd(0, 0);
  }

  if (const Stationary stays = stationary_factor(grid, U_from, V_to, c, z_u, z_v, products);
      stays != Stationary::none)
    return column_method(grid, U_from, V_to, c, z_u, z_v, dest, stays, u_norm2, u_row_group);

  // Every distributed operand is allocated before the first collective, and a failure on any
  // rank (out of memory, a dimension beyond lapack_int) is agreed, so no rank is left waiting.
  std::optional<DistributedMatrix> u_copy, v_copy, E, T;
  mpi::agreed(grid.comm(), [&] {
    try {
      if (!usable_in_place(U_from, z_u, block)) u_copy.emplace(grid, c * z_u, r_from, block);
      if (!usable_in_place(V_to, z_v, block)) v_copy.emplace(grid, c * z_v, r_to, block);
      E.emplace(grid, r_to, r_from, block);
      T.emplace(grid, r_to, r_from, block);
    } catch (const std::bad_alloc&) {
      throw Error("distributed_edge_weights: out of memory for the " + std::to_string(r_to) +
                  "x" + std::to_string(r_from) + " pair");
    }
  });

  if (u_copy) arrange_position_major(grid, U_from, c, z_u, *u_copy);
  if (v_copy) arrange_position_major(grid, V_to, c, z_v, *v_copy);
  const DistributedMatrix& U = u_copy ? *u_copy : *U_from.distributed;
  const DistributedMatrix& V = v_copy ? *v_copy : *V_to.distributed;
  if (u_norm2 != nullptr) *u_norm2 = column_squared_norms(U, r_from, u_row_group, dest);

  const lapack_int m = to_lapack_int(r_to), n = to_lapack_int(r_from), k = to_lapack_int(c);
  // E and T have one descriptor, so their local arrays line up entry for entry.
  const std::int64_t local_size = E->local_rows() * E->local_cols();
  double* e = E->data();
  const double* t = T->data();
  for (std::int64_t p = 0; p < z_u; ++p) {
    for (std::int64_t q = 0; q < z_v; ++q) {
      // T = V'(q c : q c + c, :)^T U'(p c : p c + c, :); PBLAS offsets are 1-based.
      scalapack::pdgemm('T', 'N', m, n, k, 1.0, V.data(), to_lapack_int(q * c + 1), 1,
                        V.descriptor(), U.data(), to_lapack_int(p * c + 1), 1, U.descriptor(), 0.0,
                        T->data(), 1, 1, T->descriptor());
      for (std::int64_t x = 0; x < local_size; ++x) e[x] += t[x] * t[x];
    }
  }
  // Free the copies and T before E is gathered: dest's peak memory is its share plus all of E.
  u_copy.reset();
  v_copy.reset();
  T.reset();
  return gather_leading(*E, r_to, r_from, dest);
}

}  // namespace svr
