#pragma once
// The matrix M of one large layer (spec section 1) as a DistributedMatrix, the distributed
// counterpart of layer_matrix: every rank of the grid reads only the tensor elements of its own
// blocks (svr::TensorRangeReader at computed offsets), so no rank reads or holds the whole layer.
#include <cstdint>

#include "svr/io/model_file.hpp"
#include "svr/linalg/distributed_matrix.hpp"
#include "svr/linalg/process_grid.hpp"
#include "svr/network/network_options.hpp"
#include "svr/network/network_plan.hpp"

namespace svr {

// Collective over `grid` (its inactive ranks return an empty matrix at once). M is
// layer.rows(method) x layer.cols(method) in nb = `block` blocks:
//  - linear, or conv with method svr: M's row-major order is the tensor's, so the run
//    (row, col, count) of DistributedMatrix::row_runs is elements row*cols + col .. + count;
//  - conv with cosvr: M(o*z + p, a) = W[o, a, p]: a run reads the span of its elements in the
//    tensor and keeps every z-th.
// Then the checks and the fold of layer_matrix, with the same one-line errors, agreed over the
// grid (every rank throws the same InputError): a read error (the lowest failing grid rank's);
// NaN/Inf (the lowest flat element index of the tensor, as layer_matrix finds it first);
// all-zero (allreduce of max |w|); with BatchNormMode::Fold, the batch norm checks
// (batchnorm_scales, read by every rank: two vectors of out_channels), row i scaled by the
// factor of channel i (svr) or i / z (cosvr), overflow and all-zero after folding.
DistributedMatrix distributed_layer_matrix(const ModelFile& model, const LayerSpec& layer,
                                           const LayerReadOptions& options, const ProcessGrid& grid,
                                           std::int64_t block);

}  // namespace svr
