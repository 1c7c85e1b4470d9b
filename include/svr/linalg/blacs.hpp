#pragma once
// Typed BLACS wrappers (the raw C interface is private to src/linalg/, imports.hpp). Only
// ProcessGrid (process_grid.hpp) uses them: it owns the handle and the context they create.
#include <mpi.h>

#include <vector>

namespace svr::blacs {

// A BLACS system handle wrapping `comm` (Csys2blacs_handle). Free with free_system_handle.
int system_handle(MPI_Comm comm);
void free_system_handle(int handle);

// A grid context of nprow x npcol processes from system handle `handle`: process (r, c) of the
// grid is rank usermap[r + c * nprow] of the handle's communicator (column-major, as
// Cblacs_gridmap takes it). Collective over the communicator's ranks named in usermap. Throws
// std::invalid_argument when usermap does not have nprow * npcol entries. Free with grid_exit.
int grid_map(int handle, std::vector<int> usermap, int nprow, int npcol);
void grid_exit(int context);

// This process's view of a grid context (Cblacs_gridinfo): the grid shape and its coordinates
// (-1 for a process outside the grid).
struct GridInfo {
  int rows = -1, cols = -1;
  int my_row = -1, my_col = -1;
};
GridInfo grid_info(int context);

}  // namespace svr::blacs
