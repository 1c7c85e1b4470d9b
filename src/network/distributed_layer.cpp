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
namespace {

// Serves this rank's runs of a row-major tensor from one read of the rest of their row (at most
// kWindowElements), instead of one read per block of columns: a 4096 x 25088 layer on a 1 x 2
// grid took 800,000 reads of 64 elements per rank (4.5 s), one per row now. The window also
// reads the other process columns' blocks of the row, so past kMaxWindowedColumns process
// columns each run is read alone.
class RowWindow {
 public:
  static constexpr std::int64_t kWindowElements = std::int64_t{1} << 18;
  static constexpr int kMaxWindowedColumns = 16;

  RowWindow(TensorRangeReader& reader, std::int64_t cols, int grid_cols)
      : reader_(reader),
        cols_(cols),
        windowed_(grid_cols <= kMaxWindowedColumns),
        strided_(!reader.tensor().strides.empty()) {}

  void read(std::int64_t row, std::int64_t col, std::int64_t count, double* out) {
    const std::int64_t flat = row * cols_ + col;
    if (!windowed_) {
      reader_.read(flat, count, out);
      return;
    }
    if (flat < first_ || flat + count > first_ + size_) {
      // A strided view (a transposed ONNX MatMul weight) is read a block of rows at a time:
      // one row of it is one element of every stored row, a pread each.
      const std::int64_t end = strided_ ? reader_.numel() : (row + 1) * cols_;
      size_ = std::max(count, std::min(kWindowElements, end - flat));
      values_.resize(static_cast<std::size_t>(size_));
      reader_.read(flat, size_, values_.data());
      first_ = flat;
    }
    std::copy_n(values_.data() + (flat - first_), count, out);
  }

 private:
  TensorRangeReader& reader_;
  std::int64_t cols_;
  bool windowed_;
  bool strided_;
  std::int64_t first_ = 0, size_ = 0;
  std::vector<double> values_;
};

}  // namespace

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
    RowWindow window(reader, cols, grid.shape().cols);
    std::vector<double> span;
    M.fill_from_row_major([&](const RowRun& run, double* out) {
      if (!cosvr) {
        window.read(run.row, run.col, run.count, out);
        return;
      }
      span.resize(static_cast<std::size_t>((run.count - 1) * z + 1));
      reader.read(flat_index(run.row, run.col), static_cast<std::int64_t>(span.size()),
                  span.data());
      for (std::int64_t k = 0; k < run.count; ++k) out[k] = span[static_cast<std::size_t>(k * z)];
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

  if (folds_anything(layer, options)) {
    std::vector<double> scales, column_scales;
    mpi::agreed(comm, [&] {
      if (layer.bn) scales = batchnorm_scales(model, layer, layer.bn->eps.value_or(options.bn_eps));
      if (!layer.input_scale.empty()) column_scales = input_scales(model, layer);
    });
    double local[2] = {0.0, 0.0};  // {overflow, max |w|}
    for (std::int64_t li = 0; li < M.local_rows(); ++li) {
      const std::int64_t i = M.global_row(li);
      const double scale =
          scales.empty() ? 1.0 : scales[static_cast<std::size_t>(cosvr ? i / z : i)];
      for (std::int64_t lj = 0; lj < M.local_cols(); ++lj) {
        double& v = M.local(li, lj);
        // The same product as layer_matrix's, so that both paths give the same bits. Column j
        // is input channel j / z (svr) or j (cosvr).
        const std::int64_t j = M.global_col(lj);
        v *= column_scales.empty()
                 ? scale
                 : scale * column_scales[static_cast<std::size_t>(cosvr ? j : j / z)];
        if (!std::isfinite(v))
          local[0] = 1.0;
        else
          local[1] = std::max(local[1], std::abs(v));
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
