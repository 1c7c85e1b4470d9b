#pragma once
// --skip-complete: a requeued or resubmitted job skips a model whose OUTDIR already holds a
// complete run of it: summary.json present, its run.input_sha256 equal to the model's SHA-256,
// and its options block equal to this run's, except model_path, outdir, force and quiet.

#include "svr/app/options.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {

// Collective. Rank 0 checks options.outdir against options.model_path and broadcasts the
// answer; true means the run is complete and nothing needs to be done.
bool outdir_is_complete(const Options& options, const mpi::Communicator& comm);

}  // namespace svr
