#pragma once
// The SVR end to end: read, plan, SVD every layer, edges and their significance, measures,
// outputs. Collective over the communicator; every phase agrees on errors before the next.
#include <string>

#include "svr/app/options.hpp"
#include "svr/core/results.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {

// Runs the SVR described by `options` and writes OUTDIR. Returns the result on rank 0 (other
// ranks get only the layers' names, shapes and singular values and the pairs' geometry). No
// rank ever holds every E or every factor: docs/algorithms.md, "Distributed reduction".
// Throws, on every rank alike, the agreed error (mpi::Agreed) of any rank's failure.
SvrResult run_pipeline(const Options& options, const mpi::Communicator& comm,
                       const std::string& command_line);

}  // namespace svr
