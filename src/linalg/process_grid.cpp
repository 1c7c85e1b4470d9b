#include "svr/linalg/process_grid.hpp"

#include <vector>

#include "svr/core/error.hpp"
#include "svr/linalg/blacs.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {
namespace {

int parent_rank(MPI_Comm parent) {
  int rank = 0;
  mpi::check(MPI_Comm_rank(parent, &rank), "MPI_Comm_rank");
  return rank;
}

int parent_size(MPI_Comm parent) {
  int size = 0;
  mpi::check(MPI_Comm_size(parent, &size), "MPI_Comm_size");
  return size;
}

GridShape checked_shape(GridShape shape) {
  if (shape.rows < 1 || shape.cols < 1)
    throw Error("process grid: invalid shape " + std::to_string(shape.rows) + "x" +
                std::to_string(shape.cols));
  return shape;
}

int color_of_range(MPI_Comm parent, GridShape shape, int first_rank) {
  checked_shape(shape);
  const int size = parent_size(parent);
  if (first_rank < 0 || first_rank + shape.size() > size)
    throw Error("process grid: ranks " + std::to_string(first_rank) + ".." +
                std::to_string(first_rank + shape.size() - 1) + " do not exist in a " +
                std::to_string(size) + "-rank communicator");
  const int rank = parent_rank(parent);
  return rank >= first_rank && rank < first_rank + shape.size() ? 0 : -1;
}

}  // namespace

ProcessGrid::ProcessGrid(MPI_Comm parent, GridShape shape, int first_rank) {
  init(parent, color_of_range(parent, shape, first_rank), shape);
}

ProcessGrid::ProcessGrid(MPI_Comm parent, int processes)
    : ProcessGrid(parent, near_square_shape(processes), 0) {}

ProcessGrid::ProcessGrid(MPI_Comm parent, int color, GridShape shape) {
  init(parent, color, shape);
}

void ProcessGrid::init(MPI_Comm parent, int color, GridShape shape) {
  comm_ = mpi::UniqueComm::split(parent, color, parent_rank(parent));
  if (!comm_) return;  // not in any grid: inactive
  try {
    mpi::check(MPI_Comm_rank(comm_.get(), &rank_), "MPI_Comm_rank");
    const int size = parent_size(comm_.get());
    mpi::agreed(comm_.get(), [&] {
      if (shape.rows < 1 || shape.cols < 1 || shape.size() != size)
        throw Error("process grid: shape " + std::to_string(shape.rows) + "x" +
                    std::to_string(shape.cols) + " does not match the " + std::to_string(size) +
                    " processes of the group");
    });
    shape_ = shape;

    // Explicit map: grid rank r at (r / cols, r % cols); usermap is column-major.
    std::vector<int> usermap(static_cast<std::size_t>(size));
    for (int row = 0; row < shape.rows; ++row)
      for (int col = 0; col < shape.cols; ++col)
        usermap[static_cast<std::size_t>(row + col * shape.rows)] = rank_of(row, col);
    handle_ = blacs::system_handle(comm_.get());
    context_ = blacs::grid_map(handle_, std::move(usermap), shape.rows, shape.cols);
    const blacs::GridInfo info = blacs::grid_info(context_);
    my_row_ = info.my_row;
    my_col_ = info.my_col;
    mpi::agreed(comm_.get(), [&] {
      if (info.rows != shape.rows || info.cols != shape.cols || my_row_ != rank_ / shape.cols ||
          my_col_ != rank_ % shape.cols)
        throw Error("BLACS grid: rank " + std::to_string(rank_) + " got position (" +
                    std::to_string(my_row_) + ", " + std::to_string(my_col_) + ") of " +
                    std::to_string(info.rows) + "x" + std::to_string(info.cols));
    });
  } catch (...) {
    release();
    throw;
  }
}

void ProcessGrid::release() noexcept {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;  // too late to free anything; MPI has already torn it down
  if (context_ >= 0) blacs::grid_exit(context_);
  if (handle_ >= 0) blacs::free_system_handle(handle_);
  comm_.reset();  // after the BLACS objects that refer to it
  context_ = -1;
  handle_ = -1;
}

ProcessGrid::~ProcessGrid() { release(); }

}  // namespace svr
