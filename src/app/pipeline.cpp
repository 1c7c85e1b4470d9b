#include "svr/app/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "svr/app/progress.hpp"
#include "svr/app/reduction.hpp"
#include "svr/app/reduction_adjacency.hpp"
#include "svr/app/reduction_edges.hpp"
#include "svr/app/reduction_factors.hpp"
#include "svr/app/reduction_path.hpp"
#include "svr/core/fault_injection.hpp"
#include "svr/io/model_file.hpp"
#include "svr/io/sha256.hpp"
#include "svr/network/network_plan.hpp"
#include "svr/output/edges_csv.hpp"
#include "svr/output/graphml.hpp"
#include "svr/output/nodes_csv.hpp"
#include "svr/output/output_directory.hpp"
#include "svr/output/plot_svg.hpp"
#include "svr/output/report_html.hpp"
#include "svr/output/spectra.hpp"
#include "svr/output/summary_json.hpp"
#include "svr/parallel/execution_plan.hpp"
#include "svr/parallel/memory_budget.hpp"

namespace svr {
namespace {

using Clock = std::chrono::steady_clock;

std::string basename_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

std::string shape_text(std::int64_t rows, std::int64_t cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

// Layer results without the factors: the part of the answer that every rank can fill itself.
LayerResult describe_layer(const LayerSpec& spec, Method method) {
  LayerResult layer;
  layer.name = spec.name;
  layer.kind = spec.kind_name();
  layer.tensor_shape = spec.shape;
  layer.rows = spec.rows(method);
  layer.cols = spec.cols(method);
  layer.full_rank = std::min(layer.rows, layer.cols);
  if (spec.bn) layer.folded_bn = spec.bn->prefix;
  return layer;
}

// Rank 0's files, from what rank 0 holds (no E, no factors unless --save-spectra).
// adjacency.safetensors is written by every rank, summary.json after everything else.
void write_root_outputs(const SvrResult& result, const Options& options,
                        const std::string& staging) {
  auto file = [&](const char* name) { return staging + "/" + name; };
  write_nodes_csv(file("nodes.csv"), result);
  write_edges_csv(file("edges.csv"), result);
  write_graphml(file("graph.graphml"), result);
  if (options.save_spectra) write_spectra(file("spectra.safetensors"), result, options);
  if (options.plot) {
    write_svr_svg(file("svr.svg"), result, options);
    write_report_html(file("report.html"), result, options);
  }
}

// Every rank's peak resident memory, on rank 0 in rank order (collective).
std::vector<double> gather_peak_memory(const mpi::Communicator& comm) {
  double mine = peak_memory_mb();
  std::vector<double> all(comm.is_root() ? static_cast<std::size_t>(comm.size()) : 0);
  mpi::check(MPI_Gather(&mine, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, 0, comm.get()),
             "MPI_Gather");
  return all;
}

}  // namespace

SvrResult run_pipeline(const Options& options, const mpi::Communicator& comm,
                       const std::string& command_line) {
  Progress progress(comm.is_root() && !options.quiet);
  SvrResult result;
  result.model_name = basename_of(options.model_path);
  result.run.version = SVR_VERSION;
  result.run.command_line = command_line;
  result.run.ranks = comm.size();
  auto phase_start = Clock::now();
  auto end_phase = [&](const char* name) {
    const auto now = Clock::now();
    result.run.phases.push_back({name, std::chrono::duration<double>(now - phase_start).count()});
    phase_start = now;
  };

  // Refuse a bad OUTDIR before any work: an existing one without --force, an unwritable parent.
  // --plan computes nothing and creates no OUTDIR.
  std::optional<OutputDirectory> out;
  mpi::collective_phase(comm, [&] {
    if (comm.is_root() && !options.plan) out.emplace(options.outdir, options.force);
  });

  // Every rank parses the metadata (small) and derives the same plans from it: the network
  // (layers, pairs) and the execution (who factors which layer and how, who owns which pair).
  ModelFile model;
  NetworkPlan plan;
  ExecutionPlan execution;
  // The same number on every rank (collective), so every rank plans the same teams.
  const double memory_budget = options.memory_per_rank_mb > 0.0
                                   ? options.memory_per_rank_mb * 1024.0 * 1024.0
                                   : detect_memory_per_rank(comm);
  // Every rank needs the staging directory: the pair owners write their E into it.
  std::string staging = out ? out->staging_path() : std::string();
  mpi::collective_phase(comm, [&] {
    if (!options.plan) comm.broadcast(staging, 0);
    inject_failure_point("read", comm.rank());
    model = open_model(options.model_path);
    plan = plan_network(model, options);
    std::vector<LayerShape> shapes;
    for (const LayerSpec& spec : plan.layers)
      shapes.push_back({spec.rows(options.method), spec.cols(options.method)});
    execution = plan_execution(shapes, comm.size(), options.scalapack_min_dim, options.block_size,
                               GridPolicy{options.max_grids, memory_budget,
                                          options.min_local_elements});
    if (!execution.budget_warning.empty() && options.memory_per_rank_mb > 0.0)
      throw InputError("plan: " + execution.budget_warning +
                       " (--memory-per-rank); run on more ranks or raise the budget");
  });
  if (comm.is_root() && !execution.budget_warning.empty())
    std::fprintf(stderr, "svr: warning: %s (detected; --memory-per-rank sets it)\n",
                 execution.budget_warning.c_str());
  result.run.input_format = model.format;
  result.run.memory_budget_mb = memory_budget / (1024.0 * 1024.0);
  for (const LayerExecution& how : execution.layers)
    result.run.placements.push_back(
        how.engine == SvdEngine::Lapack
            ? LayerPlacement{"lapack", how.rank, 0, 0, -1}
            : LayerPlacement{"scalapack", how.first_rank, how.grid.rows, how.grid.cols, how.team});
  for (const LayerSpec& spec : plan.layers)
    result.layers.push_back(describe_layer(spec, options.method));
  if (options.plan) {
    if (comm.is_root()) {
      std::vector<std::string> names;
      for (const LayerSpec& spec : plan.layers) names.push_back(spec.name);
      std::fputs(describe_plan(execution, names).c_str(), stdout);
      std::fflush(stdout);
    }
    return result;
  }
  progress.say("read " + options.model_path + " (" + model.format +
               "): " + std::to_string(plan.layers.size()) + " layers, method " +
               to_string(options.method) + ", " + std::to_string(comm.size()) + " rank(s)");
  end_phase("read");

  // SVD. Small layers: each rank reads and factors the layers the plan gives it (LAPACK). Large
  // layers, one after the other: every rank reads only its blocks and ScaLAPACK factors the
  // layer on the grid of all ranks. The factors stay where they were computed; every rank gets
  // every layer's singular values.
  const std::size_t n = plan.layers.size();
  LayerFactors factors;
  mpi::collective_phase(comm, [&] {
    inject_failure_point("svd", comm.rank());
    factor_lapack_layers(factors, model, plan, execution, options, comm.rank());
  });
  if (!execution.teams.empty()) {
    mpi::collective_phase(comm, [&] {
      factor_scalapack_layers(factors, model, plan, execution, options, comm, {});
    });
  }
  mpi::collective_phase(
      comm, [&] { share_singular_values(factors, execution, options, comm, result.layers); });
  for (std::size_t l = 0; l < n; ++l) {
    const LayerExecution& how = execution.layers[l];
    progress.say(
        "svd " + std::to_string(l + 1) + "/" + std::to_string(n) + " " + plan.layers[l].name +
        " (" + shape_text(result.layers[l].rows, result.layers[l].cols) + ") on " +
        (how.engine == SvdEngine::Lapack
             ? "rank " + std::to_string(how.rank)
             : "a " + std::to_string(how.grid.rows) + "x" + std::to_string(how.grid.cols) +
                   " ScaLAPACK grid (team " + std::to_string(how.team) + ", ranks " +
                   std::to_string(how.first_rank) + "-" +
                   std::to_string(how.first_rank + how.grid.size() - 1) + ")"));
  }
  // Every rank knows every pair's geometry; the statistics are filled in by the pair's owner.
  for (std::size_t l = 0; l + 1 < n; ++l) {
    PairResult pair;
    pair.from_layer = static_cast<int>(l);
    pair.c = plan.pairs[l].c;
    pair.z_u = plan.pairs[l].z_u;
    pair.z_v = plan.pairs[l].z_v;
    pair.z = options.method == Method::Svr ? pair.z_v : pair.z_u;
    result.pairs.push_back(std::move(pair));
  }
  end_phase("svd");

  // Edges: E of each pair on its owner rank (the failure point first, on every rank, agreed
  // before any rank waits for another).
  mpi::collective_phase(comm, [&] { inject_failure_point("edges", comm.rank()); });
  std::vector<Eigen::MatrixXd> E;
  mpi::collective_phase(
      comm, [&] { E = pair_edge_weights(factors, plan, execution, result.layers, comm); });
  if (options.save_spectra)  // the only reason for the factors to come to rank 0
    mpi::collective_phase(
        comm, [&] { gather_factors_to_root(factors, execution, options, comm, result.layers); });
  // Freed on every rank together: the grid's destructor frees its communicator (collective),
  // after the distributed factors that point at it.
  factors.distributed.clear();
  factors.local.clear();
  factors.all_ranks_grid.reset();
  factors.team_grid.reset();
  end_phase("edges");
  progress.say("edges: " + std::to_string(result.pairs.size()) + " pairs");

  // Significance and measures: each owner tests its pairs; rank 0 receives the per-pair results
  // and the candidate edges, corrects over the family and finishes the measures.
  std::vector<PairOutcome> outcomes;
  mpi::collective_phase(comm, [&] {
    inject_failure_point("significance", comm.rank());
    outcomes = reduce_owned_pairs(result.pairs, E, execution, options, comm.rank());
  });
  mpi::collective_phase(comm, [&] {
    gather_outcomes_to_root(result.pairs, outcomes, execution, comm);
    distributed_path_metrics(result, E, execution, options, comm);
  });
  if (!options.save_adjacency) E.clear();  // nobody needs E any more
  mpi::collective_phase(comm, [&] {
    if (!comm.is_root()) return;
    finish_reduction(result, outcomes, options);
    std::int64_t tested = 0, significant = 0;
    for (const PairResult& pair : result.pairs) {
      tested += pair.edges_tested;
      significant += pair.significant;
    }
    progress.say("significance: " + std::to_string(significant) + " of " + std::to_string(tested) +
                 " edges significant (" + to_string(options.correction) + ", alpha " +
                 format_number(options.alpha) + ")");
  });
  outcomes.clear();
  end_phase("significance");

  // Output into the staging directory: rank 0 writes its files, the pair owners write their E
  // into adjacency.safetensors, then rank 0 writes summary.json (last: marks completeness).
  mpi::collective_phase(comm, [&] {
    const std::vector<double> peak = gather_peak_memory(comm);  // collective: before any throw
    inject_failure_point("write", comm.rank());
    if (!comm.is_root()) return;
    result.run.peak_memory_mb_per_rank = peak;
    result.run.peak_memory_mb = *std::max_element(peak.begin(), peak.end());
    result.run.input_sha256 = model_sha256(model);
    end_phase("checksum");
    write_root_outputs(result, options, staging);
  });
  if (options.save_adjacency)
    mpi::collective_phase(comm, [&] {
      write_adjacency_distributed(staging + "/adjacency.safetensors", result, E, execution, options,
                                  comm);
    });
  E.clear();
  mpi::collective_phase(comm, [&] {
    if (!comm.is_root()) return;
    end_phase("write");
    write_summary_json(staging + "/summary.json", result, options);
  });
  // Only once every rank has agreed that the write phase succeeded does OUTDIR appear.
  mpi::collective_phase(comm, [&] {
    if (!comm.is_root()) return;
    out->commit();
    progress.say("wrote " + options.outdir);
  });
  return result;
}

}  // namespace svr
