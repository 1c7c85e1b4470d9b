#include "svr/linalg/scalapack.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include "imports.hpp"
#include "svr/core/error.hpp"
#include "svr/parallel/mpi.hpp"

namespace svr::scalapack {
namespace {

constexpr lapack_int kOne = 1;

// Allocates the workspace on every rank; an allocation failure anywhere fails everywhere.
template <typename T>
std::vector<T> allocate_agreed(MPI_Comm comm, const std::string& routine, lapack_int size) {
  std::vector<T> work;
  mpi::agreed(comm, [&] {
    try {
      work.resize(static_cast<std::size_t>(size));
    } catch (const std::bad_alloc&) {
      throw Error(routine + ": cannot allocate a workspace of " + std::to_string(size) +
                  (sizeof(T) == sizeof(float) ? " floats" : " doubles"));
    }
  });
  return work;
}

}  // namespace

lapack_int numroc(lapack_int n, lapack_int nb, lapack_int iproc, lapack_int isrcproc,
                  lapack_int nprocs) {
  return numroc_(&n, &nb, &iproc, &isrcproc, &nprocs);
}

Descriptor descinit(lapack_int m, lapack_int n, lapack_int mb, lapack_int nb, lapack_int rsrc,
                    lapack_int csrc, lapack_int context, lapack_int lld) {
  Descriptor desc{};
  lapack_int info = 0;
  descinit_(desc.data(), &m, &n, &mb, &nb, &rsrc, &csrc, &context, &lld, &info);
  if (info != 0) throw LapackError("descinit", info);
  return desc;
}

void agree_info(MPI_Comm comm, const std::string& routine, std::int64_t info) {
  // One MIN reduction gives both the most negative info and (negated) the largest positive.
  // In 64 bits whatever lapack_int is: an ILP64 info is never narrowed.
  std::int64_t local[2] = {std::min<std::int64_t>(0, info), -std::max<std::int64_t>(0, info)};
  std::int64_t global[2] = {0, 0};
  mpi::check(MPI_Allreduce(local, global, 2, MPI_INT64_T, MPI_MIN, comm), "MPI_Allreduce");
  if (global[0] < 0) throw LapackError(routine, global[0]);
  if (global[1] < 0) throw LapackError(routine, -global[1]);
}

namespace {

// The workspace protocol every ScaLAPACK routine here shares: a query call (lwork = -1), an
// allocation agreed by the grid, the real call; `info` agreed after each. `call(work, lwork,
// info)` runs the routine with the given workspace.
// T is the routine's real type (float: the query is rounded up, lapack::workspace_size).
template <typename T = double, typename Call>
void with_workspace(MPI_Comm comm, const std::string& routine, Call&& call) {
  lapack_int info = 0;
  lapack_int lwork = -1;
  T query = 0;
  call(&query, &lwork, &info);
  agree_info(comm, routine + " (workspace query)", info);
  lwork = lapack::workspace_size(query);
  std::vector<T> work = allocate_agreed<T>(comm, routine, lwork);
  call(work.data(), &lwork, &info);
  agree_info(comm, routine, info);
}

}  // namespace

void pdgesvd(MPI_Comm comm, char jobu, char jobvt, lapack_int m, lapack_int n, double* a,
             const Descriptor& desca, double* s, double* u, const Descriptor& descu, double* vt,
             const Descriptor& descvt) {
  with_workspace(comm, "pdgesvd", [&](double* work, lapack_int* lwork, lapack_int* info) {
    pdgesvd_(&jobu, &jobvt, &m, &n, a, &kOne, &kOne, desca.data(), s, u, &kOne, &kOne, descu.data(),
             vt, &kOne, &kOne, descvt.data(), work, lwork, info, 1, 1);
  });
}

void pdgeqrf(MPI_Comm comm, lapack_int m, lapack_int n, double* a, const Descriptor& desca,
             double* tau) {
  with_workspace(comm, "pdgeqrf", [&](double* work, lapack_int* lwork, lapack_int* info) {
    pdgeqrf_(&m, &n, a, &kOne, &kOne, desca.data(), tau, work, lwork, info);
  });
}

void pdgelqf(MPI_Comm comm, lapack_int m, lapack_int n, double* a, const Descriptor& desca,
             double* tau) {
  with_workspace(comm, "pdgelqf", [&](double* work, lapack_int* lwork, lapack_int* info) {
    pdgelqf_(&m, &n, a, &kOne, &kOne, desca.data(), tau, work, lwork, info);
  });
}

void pdormqr(MPI_Comm comm, char side, char trans, lapack_int m, lapack_int n, lapack_int k,
             const double* a, const Descriptor& desca, const double* tau, double* c,
             const Descriptor& descc) {
  with_workspace(comm, "pdormqr", [&](double* work, lapack_int* lwork, lapack_int* info) {
    pdormqr_(&side, &trans, &m, &n, &k, a, &kOne, &kOne, desca.data(), tau, c, &kOne, &kOne,
             descc.data(), work, lwork, info, 1, 1);
  });
}

void pdormlq(MPI_Comm comm, char side, char trans, lapack_int m, lapack_int n, lapack_int k,
             const double* a, const Descriptor& desca, const double* tau, double* c,
             const Descriptor& descc) {
  with_workspace(comm, "pdormlq", [&](double* work, lapack_int* lwork, lapack_int* info) {
    pdormlq_(&side, &trans, &m, &n, &k, a, &kOne, &kOne, desca.data(), tau, c, &kOne, &kOne,
             descc.data(), work, lwork, info, 1, 1);
  });
}

void gebrd(MPI_Comm comm, lapack_int m, lapack_int n, double* a, const Descriptor& desca, double* d,
           double* e, double* tauq, double* taup) {
  with_workspace(comm, "pdgebrd", [&](double* work, lapack_int* lwork, lapack_int* info) {
    pdgebrd_(&m, &n, a, &kOne, &kOne, desca.data(), d, e, tauq, taup, work, lwork, info);
  });
}

void gebrd(MPI_Comm comm, lapack_int m, lapack_int n, float* a, const Descriptor& desca, float* d,
           float* e, float* tauq, float* taup) {
  with_workspace<float>(comm, "psgebrd", [&](float* work, lapack_int* lwork, lapack_int* info) {
    psgebrd_(&m, &n, a, &kOne, &kOne, desca.data(), d, e, tauq, taup, work, lwork, info);
  });
}

void ormbr(MPI_Comm comm, char vect, char side, char trans, lapack_int m, lapack_int n,
           lapack_int k, const double* a, const Descriptor& desca, const double* tau, double* c,
           const Descriptor& descc) {
  with_workspace(comm, "pdormbr", [&](double* work, lapack_int* lwork, lapack_int* info) {
    pdormbr_(&vect, &side, &trans, &m, &n, &k, a, &kOne, &kOne, desca.data(), tau, c, &kOne, &kOne,
             descc.data(), work, lwork, info, 1, 1, 1);
  });
}

void ormbr(MPI_Comm comm, char vect, char side, char trans, lapack_int m, lapack_int n,
           lapack_int k, const float* a, const Descriptor& desca, const float* tau, float* c,
           const Descriptor& descc) {
  with_workspace<float>(comm, "psormbr", [&](float* work, lapack_int* lwork, lapack_int* info) {
    psormbr_(&vect, &side, &trans, &m, &n, &k, a, &kOne, &kOne, desca.data(), tau, c, &kOne, &kOne,
             descc.data(), work, lwork, info, 1, 1, 1);
  });
}

void psgesvd(MPI_Comm comm, char jobu, char jobvt, lapack_int m, lapack_int n, float* a,
             const Descriptor& desca, float* s, float* u, const Descriptor& descu, float* vt,
             const Descriptor& descvt) {
  with_workspace<float>(comm, "psgesvd", [&](float* work, lapack_int* lwork, lapack_int* info) {
    psgesvd_(&jobu, &jobvt, &m, &n, a, &kOne, &kOne, desca.data(), s, u, &kOne, &kOne, descu.data(),
             vt, &kOne, &kOne, descvt.data(), work, lwork, info, 1, 1);
  });
}

void psgeqrf(MPI_Comm comm, lapack_int m, lapack_int n, float* a, const Descriptor& desca,
             float* tau) {
  with_workspace<float>(comm, "psgeqrf", [&](float* work, lapack_int* lwork, lapack_int* info) {
    psgeqrf_(&m, &n, a, &kOne, &kOne, desca.data(), tau, work, lwork, info);
  });
}

void psgelqf(MPI_Comm comm, lapack_int m, lapack_int n, float* a, const Descriptor& desca,
             float* tau) {
  with_workspace<float>(comm, "psgelqf", [&](float* work, lapack_int* lwork, lapack_int* info) {
    psgelqf_(&m, &n, a, &kOne, &kOne, desca.data(), tau, work, lwork, info);
  });
}

void psormqr(MPI_Comm comm, char side, char trans, lapack_int m, lapack_int n, lapack_int k,
             const float* a, const Descriptor& desca, const float* tau, float* c,
             const Descriptor& descc) {
  with_workspace<float>(comm, "psormqr", [&](float* work, lapack_int* lwork, lapack_int* info) {
    psormqr_(&side, &trans, &m, &n, &k, a, &kOne, &kOne, desca.data(), tau, c, &kOne, &kOne,
             descc.data(), work, lwork, info, 1, 1);
  });
}

void psormlq(MPI_Comm comm, char side, char trans, lapack_int m, lapack_int n, lapack_int k,
             const float* a, const Descriptor& desca, const float* tau, float* c,
             const Descriptor& descc) {
  with_workspace<float>(comm, "psormlq", [&](float* work, lapack_int* lwork, lapack_int* info) {
    psormlq_(&side, &trans, &m, &n, &k, a, &kOne, &kOne, desca.data(), tau, c, &kOne, &kOne,
             descc.data(), work, lwork, info, 1, 1);
  });
}

void pslacpy(char uplo, lapack_int m, lapack_int n, const float* a, const Descriptor& desca,
             float* b, const Descriptor& descb) {
  pslacpy_(&uplo, &m, &n, a, &kOne, &kOne, desca.data(), b, &kOne, &kOne, descb.data(), 1);
}

void pdtran(lapack_int m, lapack_int n, double alpha, const double* a, const Descriptor& desca,
            double beta, double* c, const Descriptor& descc) {
  pdtran_(&m, &n, &alpha, a, &kOne, &kOne, desca.data(), &beta, c, &kOne, &kOne, descc.data());
}

void pdlacpy(char uplo, lapack_int m, lapack_int n, const double* a, const Descriptor& desca,
             double* b, const Descriptor& descb) {
  pdlacpy_(&uplo, &m, &n, a, &kOne, &kOne, desca.data(), b, &kOne, &kOne, descb.data(), 1);
}

void pdgemm(char transa, char transb, lapack_int m, lapack_int n, lapack_int k, double alpha,
            const double* a, lapack_int ia, lapack_int ja, const Descriptor& desca, const double* b,
            lapack_int ib, lapack_int jb, const Descriptor& descb, double beta, double* c,
            lapack_int ic, lapack_int jc, const Descriptor& descc) {
  pdgemm_(&transa, &transb, &m, &n, &k, &alpha, a, &ia, &ja, desca.data(), b, &ib, &jb,
          descb.data(), &beta, c, &ic, &jc, descc.data(), 1, 1);
}

void psgemm(char transa, char transb, lapack_int m, lapack_int n, lapack_int k, float alpha,
            const float* a, const Descriptor& desca, const float* b, const Descriptor& descb,
            float beta, float* c, const Descriptor& descc) {
  psgemm_(&transa, &transb, &m, &n, &k, &alpha, a, &kOne, &kOne, desca.data(), b, &kOne, &kOne,
          descb.data(), &beta, c, &kOne, &kOne, descc.data(), 1, 1);
}

void pdtrsm_left(char uplo, char trans, lapack_int m, lapack_int n, const double* a,
                 const Descriptor& desca, double* b, const Descriptor& descb) {
  const char side = 'L', diag = 'N';
  const double one = 1.0;
  pdtrsm_(&side, &uplo, &trans, &diag, &m, &n, &one, a, &kOne, &kOne, desca.data(), b, &kOne, &kOne,
          descb.data(), 1, 1, 1, 1);
}

}  // namespace svr::scalapack
