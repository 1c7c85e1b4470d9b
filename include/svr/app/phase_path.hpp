#pragma once
// The path phase: the path metrics of spec section 5, with x travelling from pair owner to pair
// owner, so that no rank needs more than the E it holds.
#include <Eigen/Dense>
#include <vector>

#include "svr/app/options.hpp"
#include "svr/core/results.hpp"
#include "svr/parallel/execution_plan.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {

// Collective: result.log10_path_metric and log10_path_metric_unweighted (measures.hpp
// log10_path_metric with s, and with the indicator s > --path-threshold) on rank 0, with the
// same arithmetic as the serial function. Needs result.layers[l].sigma on every rank and E[l]
// on the owner of pair l.
void distributed_path_metrics(SvrResult& result, const std::vector<Eigen::MatrixXd>& E,
                              const ExecutionPlan& execution, const Options& options,
                              const mpi::Communicator& comm);

// The phase: distributed_path_metrics in one agreed step of its own.
void path_phase(const std::vector<Eigen::MatrixXd>& E, const ExecutionPlan& execution,
                const Options& options, const mpi::Communicator& comm, SvrResult& result);

}  // namespace svr
