#pragma once
// The binary interface between svr and its SLEPc plug-in, libsvr_slepc.so (src/slepc_plugin/):
// plain C types only, so that the plug-in, the one part of svr linked to PETSc and SLEPc, is
// loaded with dlopen when a truncated SVD first asks for it. svr itself then starts without
// loading PETSc's hundred libraries, and runs without them where they are not installed
// (docs/distributed-svd.md, "SLEPc").
#include <mpi.h>

#include <cstdint>

namespace svr {

// Raised whenever a field changes meaning; the plug-in refuses a request of another version.
constexpr int kSlepcPluginAbi = 1;

// One top-K request. The matrix is held by the ranks of `comm` as contiguous row blocks:
// this rank's rows [first_row, first_row + local_rows), column-major with leading dimension
// local_ld. The right vectors are split the same way over the columns: this rank holds entries
// [first_col, first_col + local_cols) of each. On one rank: comm = MPI_COMM_SELF, the whole
// matrix.
struct SlepcTopRequest {
  int abi = kSlepcPluginAbi;
  MPI_Comm comm = MPI_COMM_NULL;
  std::int64_t rows = 0, cols = 0;
  std::int64_t local_rows = 0, local_cols = 0;
  const double* local = nullptr;
  std::int64_t local_ld = 1;
  std::int64_t rank = 0;            // K
  double tolerance = 0;             // on residual / s_max (s_max: the largest Ritz value so far)
  std::int64_t max_iterations = 0;  // SLEPc's restarts
  // Give up once the products with M and M^T (pairs) pass this (svr's cost model budget, in
  // products), or once the convergence rate projects more than projection_margin times it;
  // <= 0: no limit.
  double max_products = 0;
  double projection_margin = 1;
};

// The answer. The caller owns the arrays: s (K), u (local_rows x K, leading dimension
// max(1, local_rows)), v (local_cols x K, leading dimension max(1, local_cols)).
struct SlepcTopResult {
  double* s = nullptr;
  double* u = nullptr;
  double* v = nullptr;
  std::int64_t iterations = 0;
  std::int64_t converged = 0;
  int gave_up_on_cost = 0;  // 1: stopped by max_products (the full SVD is cheaper)
  // 1: converged, but a value above the K-th was missed (a repeated value, which single-vector
  // Lanczos finds once): svr's block method, which finds up to its block size of copies, follows.
  int missed_value = 0;
  char solver[32] = {};    // SLEPc's SVDType
  char message[512] = {};  // why it failed or gave up
};

// svr_slepc_top_svd: 0 delivered, 1 gave up (not converged; message), 2 error (message).
// Collective over request->comm; every rank returns the same status.
using SlepcTopSvdFunction = int (*)(const SlepcTopRequest*, SlepcTopResult*);
// svr_slepc_version: "SLEPc 3.18.2, PETSc 3.18.5" (callable before any request).
using SlepcVersionFunction = const char* (*)();
// svr_slepc_finalize: SlepcFinalize if the plug-in initialised SLEPc; before MPI_Finalize.
using SlepcFinalizeFunction = void (*)();

}  // namespace svr
