#pragma once
// The transpose of a distributed matrix, on the same grid with the same block.
#include <cstdint>

#include "svr/linalg/distributed_matrix.hpp"

namespace svr {

// Collective over a's grid. On a grid of one process row (where the SVD of a layer split over a
// team transposes its V^T), every rank holds whole columns of both a and a^T: each rank keeps
// its own block, and in P - 1 rounds sends every other rank the rows of its columns that rank
// needs, packed, receiving the same from another; the blocks go into place in cache-sized
// tiles. On VGG16's split classifier.0 (4096 x 25088, 1 x 2 grid) it took 1.6-2.6 s where
// pdtran took 2.0-3.1 s, most of both the first touch of the result. Other grids use pdtran.
// The exchanges go in messages of at most `piece_doubles` values (and at least one column),
// through two buffers of at most that size; a piece below 1 is std::invalid_argument. Throws svr::Error
// on every rank alike when the buffers do not fit.
DistributedMatrix transpose(const DistributedMatrix& a, std::int64_t piece_doubles = 1 << 20);

}  // namespace svr
