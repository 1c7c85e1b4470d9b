#include "svr/parallel/grid_shape.hpp"

#include <string>

#include "svr/core/error.hpp"

namespace svr {

GridShape near_square_shape(int processes) {
  if (processes < 1)
    throw Error("process grid: need at least one process, got " + std::to_string(processes));
  int rows = 1;
  for (int r = 1; static_cast<long long>(r) * r <= processes; ++r)
    if (processes % r == 0) rows = r;
  return {rows, processes / rows};
}

}  // namespace svr
