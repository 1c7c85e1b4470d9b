#pragma once
// --save-adjacency without bringing E to rank 0: every rank computes the same file layout
// (writers.hpp adjacency_layout), rank 0 writes the header and each pair's owner writes its E
// at its offset, all through MPI-IO into the one file in the staging directory.
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "svr/core/options.hpp"
#include "svr/core/results.hpp"
#include "svr/parallel/execution_plan.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {

// Collective over every rank. `result` needs the layer names and singular values and the
// pairs' from_layer, c and z on every rank; E[l] on the owner of pair l. Throws OutputError
// naming `path` (on the rank where it happened) after the file is closed on every rank.
void write_adjacency_distributed(const std::string& path, const SvrResult& result,
                                 const std::vector<Eigen::MatrixXd>& E,
                                 const ExecutionPlan& execution, const Options& options,
                                 const mpi::Communicator& comm);

}  // namespace svr
