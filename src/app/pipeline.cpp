#include "svr/pipeline.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "svr/chains.hpp"
#include "svr/distributed_layer.hpp"
#include "svr/distributed_svd.hpp"
#include "svr/edges.hpp"
#include "svr/execution_plan.hpp"
#include "svr/fault_injection.hpp"
#include "svr/layer_matrix.hpp"
#include "svr/measures.hpp"
#include "svr/model_file.hpp"
#include "svr/network.hpp"
#include "svr/output_directory.hpp"
#include "svr/partition.hpp"
#include "svr/plot_svg.hpp"
#include "svr/process_grid.hpp"
#include "svr/progress.hpp"
#include "svr/report_html.hpp"
#include "svr/sha256.hpp"
#include "svr/significance.hpp"
#include "svr/svd.hpp"
#include "svr/writers.hpp"

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

// Per-node and per-pair measures of spec section 5, on rank 0 once every E is known.
void compute_measures(SvrResult& result, const Options& options) {
  const std::size_t n = result.layers.size();
  for (std::size_t l = 0; l < n; ++l) {
    LayerResult& layer = result.layers[l];
    layer.cluster = clusters(layer.sigma);
    layer.near_kernel = near_kernel(layer.sigma, options.near_kernel_tau);
    layer.intensity = l + 1 < n ? intensity(result.pairs[l].E, result.pairs[l].c)
                                : std::vector<double>(layer.sigma.size(), 1.0);
  }
  std::vector<Eigen::VectorXd> s, indicator;
  std::vector<Eigen::MatrixXd> e;
  for (const LayerResult& layer : result.layers) {
    s.push_back(layer.sigma);
    indicator.push_back(
        (layer.sigma.array() > options.path_threshold).cast<double>().matrix());
  }
  for (PairResult& pair : result.pairs) {
    const InternalDims dims = internal_dims(pair.E, pair.c);
    pair.internal_dim_to = dims.to;
    pair.internal_dim_from = dims.from;
    const Entropy h = entropy(pair.E);
    pair.entropy = h.h;
    pair.entropy_normalized = h.normalized;
    e.push_back(pair.E);
  }
  result.log10_path_metric = log10_path_metric(s, e);
  result.log10_path_metric_unweighted = log10_path_metric(indicator, e);

  std::vector<std::int64_t> sizes;
  for (const LayerResult& layer : result.layers) sizes.push_back(layer.sigma.size());
  std::vector<std::vector<SignificantEdge>> significant(result.pairs.size());
  for (std::size_t l = 0; l < result.pairs.size(); ++l)
    for (const EdgeRecord& edge : result.pairs[l].edges)
      if (edge.significant)
        significant[l].push_back({edge.to_neuron, edge.from_neuron, edge.log10_p});
  result.chains = top_chains(sizes, significant, options.top_chains);
}

void write_outputs(const SvrResult& result, const Options& options, OutputDirectory& out) {
  write_nodes_csv(out.file("nodes.csv"), result);
  write_edges_csv(out.file("edges.csv"), result);
  write_graphml(out.file("graph.graphml"), result);
  if (options.save_spectra) write_spectra(out.file("spectra.safetensors"), result, options);
  if (options.save_adjacency) write_adjacency(out.file("adjacency.safetensors"), result, options);
  if (options.plot) {
    write_svr_svg(out.file("svr.svg"), result, options);
    write_report_html(out.file("report.html"), result, options);
  }
  write_summary_json(out.file("summary.json"), result, options);  // last: marks completeness
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
  // (layers, pairs) and the execution (who factors which layer, and how).
  ModelFile model;
  NetworkPlan plan;
  ExecutionPlan execution;
  mpi::collective_phase(comm, [&] {
    inject_failure_point("read", comm.rank());
    model = open_model(options.model_path);
    plan = plan_network(model, options);
    std::vector<LayerShape> shapes;
    for (const LayerSpec& spec : plan.layers)
      shapes.push_back({spec.rows(options.method), spec.cols(options.method)});
    execution = plan_execution(shapes, comm.size(), options.scalapack_min_dim, options.block_size);
  });
  result.run.input_format = model.format;
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
  progress.say("read " + options.model_path + " (" + model.format + "): " +
               std::to_string(plan.layers.size()) + " layers, method " +
               to_string(options.method) + ", " + std::to_string(comm.size()) + " rank(s)");
  end_phase("read");

  // SVD. Small layers: each rank reads and factors the layers the plan gives it (LAPACK), then
  // sends U, s, V to rank 0. Large layers, one after the other: every rank reads only its
  // blocks, ScaLAPACK factors the layer on the grid of all ranks, U and V are gathered to rank 0.
  const std::size_t n = plan.layers.size();
  std::vector<Spectrum> mine(n);
  auto say_svd = [&](std::size_t l) {
    const LayerExecution& how = execution.layers[l];
    progress.say("svd " + std::to_string(l + 1) + "/" + std::to_string(n) + " " +
                 plan.layers[l].name + " (" +
                 shape_text(result.layers[l].rows, result.layers[l].cols) + ") on " +
                 (how.engine == SvdEngine::Lapack
                      ? "rank " + std::to_string(how.rank)
                      : "a " + std::to_string(how.grid.rows) + "x" +
                            std::to_string(how.grid.cols) + " ScaLAPACK grid"));
  };
  auto store = [&](std::size_t l, Spectrum& spectrum) {
    result.layers[l].sigma = std::move(spectrum.s);
    result.layers[l].U = std::move(spectrum.U);
    result.layers[l].V = std::move(spectrum.V);
  };
  mpi::collective_phase(comm, [&] {
    inject_failure_point("svd", comm.rank());
    for (std::size_t l : execution.lapack_layers_of(comm.rank())) {
      mine[l] = thin_svd(layer_matrix(model, plan.layers[l], options), options.max_rank);
      say_svd(l);  // rank 0 only: its own layers as they finish, the others' as they arrive
    }
  });
  for (std::size_t l = 0; l < n; ++l) {
    if (execution.layers[l].engine != SvdEngine::Lapack) continue;
    const int owner = execution.layers[l].rank;
    const int tag = static_cast<int>(l % 30000);
    if (comm.rank() == owner && !comm.is_root()) {
      comm.send(mine[l].s, 0, tag);
      comm.send(mine[l].U, 0, tag);
      comm.send(mine[l].V, 0, tag);
      mine[l] = Spectrum{};
    }
    if (!comm.is_root()) continue;
    if (owner != 0) {
      mine[l].s = comm.receive(owner, tag);
      mine[l].U = comm.receive(owner, tag);
      mine[l].V = comm.receive(owner, tag);
      say_svd(l);
    }
    store(l, mine[l]);
  }
  for (std::size_t l : execution.scalapack_layers()) {
    mpi::collective_phase(comm, [&] {
      // The grid spans all ranks in order, so grid rank 0 is rank 0.
      const ProcessGrid grid(comm.get(), execution.layers[l].grid, 0);
      DistributedSpectrum factors = [&] {
        const DistributedMatrix M = distributed_layer_matrix(model, plan.layers[l], options, grid,
                                                             execution.block_size);
        return distributed_svd(M);  // M is freed before the gather
      }();
      Spectrum spectrum = gather_spectrum(factors, 0, options.max_rank);
      if (comm.is_root()) store(l, spectrum);
      say_svd(l);
    });
  }
  end_phase("svd");

  // Edges, significance and measures on rank 0.
  mpi::collective_phase(comm, [&] {
    inject_failure_point("edges", comm.rank());
    if (!comm.is_root()) return;
    for (std::size_t l = 0; l + 1 < result.layers.size(); ++l) {
      const PairSpec& geometry = plan.pairs[l];
      PairResult pair;
      pair.from_layer = static_cast<int>(l);
      pair.c = geometry.c;
      pair.z_u = geometry.z_u;
      pair.z_v = geometry.z_v;
      pair.E = edge_weights(result.layers[l].U, result.layers[l + 1].V, pair.c, pair.z_u,
                            pair.z_v);
      result.pairs.push_back(std::move(pair));
    }
    end_phase("edges");
    progress.say("edges: " + std::to_string(result.pairs.size()) + " pairs");
    inject_failure_point("significance", comm.rank());
    test_edges(result.pairs, options);
    std::int64_t tested = 0, significant = 0;
    for (const PairResult& pair : result.pairs) {
      tested += pair.edges_tested;
      significant += pair.significant;
    }
    progress.say("significance: " + std::to_string(significant) + " of " +
                 std::to_string(tested) + " edges significant (" + to_string(options.correction) +
                 ", alpha " + format_number(options.alpha) + ")");
    compute_measures(result, options);
    end_phase("significance");
  });

  // Output: rank 0 writes every file into the staging directory and renames it into place.
  double peak = 0.0;
  mpi::collective_phase(comm, [&] {
    peak = comm.max(peak_memory_mb());  // collective: every rank takes part
    inject_failure_point("write", comm.rank());
    if (!comm.is_root()) return;
    result.run.peak_memory_mb = peak;
    result.run.input_sha256 = model_sha256(model);
    if (!options.save_spectra)  // the factors are no longer needed
      for (LayerResult& layer : result.layers) layer.U.resize(0, 0), layer.V.resize(0, 0);
    end_phase("checksum");
    write_outputs(result, options, *out);
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
