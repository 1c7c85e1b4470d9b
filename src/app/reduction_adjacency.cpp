#include "svr/app/reduction_adjacency.hpp"

#include <mpi.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "svr/core/error.hpp"
#include "svr/output/adjacency.hpp"

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
  const AdjacencyLayout layout = adjacency_layout(result, options);
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

}  // namespace svr
