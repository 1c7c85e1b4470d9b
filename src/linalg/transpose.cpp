#include "svr/linalg/transpose.hpp"

#include <mpi.h>

#include <algorithm>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "svr/core/error.hpp"
#include "svr/linalg/scalapack.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {
namespace {

constexpr int kTag = 7331;
constexpr std::int64_t kTile = 64;

// t(j_of(c), r) := value(c, r) for c < cols, r < rows, in kTile x kTile tiles: the writes walk
// down t's columns, the reads of `value` stay within a tile.
template <typename Value, typename Column>
void place(double* t, std::int64_t ld, std::int64_t cols, std::int64_t rows, Column j_of,
           Value value) {
  for (std::int64_t c0 = 0; c0 < cols; c0 += kTile)
    for (std::int64_t r0 = 0; r0 < rows; r0 += kTile) {
      const std::int64_t c1 = std::min(cols, c0 + kTile), r1 = std::min(rows, r0 + kTile);
      for (std::int64_t r = r0; r < r1; ++r) {
        double* column = t + r * ld;
        for (std::int64_t c = c0; c < c1; ++c) column[j_of(c)] = value(c, r);
      }
    }
}

}  // namespace

DistributedMatrix transpose(const DistributedMatrix& a, std::int64_t piece_doubles) {
  const ProcessGrid& grid = a.grid();
  if (piece_doubles < 1)
    throw std::invalid_argument("transpose: piece of " + std::to_string(piece_doubles) +
                                " doubles");
  const std::int64_t m = a.rows(), n = a.cols(), nb = a.block();
  DistributedMatrix t(grid, n, m, nb);
  if (!grid.active() || m == 0 || n == 0) return t;
  if (grid.shape().rows != 1) {
    scalapack::pdtran(to_lapack_int(n), to_lapack_int(m), 1.0, a.data(), a.descriptor(), 0.0,
                      t.data(), t.descriptor());
    return t;
  }
  // One process row: a's local array is m x (its columns), t's is n x (its columns), and t's
  // column i is a's row i. Process p's columns of t are the rows `rows_of(p)` of a.
  const int procs = grid.shape().cols, me = grid.my_col();
  const auto rows_of = [&](int p) {
    std::vector<std::int64_t> rows(
        static_cast<std::size_t>(block_cyclic::local_count(m, nb, p, procs)));
    for (std::size_t k = 0; k < rows.size(); ++k)
      rows[k] = block_cyclic::local_to_global(static_cast<std::int64_t>(k), nb, p, procs);
    return rows;
  };
  const auto cols_of = [&](int p) { return block_cyclic::local_count(n, nb, p, procs); };
  const std::vector<std::int64_t> mine = rows_of(me);
  const auto mine_count = static_cast<std::int64_t>(mine.size());
  const double* a_data = a.data();
  double* t_data = t.data();

  // My own columns of a: straight into t.
  const auto my_col = [&](std::int64_t lc) {
    return block_cyclic::local_to_global(lc, nb, me, procs);
  };
  place(t_data, n, a.local_cols(), mine_count, my_col, [&](std::int64_t lc, std::int64_t r) {
    return a_data[mine[static_cast<std::size_t>(r)] + lc * m];
  });
  if (procs == 1) return t;

  // The exchanges go in pieces of whole columns of at most piece_doubles values each way, so the
  // buffers stay small and are reused (fresh pages cost a page fault each). Both sides of a
  // transfer know its piece width: the piece counts the receiver's rows.
  const auto width = [piece_doubles](std::int64_t rows) {
    return std::max<std::int64_t>(1, piece_doubles / std::max<std::int64_t>(1, rows));
  };
  // Each buffer holds the largest piece it will carry (a piece is at least one column), not
  // more: a small matrix gets small buffers. Not value-initialised: every value sent or placed
  // is written first.
  std::int64_t most_out = 1, most_in = 1;
  for (int p = 0; p < procs; ++p) {
    const std::int64_t rows = block_cyclic::local_count(m, nb, p, procs);
    most_out = std::max(most_out, std::min(a.local_cols(), width(rows)) * rows);
    most_in = std::max(most_in, std::min(cols_of(p), width(mine_count)) * mine_count);
  }
  std::unique_ptr<double[]> out, in;
  mpi::agreed(grid.comm(), [&] {
    try {
      out.reset(new double[static_cast<std::size_t>(most_out)]);
      in.reset(new double[static_cast<std::size_t>(most_in)]);
    } catch (const std::bad_alloc&) {
      throw Error("transpose: out of memory for the exchange buffers");
    }
  });
  const auto pieces = [](std::int64_t cols, std::int64_t w) { return (cols + w - 1) / w; };
  for (int step = 1; step < procs; ++step) {
    const int to = (me + step) % procs, from = (me - step + procs) % procs;
    // To `to`: a(rows_of(to), my columns); its rows come in runs of nb.
    const std::vector<std::int64_t> theirs = rows_of(to);
    const auto count = static_cast<std::int64_t>(theirs.size());
    const std::int64_t w_out = width(count), w_in = width(mine_count);
    const std::int64_t from_cols = cols_of(from);
    const std::int64_t sends = count > 0 ? pieces(a.local_cols(), w_out) : 0;
    const std::int64_t receives = mine_count > 0 ? pieces(from_cols, w_in) : 0;
    for (std::int64_t piece = 0; piece < std::max(sends, receives); ++piece) {
      MPI_Request request = MPI_REQUEST_NULL;
      const std::int64_t first_in = piece * w_in;
      const std::int64_t cols_in = piece < receives ? std::min(w_in, from_cols - first_in) : 0;
      if (cols_in > 0)
        mpi::check(MPI_Irecv(in.get(), static_cast<int>(cols_in * mine_count), MPI_DOUBLE,
                             grid.rank_of(0, from), kTag, grid.comm(), &request),
                   "MPI_Irecv");
      if (piece < sends) {
        const std::int64_t first_out = piece * w_out;
        const std::int64_t cols_out = std::min(w_out, a.local_cols() - first_out);
        for (std::int64_t c = 0; c < cols_out; ++c) {
          const double* column = a_data + (first_out + c) * m;
          double* packed = out.get() + c * count;
          for (std::int64_t k = 0; k < count; k += nb)
            std::copy_n(column + theirs[static_cast<std::size_t>(k)], std::min(nb, count - k),
                        packed + k);
        }
        mpi::check(MPI_Send(out.get(), static_cast<int>(cols_out * count), MPI_DOUBLE,
                            grid.rank_of(0, to), kTag, grid.comm()),
                   "MPI_Send");
      }
      if (cols_in > 0) {
        mpi::check(MPI_Wait(&request, MPI_STATUS_IGNORE), "MPI_Wait");
        const auto from_col = [&](std::int64_t c) {
          return block_cyclic::local_to_global(first_in + c, nb, from, procs);
        };
        place(t_data, n, cols_in, mine_count, from_col, [&](std::int64_t c, std::int64_t r) {
          return in[static_cast<std::size_t>(c * mine_count + r)];
        });
      }
    }
  }
  return t;
}

}  // namespace svr
