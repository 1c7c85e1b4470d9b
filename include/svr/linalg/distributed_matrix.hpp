#pragma once
// A dense matrix in ScaLAPACK's 2-D block-cyclic layout on a ProcessGrid: square nb x nb
// blocks dealt round-robin over process rows and columns, the first block on process (0, 0);
// each process stores its blocks column-major in one local array (leading dimension
// max(1, local_rows)). Global entry (i, j) lives on process (owner(i), owner(j)) at local
// (global_to_local(i), global_to_local(j)).
#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <vector>

#include "svr/linalg/process_grid.hpp"
#include "svr/linalg/scalapack.hpp"

namespace svr {

// Index maps of one dimension (rows or columns), 0-based, first block on process 0. Plain
// functions, consistent with ScaLAPACK's numroc / indxg2p / indxg2l / indxl2g.
namespace block_cyclic {
int owner(std::int64_t global, std::int64_t nb, int nprocs);
std::int64_t global_to_local(std::int64_t global, std::int64_t nb, int nprocs);
std::int64_t local_to_global(std::int64_t local, std::int64_t nb, int proc, int nprocs);
// How many of n indices process `proc` holds (numroc).
std::int64_t local_count(std::int64_t n, std::int64_t nb, int proc, int nprocs);
}  // namespace block_cyclic

// One contiguous piece of a global row that this rank owns: columns [col, col + count).
struct RowRun {
  std::int64_t row = 0;
  std::int64_t col = 0;
  std::int64_t count = 0;
};

class DistributedMatrix {
 public:
  static constexpr std::int64_t kDefaultBlock = 64;

  // A zero rows x cols matrix on `grid` (which must outlive it). On an inactive grid the object
  // is empty (no local entries, descriptor context -1). Not collective.
  DistributedMatrix(const ProcessGrid& grid, std::int64_t rows, std::int64_t cols,
                    std::int64_t block = kDefaultBlock);

  const ProcessGrid& grid() const { return *grid_; }
  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  std::int64_t block() const { return block_; }
  std::int64_t local_rows() const { return local_rows_; }
  std::int64_t local_cols() const { return local_cols_; }
  std::int64_t local_ld() const { return local_ld_; }
  const scalapack::Descriptor& descriptor() const { return desc_; }

  double* data() { return local_.data(); }
  const double* data() const { return local_.data(); }
  double& local(std::int64_t li, std::int64_t lj) { return local_[index(li, lj)]; }
  double local(std::int64_t li, std::int64_t lj) const { return local_[index(li, lj)]; }

  std::int64_t global_row(std::int64_t li) const;
  std::int64_t global_col(std::int64_t lj) const;
  bool owns(std::int64_t i, std::int64_t j) const;

  // Every local entry := value(i, j) of its global position. Local, not collective.
  void fill(const std::function<double(std::int64_t, std::int64_t)>& value);

  // The pieces of the row-major global matrix this rank owns, by increasing (row, col): for a
  // row-major file the byte range of run r is [(r.row * cols + r.col) * size, + r.count * size).
  std::vector<RowRun> row_runs() const;

  // Fills from row-major data: read(run, out) must write run.count values of row run.row,
  // columns run.col..run.col+count-1, to out[0..count). Called once per run of row_runs(), so
  // each rank reads only its own bytes. Local, not collective.
  void fill_from_row_major(const std::function<void(const RowRun&, double*)>& read);

  // Fills from a whole row-major rows x cols array (every rank has it; for tests).
  void fill_from_row_major(const double* global);

  // Collective over the grid: the whole matrix on grid rank `root`, 0x0 on the other ranks.
  // On an inactive grid it returns 0x0 at once (no communication).
  Eigen::MatrixXd gather(int root = 0) const;

 private:
  std::size_t index(std::int64_t li, std::int64_t lj) const {
    return static_cast<std::size_t>(li + lj * local_ld_);
  }

  const ProcessGrid* grid_;
  std::int64_t rows_;
  std::int64_t cols_;
  std::int64_t block_;
  std::int64_t local_rows_ = 0;
  std::int64_t local_cols_ = 0;
  std::int64_t local_ld_ = 1;
  scalapack::Descriptor desc_{};
  std::vector<double> local_;
};

}  // namespace svr
