#include "svr/app/phase_output.hpp"

#include <mpi.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "svr/app/phase_read.hpp"
#include "svr/app/progress.hpp"
#include "svr/core/error.hpp"
#include "svr/core/fault_injection.hpp"
#include "svr/io/sha256.hpp"
#include "svr/output/adjacency.hpp"
#include "svr/output/edges_csv.hpp"
#include "svr/output/graphml.hpp"
#include "svr/output/nodes_csv.hpp"
#include "svr/output/plot_svg.hpp"
#include "svr/output/report_html.hpp"
#include "svr/output/spectra.hpp"
#include "svr/output/summary_json.hpp"

namespace svr {
namespace {

void check_io(int code, const char* call, const std::string& path) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw OutputError(path + ": " + call + " failed: " + std::string(text, length));
}

// MPI counts are int: large blocks go in pieces.
void write_bytes_at(MPI_File file, MPI_Offset offset, const char* data, std::uint64_t size,
                    const std::string& path) {
  constexpr std::uint64_t kChunk = std::numeric_limits<int>::max() / 2;
  for (std::uint64_t done = 0; done < size;) {
    const int count = static_cast<int>(std::min(kChunk, size - done));
    MPI_Status status;
    check_io(MPI_File_write_at(file, offset + static_cast<MPI_Offset>(done), data + done, count,
                               MPI_BYTE, &status),
             "MPI_File_write_at", path);
    int written = 0;
    check_io(MPI_Get_count(&status, MPI_BYTE, &written), "MPI_Get_count", path);
    if (written != count)
      throw OutputError(path + ": short write (" + std::to_string(written) + " of " +
                        std::to_string(count) + " bytes; disk full?)");
    done += static_cast<std::uint64_t>(count);
  }
}

}  // namespace

void write_adjacency_distributed(const std::string& path, const SvrResult& result,
                                 const std::vector<Eigen::MatrixXd>& E,
                                 const ExecutionPlan& execution, const Options& options,
                                 const mpi::Communicator& comm) {
  const AdjacencyLayout layout = adjacency_layout(result, options.method());
  MPI_File file = MPI_FILE_NULL;
  // Collective; MPI reports an open failure on every rank alike.
  check_io(MPI_File_open(comm.get(), path.c_str(), MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL,
                         &file),
           "MPI_File_open", path);
  // Once open, every rank must reach the collective close, whatever happens to its writes.
  std::optional<OutputError> error;
  try {
    if (comm.is_root()) write_bytes_at(file, 0, layout.head.data(), layout.head.size(), path);
    for (std::size_t l : execution.pairs_of(comm.rank())) {
      if (E[l].rows() != layout.rows[l] || E[l].cols() != layout.cols[l])
        throw OutputError(path + ": pair" + std::to_string(l) + ".E is " +
                          std::to_string(E[l].rows()) + " x " + std::to_string(E[l].cols()) +
                          ", expected " + std::to_string(layout.rows[l]) + " x " +
                          std::to_string(layout.cols[l]) + " (internal error)");
      const std::vector<double> data = adjacency_data(E[l]);
      write_bytes_at(file, static_cast<MPI_Offset>(layout.offsets[l]),
                     reinterpret_cast<const char*>(data.data()), data.size() * sizeof(double),
                     path);
    }
  } catch (const OutputError& e) {
    error = e;
  } catch (const std::exception& e) {
    error = OutputError(path + ": " + e.what());
  }
  const int closed = MPI_File_close(&file);
  if (error) throw *error;
  check_io(closed, "MPI_File_close", path);
}

namespace {

// Rank 0's files, from what rank 0 holds (no E, no factors unless --save-spectra).
// adjacency.safetensors is written by every rank, summary.json after everything else.
void write_root_outputs(const SvrResult& result, const Options& options,
                        const std::string& staging) {
  auto file = [&](const char* name) { return staging + "/" + name; };
  write_nodes_csv(file("nodes.csv"), result);
  write_edges_csv(file("edges.csv"), result);
  write_graphml(file("graph.graphml"), result);
  if (options.save_spectra) write_spectra(file("spectra.safetensors"), result, options.method());
  if (options.plot) {
    write_svr_svg(file("svr.svg"), result, options.plotting);
    write_report_html(file("report.html"), result, options.plotting);
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

OutputTarget open_output(const Options& options, const mpi::Communicator& comm) {
  OutputTarget target;
  if (options.plan) return target;
  mpi::agreed(comm, [&] {
    if (comm.is_root()) target.directory.emplace(options.outdir, options.force);
  });
  // Every rank needs the staging directory: the pair owners write their E into it.
  if (target.directory) target.staging = target.directory->staging_path();
  mpi::agreed(comm, [&] { comm.broadcast(target.staging, 0); });
  return target;
}

void output_phase(OutputTarget& target, std::vector<Eigen::MatrixXd>& E, const RunPlans& plans,
                  const Options& options, const mpi::Communicator& comm, SvrResult& result,
                  PhaseClock& clock, const Progress& progress) {
  const std::string& staging = target.staging;
  mpi::agreed(comm, [&] {
    const std::vector<double> peak = gather_peak_memory(comm);  // collective: before any throw
    inject_failure_point("write", comm.rank());
    if (!comm.is_root()) return;
    result.run.peak_memory_mb_per_rank = peak;
    result.run.peak_memory_mb = *std::max_element(peak.begin(), peak.end());
    result.run.input_sha256 = model_sha256(plans.model);
    clock.end("checksum", result.run);
    write_root_outputs(result, options, staging);
  });
  if (options.save_adjacency)
    mpi::agreed(comm, [&] {
      write_adjacency_distributed(staging + "/adjacency.safetensors", result, E, plans.execution,
                                  options, comm);
    });
  E.clear();
  mpi::agreed(comm, [&] {
    if (!comm.is_root()) return;
    clock.end("write", result.run);
    write_summary_json(staging + "/summary.json", result, options_record(options),
                       options.method());
  });
  // Only once every rank has agreed that the write phase succeeded does OUTDIR appear.
  mpi::agreed(comm, [&] {
    if (!comm.is_root()) return;
    target.directory->commit();
    progress.say("wrote " + options.outdir);
  });
}

}  // namespace svr
