// MPI_Alltoallv moves any entry map between block-cyclic and whole placements on a grid, in
// rounds of whole source columns that bound the exchange buffers.
//
// Ordering contract (why no indices travel): the sender walks its local source entries by
// increasing global column, then increasing global row, and appends each kept entry to the
// buffer of its target rank. The receiver walks the source indices that land on its own target
// entries in the same (column, row) order and takes the next value from the buffer of the
// entry's source rank. Between one pair of ranks both walks visit the same set of entries in the
// same order, so value k of a message is entry k of the receiver's walk.
#include "svr/linalg/redistribute.hpp"

#include <mpi.h>

#include <algorithm>
#include <array>
#include <climits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "svr/core/error.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {

SubgridLayout subgrid_layout(const DistributedMatrix& m, int first_rank) {
  return {m.grid().shape(), first_rank, m.block(), m.rows(), m.cols()};
}

std::string subgrid_problem(const ProcessGrid& grid, const SubgridLayout& layout,
                            const DistributedMatrix* m) {
  const int me = grid.rank() - layout.first_rank;
  const bool inside = grid.active() && me >= 0 && me < layout.shape.size();
  const std::string where = "on grid rank " + std::to_string(grid.rank()) + ", ";
  if (!inside) {
    // A matrix on a team this rank is not part of is empty here; an active one means the
    // layout's range does not match the team.
    if (m != nullptr && m->grid().active())
      return "sub-grid matrix " + where + "outside the layout's ranks " +
             std::to_string(layout.first_rank) + ".." +
             std::to_string(layout.first_rank + layout.shape.size() - 1) + ", is on an active grid";
    return "";
  }
  if (m == nullptr) return "sub-grid matrix " + where + "inside its sub-grid, is missing";
  const ProcessGrid& g = m->grid();
  if (!g.active() || g.shape().rows != layout.shape.rows || g.shape().cols != layout.shape.cols ||
      g.rank() != me)
    return "sub-grid matrix " + where + "is on a grid " + std::to_string(g.shape().rows) + "x" +
           std::to_string(g.shape().cols) + " at rank " + std::to_string(g.rank()) +
           "; the layout says " + std::to_string(layout.shape.rows) + "x" +
           std::to_string(layout.shape.cols) + " at rank " + std::to_string(me);
  if (m->block() != layout.block || m->rows() != layout.rows || m->cols() != layout.cols)
    return "sub-grid matrix " + where + "is " + std::to_string(m->rows()) + "x" +
           std::to_string(m->cols()) + " with block " + std::to_string(m->block()) +
           "; the layout says " + std::to_string(layout.rows) + "x" + std::to_string(layout.cols) +
           " with block " + std::to_string(layout.block);
  return "";
}

RedistributionSource RedistributionSource::of(const DistributedMatrix& m) {
  return of(m, m.rows(), m.cols());
}

RedistributionSource RedistributionSource::of(const DistributedMatrix& m, std::int64_t rows,
                                              std::int64_t cols) {
  RedistributionSource s;
  s.distributed = &m;
  s.rows = rows;
  s.cols = cols;
  return s;
}

RedistributionSource RedistributionSource::whole(const Eigen::MatrixXd* m, int owner,
                                                 std::int64_t rows, std::int64_t cols) {
  RedistributionSource s;
  s.owner = owner;
  s.rows = rows;
  s.cols = cols;
  if (m != nullptr) {
    s.data = m->data();
    s.ld = m->rows();
    s.data_cols = m->cols();
  }
  return s;
}

RedistributionSource RedistributionSource::on_subgrid(const DistributedMatrix* m,
                                                      const SubgridLayout& layout,
                                                      std::int64_t rows, std::int64_t cols) {
  RedistributionSource s;
  s.distributed = m;
  s.subgrid = layout;
  s.rows = rows;
  s.cols = cols;
  return s;
}

RedistributionTarget RedistributionTarget::of(DistributedMatrix& m) {
  RedistributionTarget t;
  t.distributed = &m;
  t.rows = m.rows();
  t.cols = m.cols();
  return t;
}

RedistributionTarget RedistributionTarget::whole(Eigen::MatrixXd* m, int owner, std::int64_t rows,
                                                 std::int64_t cols) {
  RedistributionTarget t;
  t.owner = owner;
  t.rows = rows;
  t.cols = cols;
  if (m != nullptr) {
    t.data = m->data();
    t.ld = m->rows();
    t.data_cols = m->cols();
  }
  return t;
}

RedistributionTarget RedistributionTarget::on_subgrid(DistributedMatrix* m,
                                                      const SubgridLayout& layout) {
  RedistributionTarget t;
  t.distributed = m;
  t.subgrid = layout;
  t.rows = layout.rows;
  t.cols = layout.cols;
  return t;
}

namespace {

// One dimension of a placement: block-cyclic over `nprocs` process rows (or columns) with
// block `nb`; a whole matrix is the degenerate case of one process and one block, which lets
// the same code serve both placements. `me` is this rank's coordinate, -1 if it holds none.
struct Axis {
  std::int64_t n = 0;
  std::int64_t nb = 1;
  int nprocs = 1;
  int me = -1;

  int owner(std::int64_t i) const { return block_cyclic::owner(i, nb, nprocs); }
  std::int64_t local(std::int64_t i) const { return block_cyclic::global_to_local(i, nb, nprocs); }
  std::int64_t global(std::int64_t l) const {
    return block_cyclic::local_to_global(l, nb, me, nprocs);
  }
  std::int64_t local_count() const {
    return me < 0 ? 0 : block_cyclic::local_count(n, nb, me, nprocs);
  }
};

// Either side of a redistribution, reduced to its index maps and its local array.
struct Side {
  Axis rows, cols;
  int owner = -1;      // >= 0: whole on this grid rank
  int first_rank = 0;  // grid rank of process (r, c) is first_rank + r * grid_cols + c
  int grid_cols = 1;
  std::int64_t ld = 1;

  int rank_of(int prow, int pcol) const {
    return owner >= 0 ? owner : first_rank + prow * grid_cols + pcol;
  }
};

// What every rank must agree on before anything is exchanged.
struct Shape {
  std::int64_t kind = 0;  // 0 distributed on the grid, 1 whole, 2 on a sub-grid
  std::int64_t owner = -1;
  std::int64_t rows = 0, cols = 0;
  std::int64_t block = 0;
  std::int64_t matrix_rows = 0, matrix_cols = 0;            // of the DistributedMatrix (or layout)
  std::int64_t on_grid = 1;                                 // the DistributedMatrix is on `grid`
  std::int64_t sub_rows = 0, sub_cols = 0, first_rank = 0;  // the sub-grid

  static constexpr int kFields = 11;
  std::array<std::int64_t, kFields> fields() const {
    return {kind,        owner,   rows,     cols,     block,     matrix_rows,
            matrix_cols, on_grid, sub_rows, sub_cols, first_rank};
  }
};

template <typename Placement>
Shape shape_of(const ProcessGrid& grid, const Placement& p) {
  Shape s;
  s.rows = p.rows;
  s.cols = p.cols;
  if (p.subgrid) {
    // Only the layout: the matrix itself exists on the sub-grid's ranks alone.
    const SubgridLayout& l = *p.subgrid;
    s.kind = 2;
    s.block = l.block;
    s.matrix_rows = l.rows;
    s.matrix_cols = l.cols;
    s.sub_rows = l.shape.rows;
    s.sub_cols = l.shape.cols;
    s.first_rank = l.first_rank;
  } else if (p.distributed != nullptr) {
    s.block = p.distributed->block();
    s.matrix_rows = p.distributed->rows();
    s.matrix_cols = p.distributed->cols();
    s.on_grid = &p.distributed->grid() == &grid ? 1 : 0;
  } else {
    s.kind = 1;
    s.owner = p.owner;
  }
  return s;
}

// A problem with the shapes that every rank sees alike (they were checked to be equal).
std::string shape_problem(const Shape& s, int grid_size, const char* side) {
  const std::string what = std::string("redistribute: ") + side + " ";
  if (s.rows < 0 || s.cols < 0)
    return what + "has a negative shape " + std::to_string(s.rows) + "x" + std::to_string(s.cols);
  if (s.kind == 0) {
    if (s.on_grid == 0) return what + "matrix is not on the grid of the redistribution";
    if (s.rows > s.matrix_rows || s.cols > s.matrix_cols)
      return what + "block " + std::to_string(s.rows) + "x" + std::to_string(s.cols) +
             " exceeds the " + std::to_string(s.matrix_rows) + "x" + std::to_string(s.matrix_cols) +
             " distributed matrix";
  } else if (s.kind == 2) {
    if (s.sub_rows < 1 || s.sub_cols < 1 || s.first_rank < 0 ||
        s.first_rank + s.sub_rows * s.sub_cols > grid_size)
      return what + "sub-grid " + std::to_string(s.sub_rows) + "x" + std::to_string(s.sub_cols) +
             " from grid rank " + std::to_string(s.first_rank) + " is not inside the " +
             std::to_string(grid_size) + "-process grid";
    if (s.block < 1 || s.matrix_rows < 0 || s.matrix_cols < 0)
      return what + "sub-grid layout has block " + std::to_string(s.block) + " and shape " +
             std::to_string(s.matrix_rows) + "x" + std::to_string(s.matrix_cols);
    if (s.rows > s.matrix_rows || s.cols > s.matrix_cols)
      return what + "block " + std::to_string(s.rows) + "x" + std::to_string(s.cols) +
             " exceeds the " + std::to_string(s.matrix_rows) + "x" + std::to_string(s.matrix_cols) +
             " sub-grid matrix";
  } else if (s.owner < 0 || s.owner >= grid_size) {
    return what + "owner " + std::to_string(s.owner) + " is not a rank of the " +
           std::to_string(grid_size) + "-process grid";
  }
  return "";
}

template <typename Placement>
Side side_of(const ProcessGrid& grid, const Placement& p) {
  Side side;
  side.rows.n = p.rows;
  side.cols.n = p.cols;
  if (p.subgrid) {
    // This rank's coordinates on the sub-grid, from its rank in the redistribution grid.
    const SubgridLayout& l = *p.subgrid;
    const int s = grid.rank() - l.first_rank;
    const bool inside = s >= 0 && s < l.shape.size();
    side.rows = {p.rows, l.block, l.shape.rows, inside ? s / l.shape.cols : -1};
    side.cols = {p.cols, l.block, l.shape.cols, inside ? s % l.shape.cols : -1};
    side.first_rank = l.first_rank;
    side.grid_cols = l.shape.cols;
    side.ld = inside && p.distributed != nullptr ? p.distributed->local_ld() : 1;
  } else if (p.distributed != nullptr) {
    const GridShape shape = grid.shape();
    side.rows = {p.rows, p.distributed->block(), shape.rows, grid.my_row()};
    side.cols = {p.cols, p.distributed->block(), shape.cols, grid.my_col()};
    side.grid_cols = shape.cols;
    side.ld = p.distributed->local_ld();
  } else {
    const int mine = grid.rank() == p.owner ? 0 : -1;
    side.rows = {p.rows, std::max<std::int64_t>(1, p.rows), 1, mine};
    side.cols = {p.cols, std::max<std::int64_t>(1, p.cols), 1, mine};
    side.owner = p.owner;
    side.ld = p.ld;
  }
  return side;
}

// The owner's array must hold the block; checked where it is (the owner), agreed later.
template <typename Placement>
std::string local_problem(const ProcessGrid& grid, const Placement& p, const char* side) {
  if (p.subgrid) {
    const std::string problem = subgrid_problem(grid, *p.subgrid, p.distributed);
    return problem.empty() ? "" : std::string("redistribute: ") + side + " " + problem;
  }
  if (p.distributed != nullptr || grid.rank() != p.owner) return "";
  if (p.rows == 0 || p.cols == 0) return "";  // an empty array may have no storage at all
  if (p.data == nullptr)
    return std::string("redistribute: ") + side + " has no data on its owner, grid rank " +
           std::to_string(p.owner);
  if (p.ld < std::max<std::int64_t>(1, p.rows) || p.data_cols < p.cols)
    return std::string("redistribute: ") + side + " array (leading dimension " +
           std::to_string(p.ld) + ", " + std::to_string(p.data_cols) + " columns) cannot hold " +
           std::to_string(p.rows) + "x" + std::to_string(p.cols);
  return "";
}

// Applies a map with its range check; -1 means dropped.
std::int64_t mapped(const IndexMap& map, std::int64_t i, std::int64_t target_n,
                    const char* dimension) {
  const std::int64_t t = map ? map(i) : i;
  if (t < -1 || t >= target_n)
    throw std::invalid_argument(std::string("redistribute: ") + dimension + " map sends " +
                                std::to_string(i) + " to " + std::to_string(t) +
                                ", outside the target's " + std::to_string(target_n) + " " +
                                dimension + "s");
  return t < 0 ? -1 : t;
}

int to_mpi_int(std::int64_t value, const char* what) {
  if (value < 0 || value > INT_MAX)
    throw std::invalid_argument(std::string("redistribute: ") + what + " of " +
                                std::to_string(value) + " values exceeds MPI's int count");
  return static_cast<int>(value);
}

// Per local source row (or column): the target process coordinate, or -1 when dropped.
std::vector<int> send_targets(const Axis& source, const Axis& target, const IndexMap& map,
                              const char* dimension) {
  std::vector<int> out(static_cast<std::size_t>(source.local_count()), -1);
  for (std::size_t l = 0; l < out.size(); ++l) {
    const std::int64_t t =
        mapped(map, source.global(static_cast<std::int64_t>(l)), target.n, dimension);
    if (t >= 0) out[l] = target.owner(t);
  }
  return out;
}

// A target index this rank holds, with the source process coordinate it comes from.
struct Incoming {
  std::int64_t local;
  int source_proc;
  std::int64_t source;  // the global source index
};

// The source indices that land on this rank's target indices, by increasing source index.
std::vector<Incoming> receive_sources(const Axis& source, const Axis& target, const IndexMap& map,
                                      const char* dimension) {
  std::vector<Incoming> out;
  if (target.me < 0) return out;
  std::vector<char> seen(static_cast<std::size_t>(target.local_count()), 0);
  for (std::int64_t i = 0; i < source.n; ++i) {
    const std::int64_t t = mapped(map, i, target.n, dimension);
    if (t < 0 || target.owner(t) != target.me) continue;
    const std::int64_t l = target.local(t);
    char& hit = seen[static_cast<std::size_t>(l)];
    if (hit)
      throw std::invalid_argument(std::string("redistribute: ") + dimension +
                                  " map is not injective: two sources go to " + std::to_string(t));
    hit = 1;
    out.push_back({l, source.owner(i), i});
  }
  return out;
}

// Consecutive local indices that move together: `length` indices from `first` whose entries
// all go to (or come from) process coordinate `proc`. Copying whole runs instead of single
// entries makes packing and unpacking memcpy-speed for the common (unpermuted) layouts.
struct Run {
  std::int64_t first;
  std::int64_t length;
  int proc;
};

// Runs of the sender's local rows (dropped rows, proc -1, break runs and are left out).
std::vector<Run> send_runs(const std::vector<int>& procs) {
  std::vector<Run> runs;
  for (std::size_t l = 0; l < procs.size(); ++l) {
    const int p = procs[l];
    if (p < 0) continue;
    const auto li = static_cast<std::int64_t>(l);
    if (!runs.empty() && runs.back().proc == p && runs.back().first + runs.back().length == li)
      ++runs.back().length;
    else
      runs.push_back({li, 1, p});
  }
  return runs;
}

// Runs of the receiver's walk: consecutive in the walk, in target storage and in source process.
std::vector<Run> receive_runs(const std::vector<Incoming>& incoming) {
  std::vector<Run> runs;
  for (const Incoming& in : incoming) {
    if (!runs.empty() && runs.back().proc == in.source_proc &&
        runs.back().first + runs.back().length == in.local)
      ++runs.back().length;
    else
      runs.push_back({in.local, 1, in.source_proc});
  }
  return runs;
}

// How many indices fall on each of `nprocs` process coordinates (-1: dropped, not counted).
std::vector<std::int64_t> histogram(int nprocs, const std::vector<int>& procs) {
  std::vector<std::int64_t> h(static_cast<std::size_t>(nprocs), 0);
  for (int p : procs)
    if (p >= 0) ++h[static_cast<std::size_t>(p)];
  return h;
}

std::vector<std::int64_t> histogram(int nprocs, const std::vector<Incoming>& incoming) {
  std::vector<std::int64_t> h(static_cast<std::size_t>(nprocs), 0);
  for (const Incoming& in : incoming) ++h[static_cast<std::size_t>(in.source_proc)];
  return h;
}

// Entries per grid rank (size ranks) on `side`'s process grid: an entry's rank is (row proc,
// col proc), so the counts are products of the two per-dimension histograms.
std::vector<std::int64_t> counts_per_rank(const Side& side, const std::vector<std::int64_t>& rows,
                                          const std::vector<std::int64_t>& cols, int size) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(size), 0);
  for (int pr = 0; pr < side.rows.nprocs; ++pr)
    for (int pc = 0; pc < side.cols.nprocs; ++pc)
      counts[static_cast<std::size_t>(side.rank_of(pr, pc))] +=
          rows[static_cast<std::size_t>(pr)] * cols[static_cast<std::size_t>(pc)];
  return counts;
}

// Exclusive prefix sums as int displacements; the total must fit in int as well.
std::vector<int> displacements(const std::vector<std::int64_t>& counts, const char* what) {
  std::vector<int> displs(counts.size(), 0);
  std::int64_t sum = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    displs[r] = to_mpi_int(sum, what);
    sum += counts[r];
  }
  to_mpi_int(sum, what);
  return displs;
}

// 1. The placements must be described alike on every rank: otherwise the ranks would plan
// different exchanges and hang. One MIN reduction over (x, -x) gives both min and max. Throws
// std::invalid_argument on every rank alike (the fields are equal once this passes).
void check_placements(const ProcessGrid& grid, const Shape& from, const Shape& to) {
  const Shape shapes[2] = {from, to};
  constexpr int n = 2 * Shape::kFields;
  std::int64_t local[2 * n], global[2 * n];
  for (int side = 0; side < 2; ++side) {
    const auto fields = shapes[side].fields();
    for (int k = 0; k < Shape::kFields; ++k) {
      local[side * Shape::kFields + k] = fields[static_cast<std::size_t>(k)];
      local[n + side * Shape::kFields + k] = -fields[static_cast<std::size_t>(k)];
    }
  }
  mpi::check(MPI_Allreduce(local, global, 2 * n, MPI_INT64_T, MPI_MIN, grid.comm()),
             "MPI_Allreduce");
  for (int k = 0; k < n; ++k)
    if (global[k] != -global[n + k])
      throw std::invalid_argument(
          "redistribute: the ranks of the grid describe the source or target differently");
  const int size = grid.shape().size();
  for (const std::string& problem :
       {shape_problem(from, size, "source"), shape_problem(to, size, "target")})
    if (!problem.empty()) throw std::invalid_argument(problem);
}

// What this rank sends and receives, computed from the index maps alone.
struct ExchangePlan {
  std::vector<int> send_cols;       // per local source column: target process column, or -1
  std::vector<std::int64_t> send_col_global;  // per local source column: its global index
  std::vector<Incoming> recv_cols;  // the source columns landing on local target columns
  std::vector<Run> send_row_runs, recv_row_runs;
  std::vector<std::int64_t> send_row_hist, recv_row_hist;  // per target / source process row
  std::vector<std::int64_t> send_counts, recv_counts;  // per grid rank, this rank included
};

// One round of the exchange: the source columns [first, last) of every rank.
struct Round {
  std::size_t send_begin = 0, send_end = 0;  // local source columns
  std::size_t recv_begin = 0, recv_end = 0;  // entries of recv_cols
  // What MPI moves: everything but the entries this rank keeps, which packing writes straight
  // into their place in the receive buffer (one copy less, and no send buffer for them).
  std::vector<int> mpi_send_counts, mpi_recv_counts;
  std::vector<int> send_displs, recv_displs;
  std::int64_t send_size = 0, recv_size = 0;
};

// 2. The local plan, from the index maps alone. Throws std::invalid_argument for a bad map.
ExchangePlan plan_exchange(const Side& src, const Side& dst, const IndexMap& row_map,
                           const IndexMap& col_map, int size) {
  ExchangePlan plan;
  const std::vector<int> send_rows = send_targets(src.rows, dst.rows, row_map, "row");
  plan.send_cols = send_targets(src.cols, dst.cols, col_map, "column");
  plan.send_col_global.resize(plan.send_cols.size());
  for (std::size_t l = 0; l < plan.send_cols.size(); ++l)
    plan.send_col_global[l] = src.cols.global(static_cast<std::int64_t>(l));
  const std::vector<Incoming> recv_rows = receive_sources(src.rows, dst.rows, row_map, "row");
  plan.recv_cols = receive_sources(src.cols, dst.cols, col_map, "column");
  plan.send_row_runs = send_runs(send_rows);
  plan.recv_row_runs = receive_runs(recv_rows);
  plan.send_row_hist = histogram(dst.rows.nprocs, send_rows);
  plan.recv_row_hist = histogram(src.rows.nprocs, recv_rows);
  plan.send_counts =
      counts_per_rank(dst, plan.send_row_hist, histogram(dst.cols.nprocs, plan.send_cols), size);
  plan.recv_counts =
      counts_per_rank(src, plan.recv_row_hist, histogram(src.cols.nprocs, plan.recv_cols), size);
  return plan;
}

// The counts and displacements of the round of source columns [first, last): the local source
// columns and the incoming columns in that range (both walks are by increasing source column,
// so each is one contiguous stretch). Throws std::invalid_argument beyond MPI's int counts.
Round plan_round(const ExchangePlan& plan, const Side& src, const Side& dst, std::int64_t first,
                 std::int64_t last, int me, int size) {
  const auto at = [](auto& v, int r) -> auto& { return v[static_cast<std::size_t>(r)]; };
  Round round;
  const auto& globals = plan.send_col_global;
  round.send_begin = static_cast<std::size_t>(
      std::lower_bound(globals.begin(), globals.end(), first) - globals.begin());
  round.send_end = static_cast<std::size_t>(std::lower_bound(globals.begin(), globals.end(), last) -
                                            globals.begin());
  const auto by_source = [](const Incoming& in, std::int64_t j) { return in.source < j; };
  round.recv_begin = static_cast<std::size_t>(
      std::lower_bound(plan.recv_cols.begin(), plan.recv_cols.end(), first, by_source) -
      plan.recv_cols.begin());
  round.recv_end = static_cast<std::size_t>(
      std::lower_bound(plan.recv_cols.begin(), plan.recv_cols.end(), last, by_source) -
      plan.recv_cols.begin());
  std::vector<std::int64_t> send_col_hist(static_cast<std::size_t>(dst.cols.nprocs), 0);
  for (std::size_t l = round.send_begin; l < round.send_end; ++l)
    if (plan.send_cols[l] >= 0) ++at(send_col_hist, plan.send_cols[l]);
  std::vector<std::int64_t> recv_col_hist(static_cast<std::size_t>(src.cols.nprocs), 0);
  for (std::size_t c = round.recv_begin; c < round.recv_end; ++c)
    ++at(recv_col_hist, plan.recv_cols[c].source_proc);
  const std::vector<std::int64_t> sends =
      counts_per_rank(dst, plan.send_row_hist, send_col_hist, size);
  const std::vector<std::int64_t> receives =
      counts_per_rank(src, plan.recv_row_hist, recv_col_hist, size);
  round.mpi_send_counts.assign(static_cast<std::size_t>(size), 0);
  round.mpi_recv_counts.assign(static_cast<std::size_t>(size), 0);
  for (int r = 0; r < size; ++r) {
    if (r == me) continue;
    at(round.mpi_send_counts, r) = to_mpi_int(at(sends, r), "a send");
    at(round.mpi_recv_counts, r) = to_mpi_int(at(receives, r), "a receive");
  }
  std::vector<std::int64_t> others = sends;
  at(others, me) = 0;
  round.send_displs = displacements(others, "a send");
  round.recv_displs = displacements(receives, "a receive");
  round.send_size = round.send_displs.back() + others.back();
  round.recv_size = round.recv_displs.back() + receives.back();
  return round;
}

// 3. Collective, whatever happened locally: what each rank plans to receive from r must be what
// r plans to send it. This catches a map that differs between ranks before any value is
// misplaced. Then every rank learns of any rank's failure (mpi::agree).
void agree_on_plan(MPI_Comm comm, const ExchangePlan& plan, std::exception_ptr failure) {
  const std::size_t size = plan.send_counts.size();
  std::vector<std::int64_t> zeros(size, 0), announced(size, 0);
  const std::vector<std::int64_t>& sends = failure ? zeros : plan.send_counts;
  mpi::check(MPI_Alltoall(sends.data(), 1, MPI_INT64_T, announced.data(), 1, MPI_INT64_T, comm),
             "MPI_Alltoall");
  if (!failure && announced != plan.recv_counts)
    failure = std::make_exception_ptr(std::invalid_argument(
        "redistribute: send and receive counts disagree (a map differs between ranks)"));
  mpi::agree(comm, failure);
}

// 4. Packs the round by (source column, source row): the entries for other ranks into the send
// buffer, the ones this rank keeps straight into the receive buffer.
void pack(const ExchangePlan& plan, const Round& round, const Side& src, const Side& dst,
          const double* src_data, int me, double* send_buffer, double* recv_buffer) {
  const auto at = [](auto& v, int r) -> auto& { return v[static_cast<std::size_t>(r)]; };
  std::vector<int> position = round.send_displs;
  at(position, me) = at(round.recv_displs, me);
  for (std::size_t lj = round.send_begin; lj < round.send_end; ++lj) {
    const int pc = plan.send_cols[lj];
    if (pc < 0) continue;
    const double* column = src_data + static_cast<std::int64_t>(lj) * src.ld;
    for (const Run& run : plan.send_row_runs) {
      const int t = dst.rank_of(run.proc, pc);
      double* out = (t == me ? recv_buffer : send_buffer) + at(position, t);
      std::copy_n(column + run.first, run.length, out);
      at(position, t) += static_cast<int>(run.length);
    }
  }
}

// 5. Unpacks the round in the receiver's matching (source column, source row) order.
void unpack(const ExchangePlan& plan, const Round& round, const Side& src, const Side& dst,
            const double* recv_buffer, double* dst_data) {
  const auto at = [](auto& v, int r) -> auto& { return v[static_cast<std::size_t>(r)]; };
  std::vector<int> position = round.recv_displs;
  for (std::size_t k = round.recv_begin; k < round.recv_end; ++k) {
    const Incoming& c = plan.recv_cols[k];
    double* column = dst_data + c.local * dst.ld;
    for (const Run& run : plan.recv_row_runs) {
      const int s = src.rank_of(run.proc, c.source_proc);
      std::copy_n(recv_buffer + at(position, s), run.length, column + run.first);
      at(position, s) += static_cast<int>(run.length);
    }
  }
}

// A buffer that grows to the largest round and is never zero-filled: every entry MPI or
// unpacking reads is written first, and zero-filling costs as much as a copy.
class Buffer {
 public:
  double* at_least(std::int64_t count) {
    if (count + 1 > capacity_) {
      data_.reset();
      data_.reset(new double[static_cast<std::size_t>(count + 1)]);
      capacity_ = count + 1;
    }
    return data_.get();  // never empty, so the pointers handed to MPI are valid
  }

 private:
  std::unique_ptr<double[]> data_;
  std::int64_t capacity_ = 0;
};

}  // namespace

std::int64_t redistribute_round_columns(std::int64_t source_rows, std::int64_t piece_doubles) {
  return std::max<std::int64_t>(1, piece_doubles / std::max<std::int64_t>(1, source_rows));
}

void redistribute(const ProcessGrid& grid, const RedistributionSource& from,
                  const RedistributionTarget& to, const IndexMap& row_map, const IndexMap& col_map,
                  std::int64_t piece_doubles) {
  if (!grid.active()) return;
  check_placements(grid, shape_of(grid, from), shape_of(grid, to));
  const Side src = side_of(grid, from);
  const Side dst = side_of(grid, to);
  const int me = grid.rank(), size = grid.shape().size();

  // Rounds of whole source columns, at most piece_doubles values of the source's rows each (the
  // same rounds on every rank: they depend on the agreed shapes only), so that the exchange
  // buffers stay bounded whatever the matrix: a copy of an 8 GiB layer needs 2 x 128 MiB of
  // them, not the layer's share twice over.
  const std::int64_t columns_per_round = redistribute_round_columns(src.rows.n, piece_doubles);

  // Plan locally, every round's counts and buffers included; a failure on any rank (a bad array
  // on an owner, a bad map, a count beyond MPI's int, no memory) is agreed after the collective
  // cross-check, which every rank reaches. The rounds themselves then cannot fail locally.
  ExchangePlan plan;
  std::vector<Round> rounds;
  Buffer send_buffer, recv_buffer;
  std::exception_ptr failure;
  try {
    std::string problem = local_problem(grid, from, "source");
    if (problem.empty()) problem = local_problem(grid, to, "target");
    if (!problem.empty()) throw std::invalid_argument(problem);
    plan = plan_exchange(src, dst, row_map, col_map, size);
    std::int64_t most_sent = 0, most_received = 0;
    for (std::int64_t first = 0; first < src.cols.n; first += columns_per_round) {
      rounds.push_back(plan_round(plan, src, dst, first,
                                  std::min(src.cols.n, first + columns_per_round), me, size));
      most_sent = std::max(most_sent, rounds.back().send_size);
      most_received = std::max(most_received, rounds.back().recv_size);
    }
    send_buffer.at_least(most_sent);
    recv_buffer.at_least(most_received);
  } catch (const std::bad_alloc&) {
    failure =
        std::make_exception_ptr(Error("redistribute: out of memory for the exchange buffers"));
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) plan.send_counts.assign(static_cast<std::size_t>(size), 0);
  agree_on_plan(grid.comm(), plan, failure);

  const double* source_data = from.distributed ? from.distributed->data() : from.data;
  double* target_data = to.distributed ? to.distributed->data() : to.data;
  double* sending = send_buffer.at_least(0);  // already as large as the largest round
  double* receiving = recv_buffer.at_least(0);
  for (const Round& round : rounds) {
    pack(plan, round, src, dst, source_data, me, sending, receiving);
    mpi::check(MPI_Alltoallv(sending, round.mpi_send_counts.data(), round.send_displs.data(),
                             MPI_DOUBLE, receiving, round.mpi_recv_counts.data(),
                             round.recv_displs.data(), MPI_DOUBLE, grid.comm()),
               "MPI_Alltoallv");
    unpack(plan, round, src, dst, receiving, target_data);
  }
}

Eigen::MatrixXd gather_leading(const DistributedMatrix& m, std::int64_t rows, std::int64_t cols,
                               int dest) {
  const ProcessGrid& grid = m.grid();
  if (!grid.active()) return Eigen::MatrixXd(0, 0);
  Eigen::MatrixXd out(0, 0);
  // Only dest allocates; the shape check inside redistribute is agreed, so a bad request throws
  // everywhere (a negative shape is caught there before anything is allocated here).
  if (grid.rank() == dest && rows >= 0 && cols >= 0) out.resize(rows, cols);
  redistribute(grid, RedistributionSource::of(m, rows, cols),
               RedistributionTarget::whole(grid.rank() == dest ? &out : nullptr, dest, rows, cols));
  return out;
}

}  // namespace svr
