#include "svr/reduction_factors.hpp"

#include <algorithm>
#include <cstdint>

#include "svr/distributed_layer.hpp"
#include "svr/layer_matrix.hpp"

namespace svr {

void factor_lapack_layers(LayerFactors& factors, const ModelFile& model, const NetworkPlan& plan,
                          const ExecutionPlan& execution, const Options& options, int rank) {
  factors.local.resize(plan.layers.size());
  factors.distributed.resize(plan.layers.size());
  for (std::size_t l : execution.lapack_layers_of(rank))
    factors.local[l] = thin_svd(layer_matrix(model, plan.layers[l], options), options.max_rank);
}

void factor_scalapack_layer(LayerFactors& factors, std::size_t l, const ModelFile& model,
                            const NetworkPlan& plan, const ExecutionPlan& execution,
                            const Options& options, const mpi::Communicator& comm) {
  factors.local.resize(plan.layers.size());
  factors.distributed.resize(plan.layers.size());
  // Every ScaLAPACK layer uses the same grid of all ranks in order (grid rank = rank), so one
  // grid serves them all and outlives their factors until the edges are done.
  if (!factors.grid)
    factors.grid = std::make_unique<ProcessGrid>(comm.get(), execution.layers[l].grid, 0);
  const DistributedMatrix M =
      distributed_layer_matrix(model, plan.layers[l], options, *factors.grid, execution.block_size);
  factors.distributed[l] = std::make_unique<DistributedSpectrum>(distributed_svd(M));
}

void share_singular_values(const LayerFactors& factors, const ExecutionPlan& execution,
                           const Options& options, const mpi::Communicator& comm,
                           std::vector<LayerResult>& layers) {
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerExecution& how = execution.layers[l];
    Eigen::VectorXd& sigma = layers[l].sigma;
    if (how.engine == SvdEngine::Scalapack) {
      sigma = factors.distributed[l]->s;
      if (options.max_rank && sigma.size() > *options.max_rank)
        sigma.conservativeResize(*options.max_rank);
      continue;
    }
    std::int64_t count = comm.rank() == how.rank ? factors.local[l].s.size() : 0;
    mpi::check(MPI_Bcast(&count, 1, MPI_INT64_T, how.rank, comm.get()), "MPI_Bcast");
    sigma = comm.rank() == how.rank ? factors.local[l].s : Eigen::VectorXd(count);
    mpi::check(MPI_Bcast(sigma.data(), static_cast<int>(count), MPI_DOUBLE, how.rank, comm.get()),
               "MPI_Bcast");
  }
}

void gather_factors_to_root(const LayerFactors& factors, const ExecutionPlan& execution,
                            const Options& options, const mpi::Communicator& comm,
                            std::vector<LayerResult>& layers) {
  // Layer order on every rank, so the point-to-point transfers and the grid gathers interleave
  // the same way everywhere.
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerExecution& how = execution.layers[l];
    const int tag = static_cast<int>(l % 30000);
    if (how.engine == SvdEngine::Scalapack) {
      Spectrum spectrum = gather_spectrum(*factors.distributed[l], 0, options.max_rank);
      if (comm.is_root()) {
        layers[l].U = std::move(spectrum.U);
        layers[l].V = std::move(spectrum.V);
      }
    } else if (how.rank == 0) {
      if (comm.is_root()) {
        layers[l].U = factors.local[l].U;
        layers[l].V = factors.local[l].V;
      }
    } else if (comm.rank() == how.rank) {
      comm.send(factors.local[l].U, 0, tag);
      comm.send(factors.local[l].V, 0, tag);
    } else if (comm.is_root()) {
      layers[l].U = comm.receive(how.rank, tag);
      layers[l].V = comm.receive(how.rank, tag);
    }
  }
}

}  // namespace svr
