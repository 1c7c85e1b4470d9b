#pragma once
// The output phase: OUTDIR, made complete or not at all. Rank 0 creates the staging directory
// before any work (so a bad OUTDIR fails in seconds), writes its files there from what it holds,
// the pairs' owners write their E into adjacency.safetensors with MPI-IO (E never travels to
// rank 0), rank 0 writes summary.json last, and only once every rank agreed that all of it
// succeeded is the staging directory renamed to OUTDIR (output_directory.hpp).
#include <Eigen/Dense>
#include <optional>
#include <string>
#include <vector>

#include "svr/app/options.hpp"
#include "svr/app/phase_significance.hpp"
#include "svr/core/results.hpp"
#include "svr/output/output_directory.hpp"
#include "svr/parallel/execution_plan.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr {

class PhaseClock;
class Progress;
struct LayerFactors;
struct RunPlans;

// Where this run writes: the staging directory (every rank knows its path) that becomes OUTDIR.
struct OutputTarget {
  std::optional<OutputDirectory> directory;  // on rank 0; none with --plan
  std::string staging;                       // on every rank; "" with --plan
};

// Collective, two agreed steps: rank 0 refuses a bad OUTDIR (one that exists without --force,
// an unwritable parent) and creates the staging directory; every rank learns its path. --plan
// creates nothing.
OutputTarget open_output(const Options& options, const mpi::Communicator& comm);

// The phase, collective, one agreed step each: every rank's peak memory to rank 0, the failure
// point, the model's checksum and rank 0's files (nodes.csv, edges.csv, graph.graphml,
// svr.svg, report.html); with --all-edges edges.csv instead written by the pairs' owners from
// `owned_edges` (then freed); with --save-spectra the factors, written by their owners (then the
// factors and their grids are freed); with --save-adjacency the pairs' E (then E is freed);
// summary.json; the rename into OUTDIR. Records the "checksum" and "write" phases on `clock`.
void output_phase(OutputTarget& target, std::vector<Eigen::MatrixXd>& E, LayerFactors& factors,
                  OwnedEdges& owned_edges, const RunPlans& plans, const Options& options,
                  const mpi::Communicator& comm, SvrResult& result, PhaseClock& clock,
                  const Progress& progress);

// --save-spectra without bringing the factors to rank 0: every rank computes the same file
// layout (output/spectra.hpp spectra_layout); rank 0 writes the header and every S, the owner
// of each LAPACK layer its U and V, and every rank of a ScaLAPACK team its blocks of its team's
// layers (the sign of each singular pair agreed over the team's grid first), all through MPI-IO
// into the one file in the staging directory. The same bytes as write_spectra.
// Collective over every rank. `result` needs the layer names, shapes and kept singular values
// on every rank; `factors` what svd_phase left on each rank. Throws OutputError naming `path`
// (on the rank where it happened) after the file is closed on every rank.
void write_spectra_distributed(const std::string& path, const SvrResult& result,
                               const LayerFactors& factors, const ExecutionPlan& execution,
                               const Options& options, const mpi::Communicator& comm);

// --all-edges without bringing every edge to rank 0: every rank learns the byte length of each
// pair's rows (the owner formats them once to count), rank 0 writes the header, and each owner
// formats its pairs' rows again straight into the file at their offset, through MPI-IO (one
// rank writes its rows in order in one pass). The
// same bytes as write_edges_csv on the result holding every edge. Collective over every rank;
// `result` needs the layers and the pairs' descriptions and null laws where they are owned.
// Throws OutputError naming `path` (on the rank where it happened) after the file is closed on
// every rank.
void write_edges_csv_distributed(const std::string& path, const SvrResult& result,
                                 const OwnedEdges& owned_edges, const ExecutionPlan& execution,
                                 const mpi::Communicator& comm);

// --save-adjacency without bringing E to rank 0: every rank computes the same file layout
// (output/adjacency.hpp adjacency_layout), rank 0 writes the header and each pair's owner writes
// its E at its offset, all through MPI-IO into the one file in the staging directory.

// Collective over every rank. `result` needs the layer names and singular values and the
// pairs' from_layer, c and z on every rank; E[l] on the owner of pair l. Throws OutputError
// naming `path` (on the rank where it happened) after the file is closed on every rank.
void write_adjacency_distributed(const std::string& path, const SvrResult& result,
                                 const std::vector<Eigen::MatrixXd>& E,
                                 const ExecutionPlan& execution, const Options& options,
                                 const mpi::Communicator& comm);

}  // namespace svr
