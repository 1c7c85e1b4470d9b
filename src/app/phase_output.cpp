#include "svr/app/phase_output.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <utility>

#include "svr/app/build_info.hpp"
#include "svr/app/phase_read.hpp"
#include "svr/app/phase_svd.hpp"
#include "svr/app/progress.hpp"
#include "svr/core/error.hpp"
#include "svr/core/fault_injection.hpp"
#include "svr/io/sha256.hpp"
#include "svr/linalg/distributed_matrix.hpp"
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

// Bytes for one file, gathered into runs of consecutive offsets so that neighbouring pieces
// (the rows of a row block of a one-column grid, say) go out in one write.
class RunWriter {
 public:
  RunWriter(MPI_File file, const std::string& path) : file_(file), path_(path) {}
  void put(std::uint64_t offset, const double* data, std::size_t count) {
    if (!buffer_.empty() && offset != start_ + 8 * buffer_.size()) flush();
    if (buffer_.empty()) start_ = offset;
    buffer_.insert(buffer_.end(), data, data + count);
    if (buffer_.size() >= kFlushDoubles) flush();
  }
  void flush() {
    if (buffer_.empty()) return;
    write_bytes_at(file_, static_cast<MPI_Offset>(start_),
                   reinterpret_cast<const char*>(buffer_.data()), 8 * buffer_.size(), path_);
    buffer_.clear();
  }

 private:
  static constexpr std::size_t kFlushDoubles = std::size_t{1} << 20;  // 8 MB
  MPI_File file_;
  const std::string& path_;
  std::uint64_t start_ = 0;
  std::vector<double> buffer_;
};

// canonical_signs (output/spectra.hpp) of the first `count` columns of a distributed U,
// collective over its grid: the largest magnitude of each column, then the first row holding
// it, then that entry's sign, each agreed by one reduction.
std::vector<double> distributed_canonical_signs(const DistributedMatrix& U, std::int64_t count) {
  const auto n = static_cast<std::size_t>(count);
  std::vector<double> largest(n, 0.0);
  for (std::int64_t lj = 0; lj < U.local_cols(); ++lj) {
    const std::int64_t j = U.global_col(lj);
    if (j >= count) continue;
    for (std::int64_t li = 0; li < U.local_rows(); ++li)
      largest[static_cast<std::size_t>(j)] =
          std::max(largest[static_cast<std::size_t>(j)], std::abs(U.local(li, lj)));
  }
  const MPI_Comm comm = U.grid().comm();
  const int size = static_cast<int>(count);
  mpi::check(MPI_Allreduce(MPI_IN_PLACE, largest.data(), size, MPI_DOUBLE, MPI_MAX, comm),
             "MPI_Allreduce");
  std::vector<std::int64_t> first(n, std::numeric_limits<std::int64_t>::max());
  for (std::int64_t lj = 0; lj < U.local_cols(); ++lj) {
    const std::int64_t j = U.global_col(lj);
    if (j >= count) continue;
    for (std::int64_t li = 0; li < U.local_rows(); ++li)
      if (std::abs(U.local(li, lj)) == largest[static_cast<std::size_t>(j)])
        first[static_cast<std::size_t>(j)] =
            std::min(first[static_cast<std::size_t>(j)], U.global_row(li));
  }
  mpi::check(MPI_Allreduce(MPI_IN_PLACE, first.data(), size, MPI_INT64_T, MPI_MIN, comm),
             "MPI_Allreduce");
  std::vector<double> entry(n, 0.0);  // only the owner of (first[j], j) contributes
  for (std::size_t j = 0; j < n; ++j) {
    const auto column = static_cast<std::int64_t>(j);
    if (first[j] < U.rows() && U.owns(first[j], column)) {
      const std::int64_t li =
          block_cyclic::global_to_local(first[j], U.block(), U.grid().shape().rows);
      const std::int64_t lj =
          block_cyclic::global_to_local(column, U.block(), U.grid().shape().cols);
      entry[j] = U.local(li, lj);
    }
  }
  mpi::check(MPI_Allreduce(MPI_IN_PLACE, entry.data(), size, MPI_DOUBLE, MPI_SUM, comm),
             "MPI_Allreduce");
  std::vector<double> sign(n, 1.0);
  for (std::size_t j = 0; j < n; ++j)
    if (entry[j] < 0.0) sign[j] = -1.0;
  return sign;
}

// This rank's blocks of the first sign.size() columns of a distributed factor, signed, into the
// row-major array at `base`.
void put_distributed(RunWriter& out, std::uint64_t base, const DistributedMatrix& M,
                     const std::vector<double>& sign) {
  const auto count = static_cast<std::int64_t>(sign.size());
  std::vector<double> piece;
  for (const RowRun& run : M.row_runs()) {
    if (run.col >= count) continue;
    const std::int64_t length = std::min(run.count, count - run.col);
    const std::int64_t li =
        block_cyclic::global_to_local(run.row, M.block(), M.grid().shape().rows);
    const std::int64_t lj =
        block_cyclic::global_to_local(run.col, M.block(), M.grid().shape().cols);
    piece.resize(static_cast<std::size_t>(length));
    for (std::int64_t k = 0; k < length; ++k)
      piece[static_cast<std::size_t>(k)] =
          sign[static_cast<std::size_t>(run.col + k)] * M.local(li, lj + k);
    out.put(base + 8 * static_cast<std::uint64_t>(run.row * count + run.col), piece.data(),
            piece.size());
  }
}

// Opens `path` on every rank of comm, runs write(file) and closes the file on every rank even
// when write throws; then throws the OutputError (naming `path`) of this rank, if any.
void with_shared_file(const std::string& path, const mpi::Communicator& comm,
                      const std::function<void(MPI_File)>& write) {
  MPI_File file = MPI_FILE_NULL;
  // Collective; MPI reports an open failure on every rank alike.
  check_io(MPI_File_open(comm.get(), path.c_str(), MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL,
                         &file),
           "MPI_File_open", path);
  std::optional<OutputError> error;
  try {
    write(file);
  } catch (const OutputError& e) {
    error = e;
  } catch (const std::exception& e) {
    error = OutputError(path + ": " + e.what());
  }
  const int closed = MPI_File_close(&file);
  if (error) throw *error;
  check_io(closed, "MPI_File_close", path);
}

}  // namespace

void write_spectra_distributed(const std::string& path, const SvrResult& result,
                               const LayerFactors& factors, const ExecutionPlan& execution,
                               const Options& options, const mpi::Communicator& comm) {
  const SafetensorsLayout layout = spectra_layout(result, options.method());
  // The signs of the team's layers first: collective over each team's grid, so no rank of a
  // team may skip one because an earlier write failed.
  std::vector<std::vector<double>> team_signs(result.layers.size());
  const int team = execution.team_of(comm.rank());
  if (team >= 0)
    for (std::size_t l : execution.teams[static_cast<std::size_t>(team)].layers)
      team_signs[l] =
          distributed_canonical_signs(factors.distributed[l]->U, result.layers[l].sigma.size());
  with_shared_file(path, comm, [&](MPI_File file) {
    RunWriter out(file, path);
    if (comm.is_root()) {
      write_bytes_at(file, 0, layout.head.data(), layout.head.size(), path);
      for (std::size_t l = 0; l < result.layers.size(); ++l) {
        const Eigen::VectorXd& s = result.layers[l].sigma;
        out.put(layout.offsets[3 * l + 1], s.data(), static_cast<std::size_t>(s.size()));
      }
    }
    for (std::size_t l : execution.lapack_layers_of(comm.rank())) {
      const Spectrum& spectrum = factors.local[l];
      const auto kept = result.layers[l].sigma.size();
      if (spectrum.U.cols() != kept || spectrum.V.cols() != kept)
        throw OutputError(path + ": layer '" + result.layers[l].name + "' has " +
                          std::to_string(spectrum.U.cols()) + " singular vectors for " +
                          std::to_string(kept) + " kept singular values (internal error)");
      const std::vector<double> sign = canonical_signs(spectrum.U);
      const std::vector<double> U = signed_row_major(spectrum.U, sign);
      const std::vector<double> V = signed_row_major(spectrum.V, sign);
      out.put(layout.offsets[3 * l], U.data(), U.size());
      out.put(layout.offsets[3 * l + 2], V.data(), V.size());
    }
    if (team >= 0)
      for (std::size_t l : execution.teams[static_cast<std::size_t>(team)].layers) {
        put_distributed(out, layout.offsets[3 * l], factors.distributed[l]->U, team_signs[l]);
        put_distributed(out, layout.offsets[3 * l + 2], factors.distributed[l]->V, team_signs[l]);
      }
    out.flush();
  });
}

void write_adjacency_distributed(const std::string& path, const SvrResult& result,
                                 const std::vector<Eigen::MatrixXd>& E,
                                 const ExecutionPlan& execution, const Options& options,
                                 const mpi::Communicator& comm) {
  const AdjacencyLayout layout = adjacency_layout(result, options.method());
  with_shared_file(path, comm, [&](MPI_File file) {
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
  });
}

void write_edges_csv_distributed(const std::string& path, const SvrResult& result,
                                 const OwnedEdges& owned_edges, const ExecutionPlan& execution,
                                 const mpi::Communicator& comm) {
  constexpr std::size_t kPieceBytes = std::size_t{8} << 20;
  const std::vector<std::size_t> owned = execution.pairs_of(comm.rank());
  static const std::vector<EdgeRecord> none;
  auto edges_of = [&](std::size_t l) -> const std::vector<EdgeRecord>& {
    return l < owned_edges.size() ? owned_edges[l] : none;
  };
  auto rows = [&](std::size_t l, const std::function<void(const std::string&)>& emit) {
    edges_csv_rows(result, l, edges_of(l), kPieceBytes, emit);
  };
  // Formatting twice costs less than holding the text: it is about 12 times the size of E.
  // One rank writes its rows in order as they come, and needs no count.
  const bool counted = comm.size() > 1;
  std::vector<std::int64_t> bytes(result.pairs.size(), 0);
  std::optional<OutputError> error;
  try {
    for (std::size_t l : owned) check_edges_of(path, result, l, edges_of(l));
    if (counted)
      for (std::size_t l : owned)
        rows(l, [&](const std::string& piece) {
          bytes[l] += static_cast<std::int64_t>(piece.size());
        });
  } catch (const OutputError& e) {
    error = e;  // every rank still takes part in the sum and the file's opening and closing
  }
  mpi::check(MPI_Allreduce(MPI_IN_PLACE, bytes.data(), static_cast<int>(bytes.size()), MPI_INT64_T,
                           MPI_SUM, comm.get()),
             "MPI_Allreduce");
  const std::string header = edges_csv_header();
  with_shared_file(path, comm, [&](MPI_File file) {
    if (error) throw *error;
    if (comm.is_root()) write_bytes_at(file, 0, header.data(), header.size(), path);
    std::vector<std::uint64_t> offset(result.pairs.size());
    std::uint64_t at = header.size();
    for (std::size_t l = 0; l < result.pairs.size(); ++l) {
      offset[l] = at;
      at += static_cast<std::uint64_t>(bytes[l]);
    }
    std::uint64_t end = header.size();  // one rank: where the next pair's rows go
    for (std::size_t l : owned) {
      if (!counted) offset[l] = end;
      std::uint64_t written = 0;
      rows(l, [&](const std::string& piece) {
        write_bytes_at(file, static_cast<MPI_Offset>(offset[l] + written), piece.data(),
                       piece.size(), path);
        written += piece.size();
      });
      end = offset[l] + written;
      if (counted && written != static_cast<std::uint64_t>(bytes[l]))
        throw OutputError(path + ": pair " + std::to_string(l) + " came to " +
                          std::to_string(written) + " bytes, counted " + std::to_string(bytes[l]) +
                          " (internal error)");
    }
  });
}

namespace {

// Rank 0's files, from what rank 0 holds (no E, no factors).
// adjacency.safetensors is written by every rank, summary.json after everything else.
void write_root_outputs(const SvrResult& result, const Options& options,
                        const std::string& staging) {
  auto file = [&](const char* name) { return staging + "/" + name; };
  write_nodes_csv(file("nodes.csv"), result);
  // With --all-edges the owners write edges.csv (write_edges_csv_distributed).
  if (!options.significance.all_edges) write_edges_csv(file("edges.csv"), result);
  write_graphml(file("graph.graphml"), result);
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

void output_phase(OutputTarget& target, std::vector<Eigen::MatrixXd>& E, LayerFactors& factors,
                  OwnedEdges& owned_edges, const RunPlans& plans, const Options& options,
                  const mpi::Communicator& comm, SvrResult& result, PhaseClock& clock,
                  const Progress& progress) {
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
  if (options.significance.all_edges)
    mpi::agreed(comm, [&] {
      write_edges_csv_distributed(staging + "/edges.csv", result, owned_edges, plans.execution,
                                  comm);
    });
  owned_edges.clear();
  if (options.save_spectra)
    mpi::agreed(comm, [&] {
      write_spectra_distributed(staging + "/spectra.safetensors", result, factors, plans.execution,
                                options, comm);
    });
  {  // freed on every rank together (the grids' communicators: edges_phase's caller)
    const LayerFactors freed = std::move(factors);
  }
  if (options.save_adjacency)
    mpi::agreed(comm, [&] {
      write_adjacency_distributed(staging + "/adjacency.safetensors", result, E, plans.execution,
                                  options, comm);
    });
  E.clear();
  mpi::agreed(comm, [&] {
    if (!comm.is_root()) return;
    clock.end("write", result.run);
    // Opened by now if a layer of rank 0's needed it: then with its versions.
    result.run.build.slepc = slepc_description(false);
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
