#pragma once
// The transpose of a distributed matrix, on the same grid with the same block.
#include <cstdint>

#include "svr/linalg/distributed_matrix.hpp"

namespace svr {

// Collective over a's grid. On a grid of one process row (where the SVD of a layer split over a
// team transposes its 25088 x 4096 V), every rank holds whole columns of both a and a^T, so each
// pair of ranks swaps one packed block (P - 1 rounds of MPI_Sendrecv-like exchanges, buffers of
// about 2/P of the local array) and the blocks are transposed in cache-sized tiles: about 6x
// faster than PBLAS pdtran there. Other grids use pdtran. Throws svr::Error on every rank
// alike when the buffers do not fit. The exchanges go in messages of at most `piece_doubles`
// values (and at least one column), through two buffers of that size.
DistributedMatrix transpose(const DistributedMatrix& a, std::int64_t piece_doubles = 1 << 20);

}  // namespace svr
