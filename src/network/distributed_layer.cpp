#include "svr/network/distributed_layer.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <vector>

#include "svr/core/error.hpp"
#include "svr/network/layer_matrix.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {

DistributedMatrix distributed_layer_matrix(const ModelFile& model, const LayerSpec& layer,
                                           const LayerReadOptions& options, const ProcessGrid& grid,
                                           std::int64_t block) {
  if (layer.groups > 1)
    throw Error("distributed_layer_matrix: grouped layer '" + layer.name +
                "' is factored on one rank (internal error)");
  const std::int64_t rows = layer.rows(options.method), cols = layer.cols(options.method);
  DistributedMatrix M(grid, rows, cols, block);
  if (!grid.active()) return M;
  const MPI_Comm comm = grid.comm();
  const bool cosvr = layer.kind == LayerKind::Conv && options.method == Method::Cosvr;
  const std::int64_t in = layer.in_channels, z = layer.kernel_size;
  // Flat (row-major) index in the weight tensor of M(i, j).
  auto flat_index = [&](std::int64_t i, std::int64_t j) {
    return cosvr ? ((i / z) * in + j) * z + i % z : i * cols + j;
  };

  // Read this rank's entries only.
  const TensorInfo* tensor = nullptr;
  // A read error is agreed with its message unchanged, so it reads as the LAPACK path's.
  mpi::agreed(comm, [&] {
    tensor = &require_tensor(model, layer.name);
    if (tensor->numel() != rows * cols)
      throw_input(model.path, layer.name,
                  "has " + std::to_string(tensor->numel()) + " elements, expected " +
                      std::to_string(rows * cols) + " for shape " + shape_string(layer.shape));
    TensorRangeReader reader(*tensor);
    std::vector<double> span;
    M.fill_from_row_major([&](const RowRun& run, double* out) {
      if (!cosvr) {
        reader.read(flat_index(run.row, run.col), run.count, out);
        return;
      }
      span.resize(static_cast<std::size_t>((run.count - 1) * z + 1));
      reader.read(flat_index(run.row, run.col), static_cast<std::int64_t>(span.size()),
                  span.data());
      for (std::int64_t k = 0; k < run.count; ++k)
        out[k] = span[static_cast<std::size_t>(k * z)];
    });
  });

  // NaN/Inf: the lowest flat index over the grid (key = 2 flat + (Inf ? 1 : 0)); all-zero.
  std::int64_t key = std::numeric_limits<std::int64_t>::max();
  double max_abs = 0.0;
  for (std::int64_t lj = 0; lj < M.local_cols(); ++lj)
    for (std::int64_t li = 0; li < M.local_rows(); ++li) {
      const double v = M.local(li, lj);
      if (std::isfinite(v)) {
        max_abs = std::max(max_abs, std::abs(v));
      } else {
        const std::int64_t flat = flat_index(M.global_row(li), M.global_col(lj));
        key = std::min(key, 2 * flat + (std::isnan(v) ? 0 : 1));
      }
    }
  std::int64_t first_bad = key;
  double global_max = max_abs;
  mpi::check(MPI_Allreduce(&key, &first_bad, 1, MPI_INT64_T, MPI_MIN, comm), "MPI_Allreduce");
  mpi::check(MPI_Allreduce(&max_abs, &global_max, 1, MPI_DOUBLE, MPI_MAX, comm), "MPI_Allreduce");
  if (first_bad != std::numeric_limits<std::int64_t>::max())
    throw_nonfinite(model, *tensor, first_bad / 2, first_bad % 2 == 0);
  if (global_max == 0.0) throw_all_zero(model, layer, false);

  if (layer.bn && options.batchnorm == BatchNormMode::Fold) {
    std::vector<double> scales;
    mpi::agreed(comm, [&] { scales = batchnorm_scales(model, layer, options.bn_eps); });
    double local[2] = {0.0, 0.0};  // {overflow, max |w|}
    for (std::int64_t li = 0; li < M.local_rows(); ++li) {
      const std::int64_t i = M.global_row(li);
      const double scale = scales[static_cast<std::size_t>(cosvr ? i / z : i)];
      for (std::int64_t lj = 0; lj < M.local_cols(); ++lj) {
        double& v = M.local(li, lj);
        v *= scale;
        if (!std::isfinite(v)) local[0] = 1.0;
        else local[1] = std::max(local[1], std::abs(v));
      }
    }
    double global[2] = {0.0, 0.0};
    mpi::check(MPI_Allreduce(local, global, 2, MPI_DOUBLE, MPI_MAX, comm), "MPI_Allreduce");
    if (global[0] != 0.0) throw_fold_overflow(model, layer);
    if (global[1] == 0.0) throw_all_zero(model, layer, true);
  }
  return M;
}

}  // namespace svr
