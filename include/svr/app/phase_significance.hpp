#pragma once
// The significance phase of the distributed reduction: every pair's statistics on the rank that
// holds its E (the pair's owner in the ExecutionPlan), then the little that rank 0 needs to
// finish the SVR: per-pair scalars and measures, the layer's intensities, a heatmap for the
// report, and the candidate edges of the multiple-testing correction (those that can be
// significant, or every edge with --all-edges). E itself never travels.
#include <Eigen/Dense>
#include <vector>

#include "svr/app/options.hpp"
#include "svr/app/phase_edges.hpp"
#include "svr/core/results.hpp"
#include "svr/parallel/execution_plan.hpp"
#include "svr/parallel/mpi.hpp"
#include "svr/stats/significance.hpp"

namespace svr {

class Progress;

// What a pair's owner computes from E alone.
struct PairOutcome {
  std::vector<double> intensity;  // of the producer's neurons, from this pair (spec section 7)
  EdgeCandidates candidates;      // for rank 0's correction (none once the edges are final)
  std::vector<EdgeRecord> edges;  // --all-edges: the significant edges, final on the owner
};

// --all-edges: every edge of each pair this rank owns, final (q and significance), which the
// owner writes into edges.csv itself (output phase). Indexed by pair; empty for pairs owned
// elsewhere, and without --all-edges.
using OwnedEdges = std::vector<std::vector<EdgeRecord>>;

// Local, on every rank for the pairs it owns (E[l] non-empty there): the null law and the
// screened candidates (significance.hpp screen_pair: exact p deferred under a Beta law unless
// every edge is reported; narrow_owned_candidates computes those that matter), internal dimensions, entropy and, with --plot,
// the heatmap, into result.pairs[l]; the rest into the returned outcome (empty for pairs owned
// elsewhere).
std::vector<PairOutcome> reduce_owned_pairs(std::vector<PairResult>& pairs,
                                            const std::vector<LayerResult>& layers,
                                            const EdgeWeights& E,
                                            const ExecutionPlan& execution, const Options& options,
                                            int rank);

// Collective: each owner's screened candidates made final (significance.hpp narrow_candidates),
// the family's counts summed over the ranks.
void narrow_owned_candidates(const std::vector<PairResult>& pairs,
                             std::vector<PairOutcome>& outcomes, const ExecutionPlan& execution,
                             const Options& options, const mpi::Communicator& comm);

// Collective, --all-edges only: every edge made final where it is. The correction runs over the
// family without gathering it (distributed_correction.hpp: --fdr-scope network sorts every
// tested p across the ranks; pair: each owner alone), then each owner keeps its pairs' edges
// (returned) and leaves only the significant ones in its outcomes, for rank 0; it sets the
// pairs' significant and unheld_edges counts.
OwnedEdges finish_owned_edges(std::vector<PairResult>& pairs, std::vector<PairOutcome>& outcomes,
                              const ExecutionPlan& execution, const Options& options,
                              const mpi::Communicator& comm);

// Collective: the outcome and the scalars of every pair on rank 0, sent by each owner in pair
// order (an owner other than rank 0 drops its outcome once sent).
void gather_outcomes_to_root(std::vector<PairResult>& pairs, std::vector<PairOutcome>& outcomes,
                             const ExecutionPlan& execution, const mpi::Communicator& comm);

// Rank 0, once every outcome is there: the correction over the family and the reported edges
// (report_edges; with --all-edges the significant edges the owners made final), the node measures
// (clusters, near-kernel flags, intensities) and the chains.
void finish_reduction(SvrResult& result, std::vector<PairOutcome>& outcomes,
                      const Options& options);

// The phase, collective, one agreed step each: the failure point and each owner's pairs
// (reduce_owned_pairs); the exact p of the candidates that matter (narrow_owned_candidates);
// with --all-edges every edge made final on its owner (finish_owned_edges, returned); the
// outcomes to rank 0 (gather_outcomes_to_root); rank 0 finishing the SVR (finish_reduction) and
// saying how many edges are significant. The path metric is the next phase's: it travels between
// other ranks, so it has its own agreement.
OwnedEdges significance_phase(const EdgeWeights& E, const ExecutionPlan& execution,
                              const Options& options, const mpi::Communicator& comm,
                              SvrResult& result, const Progress& progress);

}  // namespace svr
