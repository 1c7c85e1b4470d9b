// Measurement program for docs/distributed-svd.md (built, not a test):
//   mpiexec -n P mpi_svd_bench ROWS COLS [direct|reduce|split|lapack] [NB] [REPEATS]
// times distributed_svd (or, with `lapack`, thin_svd = dgesdd on rank 0 alone) on a
// pseudo-random matrix and prints the best wall time over the repeats and the grid used.
// `split` is the path of a split layer (QR/LQ on the grid, the core by LAPACK on rank 0,
// DistributedSvdOptions::core_on_one_rank) and also prints when the core started, as rank 1
// saw it (the QR/LQ and the gather before it; the core, the scatter and Q's application after).
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mpi_test_support.hpp"
#include "svr/linalg/distributed_svd.hpp"
#include "svr/linalg/svd.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rc = 0;
  {
    const std::int64_t rows = argc > 1 ? std::atoll(argv[1]) : 2000;
    const std::int64_t cols = argc > 2 ? std::atoll(argv[2]) : 2000;
    const std::string mode = argc > 3 ? argv[3] : "direct";
    const std::int64_t nb = argc > 4 ? std::atoll(argv[4]) : 64;
    const int repeats = argc > 5 ? std::atoi(argv[5]) : 1;
    const int rank = svr_test::world_rank(), size = svr_test::world_size();
    double best = 1e300;
    try {
      if (mode == "lapack") {
        if (rank == 0) {
          const Eigen::MatrixXd M = svr_test::random_matrix(rows, cols);
          for (int r = 0; r < repeats; ++r) {
            const double t0 = MPI_Wtime();
            const svr::Spectrum s = svr::thin_svd(M);
            best = std::min(best, MPI_Wtime() - t0);
          }
        }
      } else {
        svr::ProcessGrid grid(MPI_COMM_WORLD, size);
        svr::DistributedMatrix M(grid, rows, cols, nb);
        M.fill([](std::int64_t i, std::int64_t j) { return svr_test::random_entry(i, j); });
        svr::DistributedSvdOptions options;
        options.path = mode == "direct" ? svr::SvdPath::Direct : svr::SvdPath::ReduceFirst;
        options.core_on_one_rank = mode == "split";
        double core_start = 0.0, t0 = 0.0;
        options.while_core_runs = [&] { core_start = MPI_Wtime() - t0; };
        for (int r = 0; r < repeats; ++r) {
          MPI_Barrier(MPI_COMM_WORLD);
          t0 = MPI_Wtime();
          const svr::DistributedSpectrum d = svr::distributed_svd(M, options);
          MPI_Barrier(MPI_COMM_WORLD);
          best = std::min(best, MPI_Wtime() - t0);
        }
        if (mode == "split" && size > 1) {
          if (rank == 1) MPI_Send(&core_start, 1, MPI_DOUBLE, 0, 0, MPI_COMM_WORLD);
          if (rank == 0) {
            MPI_Recv(&core_start, 1, MPI_DOUBLE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            std::printf("split: the core started at %.3f s (last run)\n", core_start);
          }
        }
      }
      if (rank == 0)
        std::printf("%lldx%lld %s nb=%lld ranks=%d grid=%s best_of_%d=%.3f s\n",
                    static_cast<long long>(rows), static_cast<long long>(cols), mode.c_str(),
                    static_cast<long long>(nb), mode == "lapack" ? 1 : size,
                    mode == "lapack" ? "-" : svr_test::shape_name(svr::near_square_shape(size)).c_str(),
                    repeats, best);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
      rc = 1;
    }
  }
  MPI_Finalize();
  return rc;
}
