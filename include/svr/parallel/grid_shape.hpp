#pragma once
// The shape of a 2-D process grid: plain arithmetic, shared by the planner (which needs no MPI
// objects) and ProcessGrid (process_grid.hpp).

namespace svr {

struct GridShape {
  int rows = 1;
  int cols = 1;
  int size() const { return rows * cols; }
};

// Near-square rows x cols = processes with rows <= cols and rows the largest divisor of
// `processes` not above its square root: 1 -> 1x1, 2 -> 1x2, 3 -> 1x3, 4 -> 2x2, 6 -> 2x3,
// 8 -> 2x4, 12 -> 3x4. (A prime count gives a 1xP grid; callers that want a squarer grid
// should use fewer processes.) Throws svr::Error for processes < 1.
GridShape near_square_shape(int processes);

}  // namespace svr
