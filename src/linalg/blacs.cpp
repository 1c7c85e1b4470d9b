#include "svr/linalg/blacs.hpp"

#include <stdexcept>
#include <string>

#include "imports.hpp"

namespace svr::blacs {

int system_handle(MPI_Comm comm) { return Csys2blacs_handle(comm); }

void free_system_handle(int handle) { Cfree_blacs_system_handle(handle); }

int grid_map(int handle, std::vector<int> usermap, int nprow, int npcol) {
  if (nprow < 1 || npcol < 1 ||
      usermap.size() != static_cast<std::size_t>(nprow) * static_cast<std::size_t>(npcol))
    throw std::invalid_argument("blacs::grid_map: a " + std::to_string(nprow) + "x" +
                                std::to_string(npcol) + " grid needs that many map entries, got " +
                                std::to_string(usermap.size()));
  int context = handle;  // in: the system handle; out: the grid context
  Cblacs_gridmap(&context, usermap.data(), nprow, nprow, npcol);
  return context;
}

void grid_exit(int context) { Cblacs_gridexit(context); }

GridInfo grid_info(int context) {
  GridInfo info;
  Cblacs_gridinfo(context, &info.rows, &info.cols, &info.my_row, &info.my_col);
  return info;
}

}  // namespace svr::blacs
