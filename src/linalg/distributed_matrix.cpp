#include "svr/linalg/distributed_matrix.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "svr/core/error.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {
namespace block_cyclic {

int owner(std::int64_t global, std::int64_t nb, int nprocs) {
  return static_cast<int>((global / nb) % nprocs);
}

std::int64_t global_to_local(std::int64_t global, std::int64_t nb, int nprocs) {
  return (global / (nb * nprocs)) * nb + global % nb;
}

std::int64_t local_to_global(std::int64_t local, std::int64_t nb, int proc, int nprocs) {
  return ((local / nb) * nprocs + proc) * nb + local % nb;
}

std::int64_t local_count(std::int64_t n, std::int64_t nb, int proc, int nprocs) {
  const std::int64_t blocks = n / nb;          // whole blocks
  std::int64_t count = (blocks / nprocs) * nb;  // full rounds
  const std::int64_t extra = blocks % nprocs;   // processes with one more whole block
  if (proc < extra)
    count += nb;
  else if (proc == extra)
    count += n % nb;  // the partial last block
  return count;
}

}  // namespace block_cyclic

namespace {

constexpr int kGatherTag = 4711;


}  // namespace

DistributedMatrix::DistributedMatrix(const ProcessGrid& grid, std::int64_t rows,
                                     std::int64_t cols, std::int64_t block)
    : grid_(&grid), rows_(rows), cols_(cols), block_(block) {
  if (rows < 0 || cols < 0 || block < 1)
    throw Error("distributed matrix: invalid shape " + std::to_string(rows) + "x" +
                std::to_string(cols) + " or block size " + std::to_string(block));
  desc_.fill(0);
  desc_[scalapack::kContext] = -1;
  if (!grid.active()) return;
  const GridShape shape = grid.shape();
  local_rows_ = block_cyclic::local_count(rows, block, grid.my_row(), shape.rows);
  local_cols_ = block_cyclic::local_count(cols, block, grid.my_col(), shape.cols);
  local_ld_ = std::max<std::int64_t>(1, local_rows_);
  desc_ = scalapack::descinit(to_lapack_int(rows), to_lapack_int(cols), to_lapack_int(block),
                              to_lapack_int(block), 0, 0, grid.context(),
                              to_lapack_int(local_ld_));
  to_lapack_int(local_rows_ * local_cols_);  // local arrays are indexed with Fortran INTEGER
  // At least one element, so the array handed to Fortran is never a null pointer.
  local_.assign(static_cast<std::size_t>(std::max<std::int64_t>(1, local_rows_ * local_cols_)),
                0.0);
}

std::int64_t DistributedMatrix::global_row(std::int64_t li) const {
  return block_cyclic::local_to_global(li, block_, grid_->my_row(), grid_->shape().rows);
}

std::int64_t DistributedMatrix::global_col(std::int64_t lj) const {
  return block_cyclic::local_to_global(lj, block_, grid_->my_col(), grid_->shape().cols);
}

bool DistributedMatrix::owns(std::int64_t i, std::int64_t j) const {
  if (!grid_->active() || i < 0 || j < 0 || i >= rows_ || j >= cols_) return false;
  return block_cyclic::owner(i, block_, grid_->shape().rows) == grid_->my_row() &&
         block_cyclic::owner(j, block_, grid_->shape().cols) == grid_->my_col();
}

void DistributedMatrix::fill(const std::function<double(std::int64_t, std::int64_t)>& value) {
  for (std::int64_t lj = 0; lj < local_cols_; ++lj) {
    const std::int64_t j = global_col(lj);
    for (std::int64_t li = 0; li < local_rows_; ++li) local(li, lj) = value(global_row(li), j);
  }
}

std::vector<RowRun> DistributedMatrix::row_runs() const {
  std::vector<RowRun> runs;
  if (local_rows_ == 0 || local_cols_ == 0) return runs;
  // Local columns come in blocks of `block_` consecutive global columns (the last may be short).
  std::vector<RowRun> col_blocks;
  for (std::int64_t lj = 0; lj < local_cols_; lj += block_)
    col_blocks.push_back({0, global_col(lj), std::min(block_, local_cols_ - lj)});
  runs.reserve(static_cast<std::size_t>(local_rows_) * col_blocks.size());
  for (std::int64_t li = 0; li < local_rows_; ++li) {
    const std::int64_t i = global_row(li);
    for (const RowRun& b : col_blocks) runs.push_back({i, b.col, b.count});
  }
  return runs;
}

void DistributedMatrix::fill_from_row_major(
    const std::function<void(const RowRun&, double*)>& read) {
  if (local_rows_ == 0 || local_cols_ == 0) return;
  // Up to 64 local rows are read into a row-major staging block, which is then transposed into
  // the column-major local array a column at a time: writing each value straight to its place
  // would touch a new cache line per value (the local rows are local_ld apart), which made
  // this loop slower than the reads themselves.
  constexpr double kStagingBytes = 8.0 * 1024 * 1024;
  const std::int64_t batch = std::clamp<std::int64_t>(
      static_cast<std::int64_t>(kStagingBytes / (8.0 * static_cast<double>(local_cols_))), 1, 64);
  std::vector<double> staging(static_cast<std::size_t>(std::min(batch, local_rows_) * local_cols_));
  const std::vector<RowRun> runs = row_runs();  // by local row, then local column
  const std::size_t per_row = runs.size() / static_cast<std::size_t>(local_rows_);
  for (std::int64_t first = 0; first < local_rows_; first += batch) {
    const std::int64_t rows = std::min(batch, local_rows_ - first);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::size_t b = 0; b < per_row; ++b) {
        const RowRun& run = runs[static_cast<std::size_t>(first + r) * per_row + b];
        const std::int64_t lj = block_cyclic::global_to_local(run.col, block_, grid_->shape().cols);
        read(run, staging.data() + r * local_cols_ + lj);
      }
    for (std::int64_t lj = 0; lj < local_cols_; ++lj) {
      double* column = local_.data() + lj * local_ld_ + first;
      for (std::int64_t r = 0; r < rows; ++r)
        column[r] = staging[static_cast<std::size_t>(r * local_cols_ + lj)];
    }
  }
}

void DistributedMatrix::fill_from_row_major(const double* global) {
  fill_from_row_major([&](const RowRun& run, double* out) {
    std::copy_n(global + run.row * cols_ + run.col, run.count, out);
  });
}

Eigen::MatrixXd DistributedMatrix::gather(int root) const {
  if (!grid_->active()) return Eigen::MatrixXd(0, 0);
  const GridShape shape = grid_->shape();
  if (root < 0 || root >= shape.size())
    throw Error("distributed matrix: gather to grid rank " + std::to_string(root) +
                " of a " + std::to_string(shape.size()) + "-process grid");
  const MPI_Comm comm = grid_->comm();
  if (grid_->rank() != root) {
    mpi::send_doubles(comm, local_.data(), local_rows_ * local_cols_, root, kGatherTag);
    return Eigen::MatrixXd(0, 0);
  }
  Eigen::MatrixXd out(rows_, cols_);
  std::vector<double> buffer;
  for (int q = 0; q < shape.size(); ++q) {
    const int prow = q / shape.cols;
    const int pcol = q % shape.cols;
    const std::int64_t lr = block_cyclic::local_count(rows_, block_, prow, shape.rows);
    const std::int64_t lc = block_cyclic::local_count(cols_, block_, pcol, shape.cols);
    const double* source = local_.data();
    if (q != root) {
      buffer.resize(static_cast<std::size_t>(lr * lc));
      mpi::receive_doubles(comm, buffer.data(), lr * lc, q, kGatherTag);
      source = buffer.data();
    }
    for (std::int64_t lj = 0; lj < lc; ++lj) {
      const std::int64_t j = block_cyclic::local_to_global(lj, block_, pcol, shape.cols);
      for (std::int64_t li = 0; li < lr; ++li)
        out(block_cyclic::local_to_global(li, block_, prow, shape.rows), j) = source[li + lj * lr];
    }
  }
  return out;
}

}  // namespace svr
