#pragma once
// A 2-D BLACS process grid over an MPI sub-communicator, owned RAII: the communicator (split
// from a parent), the BLACS system handle and the grid context are created together and freed
// in the destructor (which must run before MPI_Finalize). Ranks of the parent that are not in
// the grid hold an inactive object: no communicator, no context, every query about coordinates
// returns -1, and distributed objects built on it are empty.
#include <mpi.h>

#include <string>

#include "svr/parallel/grid_shape.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {

// GridShape and near_square_shape: grid_shape.hpp.

class ProcessGrid {
 public:
  // Collective over `parent`: ranks [first_rank, first_rank + shape.size()) of parent form the
  // grid (grid rank = parent rank - first_rank); the others get an inactive grid.
  ProcessGrid(MPI_Comm parent, GridShape shape, int first_rank = 0);

  // Collective over `parent`: the first `processes` ranks, near-square shape.
  ProcessGrid(MPI_Comm parent, int processes);

  // Collective over `parent`, for several disjoint grids at once: every rank passes its group's
  // colour (>= 0; -1: in no grid). Ranks sharing a colour form one grid, ordered by parent rank
  // (so grid rank 0 is the lowest parent rank of that colour); `shape` must have as many
  // processes as the group (checked on every rank, agreed: all ranks throw together).
  // Every constructor throws the same svr::Error on every rank of the grid when it fails.
  ProcessGrid(MPI_Comm parent, int color, GridShape shape);

  ~ProcessGrid();
  ProcessGrid(const ProcessGrid&) = delete;
  ProcessGrid& operator=(const ProcessGrid&) = delete;
  ProcessGrid(ProcessGrid&&) = delete;  // distributed matrices point at their grid
  ProcessGrid& operator=(ProcessGrid&&) = delete;

  bool active() const { return static_cast<bool>(comm_); }
  MPI_Comm comm() const { return comm_.get(); }  // MPI_COMM_NULL when inactive
  int context() const { return context_; }       // -1 when inactive
  GridShape shape() const { return shape_; }
  int rank() const { return rank_; }  // rank in comm(), -1 when inactive
  int my_row() const { return my_row_; }
  int my_col() const { return my_col_; }

  // Row-major placement: grid rank r sits at (r / cols, r % cols).
  int rank_of(int row, int col) const { return row * shape_.cols + col; }

 private:
  void init(MPI_Comm parent, int color, GridShape shape);
  void release() noexcept;

  mpi::UniqueComm comm_;
  int handle_ = -1;   // BLACS system handle of comm_
  int context_ = -1;  // BLACS grid context
  GridShape shape_{0, 0};
  int rank_ = -1;
  int my_row_ = -1;
  int my_col_ = -1;
};

}  // namespace svr
