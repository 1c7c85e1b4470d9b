#pragma once
// The SVD phase of the distributed reduction: every layer's factors stay where they were
// computed (a LAPACK layer's U, V on its owner rank; a ScaLAPACK layer's on the grid of all
// ranks, which stays alive with them) and only the singular values, which are small, are shared
// with every rank (docs/algorithms.md, "Distributed reduction").
#include <memory>
#include <vector>

#include "svr/distributed_svd.hpp"
#include "svr/execution_plan.hpp"
#include "svr/model_file.hpp"
#include "svr/mpi.hpp"
#include "svr/network.hpp"
#include "svr/options.hpp"
#include "svr/process_grid.hpp"
#include "svr/results.hpp"
#include "svr/svd.hpp"

namespace svr {

struct LayerFactors {
  // Declared first, destroyed last: the distributed factors point at it.
  std::unique_ptr<ProcessGrid> grid;  // every rank, near-square; null until a layer needs it
  std::vector<Spectrum> local;        // [l]: U, s, V of a LAPACK layer this rank owns (truncated)
  std::vector<std::unique_ptr<DistributedSpectrum>> distributed;  // [l]: a ScaLAPACK layer's
                                                                  // (all r columns, every rank)
};

// Local: reads and factors the LAPACK layers this rank owns. factors.local has a slot per layer.
void factor_lapack_layers(LayerFactors& factors, const ModelFile& model, const NetworkPlan& plan,
                          const ExecutionPlan& execution, const Options& options, int rank);

// Collective over every rank: reads this rank's blocks of layer l and factors it on the grid
// (created on first use).
void factor_scalapack_layer(LayerFactors& factors, std::size_t l, const ModelFile& model,
                            const NetworkPlan& plan, const ExecutionPlan& execution,
                            const Options& options, const mpi::Communicator& comm);

// Collective: every rank gets every layer's kept singular values (layers[l].sigma), the
// LAPACK ones broadcast from their owners, the ScaLAPACK ones already on every rank
// (truncated to --max-rank as thin_svd does).
void share_singular_values(const LayerFactors& factors, const ExecutionPlan& execution,
                           const Options& options, const mpi::Communicator& comm,
                           std::vector<LayerResult>& layers);

// Collective (--save-spectra): U and V of every layer into layers[l] on rank 0, the LAPACK
// layers' from their owners, the ScaLAPACK layers' gathered from the grid.
void gather_factors_to_root(const LayerFactors& factors, const ExecutionPlan& execution,
                            const Options& options, const mpi::Communicator& comm,
                            std::vector<LayerResult>& layers);

}  // namespace svr
