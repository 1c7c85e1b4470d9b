#pragma once
// All Fortran glue of svr in one place: the raw LAPACK and ScaLAPACK/BLACS prototypes
// and thin typed wrappers that do the workspace query, allocate, call and check `info`.
// Nothing outside this header and src/linalg/ declares a Fortran symbol.
#include <cstddef>
#include <cstdint>
#include <string>

#include <mpi.h>

#include "svr/error.hpp"

namespace svr {

// Fortran INTEGER of the LAPACK we link (Debian's OpenBLAS/reference LAPACK: LP64, 32 bits).
#ifdef SVR_LAPACK_ILP64
using lapack_int = std::int64_t;
#else
using lapack_int = int;
#endif

// Checked narrowing of a dimension, leading dimension or workspace size to lapack_int: a matrix
// too large for 32-bit LAPACK is an error, never a silent wrap-around.
lapack_int to_lapack_int(std::int64_t value);

// A LAPACK routine returned info != 0. info < 0 is a bad argument (a bug in svr); info > 0 is a
// numerical failure (e.g. no convergence), which callers may answer with another algorithm.
class LapackError : public NumericalError {
 public:
  LapackError(const std::string& routine, std::int64_t info);
  const std::string& routine() const { return routine_; }
  std::int64_t info() const { return info_; }

 private:
  std::string routine_;
  std::int64_t info_;
};

}  // namespace svr

// ---------------------------------------------------------------------------------------------
// Raw Fortran prototypes. gfortran passes the length of every CHARACTER argument as a trailing
// hidden size_t; declaring them keeps the call ABI-correct (omitting them is undefined behaviour
// that recent gfortran-built LAPACKs do trip over).
extern "C" {

// LAPACK
void dgesdd_(const char* jobz, const svr::lapack_int* m, const svr::lapack_int* n, double* a,
             const svr::lapack_int* lda, double* s, double* u, const svr::lapack_int* ldu,
             double* vt, const svr::lapack_int* ldvt, double* work,
             const svr::lapack_int* lwork, svr::lapack_int* iwork, svr::lapack_int* info,
             std::size_t jobz_len);

void dgesvd_(const char* jobu, const char* jobvt, const svr::lapack_int* m,
             const svr::lapack_int* n, double* a, const svr::lapack_int* lda, double* s,
             double* u, const svr::lapack_int* ldu, double* vt, const svr::lapack_int* ldvt,
             double* work, const svr::lapack_int* lwork, svr::lapack_int* info,
             std::size_t jobu_len, std::size_t jobvt_len);

// ===== ScaLAPACK / BLACS =====================================================================
// The distributed SVD (include/svr/scalapack.hpp has the typed wrappers, include/svr/
// process_grid.hpp the RAII grid). BLACS C interface: contexts and coordinates are C int (the
// Debian build's `Int`); a context made by Cblacs_gridinit is also valid as a Fortran context,
// which is what the descriptors carry. Fortran routines: 1-based indices, lapack_int,
// trailing hidden CHARACTER lengths as above. Descriptors are lapack_int[9].
// =============================================================================================

// BLACS: a "system handle" wraps an MPI communicator; Cblacs_gridmap turns it into a grid
// context with an explicit rank map (column-major usermap, leading dimension ldumap).
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_get(int context, int what, int* value);
void Cblacs_gridinit(int* context, const char* order, int nprow, int npcol);
void Cblacs_gridmap(int* context, int* usermap, int ldumap, int nprow, int npcol);
void Cblacs_gridinfo(int context, int* nprow, int* npcol, int* myrow, int* mycol);
void Cblacs_gridexit(int context);

// ScaLAPACK TOOLS
svr::lapack_int numroc_(const svr::lapack_int* n, const svr::lapack_int* nb,
                        const svr::lapack_int* iproc, const svr::lapack_int* isrcproc,
                        const svr::lapack_int* nprocs);
void descinit_(svr::lapack_int* desc, const svr::lapack_int* m, const svr::lapack_int* n,
               const svr::lapack_int* mb, const svr::lapack_int* nb, const svr::lapack_int* irsrc,
               const svr::lapack_int* icsrc, const svr::lapack_int* ictxt,
               const svr::lapack_int* lld, svr::lapack_int* info);

// ScaLAPACK / PBLAS
void pdgesvd_(const char* jobu, const char* jobvt, const svr::lapack_int* m,
              const svr::lapack_int* n, double* a, const svr::lapack_int* ia,
              const svr::lapack_int* ja, const svr::lapack_int* desca, double* s, double* u,
              const svr::lapack_int* iu, const svr::lapack_int* ju, const svr::lapack_int* descu,
              double* vt, const svr::lapack_int* ivt, const svr::lapack_int* jvt,
              const svr::lapack_int* descvt, double* work, const svr::lapack_int* lwork,
              svr::lapack_int* info, std::size_t jobu_len, std::size_t jobvt_len);

void pdgeqrf_(const svr::lapack_int* m, const svr::lapack_int* n, double* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              double* tau, double* work, const svr::lapack_int* lwork, svr::lapack_int* info);
void pdgelqf_(const svr::lapack_int* m, const svr::lapack_int* n, double* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              double* tau, double* work, const svr::lapack_int* lwork, svr::lapack_int* info);

void pdormqr_(const char* side, const char* trans, const svr::lapack_int* m,
              const svr::lapack_int* n, const svr::lapack_int* k, const double* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              const double* tau, double* c, const svr::lapack_int* ic, const svr::lapack_int* jc,
              const svr::lapack_int* descc, double* work, const svr::lapack_int* lwork,
              svr::lapack_int* info, std::size_t side_len, std::size_t trans_len);
void pdormlq_(const char* side, const char* trans, const svr::lapack_int* m,
              const svr::lapack_int* n, const svr::lapack_int* k, const double* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              const double* tau, double* c, const svr::lapack_int* ic, const svr::lapack_int* jc,
              const svr::lapack_int* descc, double* work, const svr::lapack_int* lwork,
              svr::lapack_int* info, std::size_t side_len, std::size_t trans_len);

// C := beta*C + alpha*A^T, C m x n (PBLAS; no info argument).
void pdtran_(const svr::lapack_int* m, const svr::lapack_int* n, const double* alpha,
             const double* a, const svr::lapack_int* ia, const svr::lapack_int* ja,
             const svr::lapack_int* desca, const double* beta, double* c,
             const svr::lapack_int* ic, const svr::lapack_int* jc, const svr::lapack_int* descc);

void pdlaset_(const char* uplo, const svr::lapack_int* m, const svr::lapack_int* n,
              const double* alpha, const double* beta, double* a, const svr::lapack_int* ia,
              const svr::lapack_int* ja, const svr::lapack_int* desca, std::size_t uplo_len);
void pdlacpy_(const char* uplo, const svr::lapack_int* m, const svr::lapack_int* n,
              const double* a, const svr::lapack_int* ia, const svr::lapack_int* ja,
              const svr::lapack_int* desca, double* b, const svr::lapack_int* ib,
              const svr::lapack_int* jb, const svr::lapack_int* descb, std::size_t uplo_len);

// C(ic:, jc:) := alpha op(A(ia:, ja:)) op(B(ib:, jb:)) + beta C(ic:, jc:), C m x n, k the inner
// dimension; 1-based submatrix offsets (PBLAS; no info argument: it aborts on a bad argument,
// so callers validate first).
void pdgemm_(const char* transa, const char* transb, const svr::lapack_int* m,
             const svr::lapack_int* n, const svr::lapack_int* k, const double* alpha,
             const double* a, const svr::lapack_int* ia, const svr::lapack_int* ja,
             const svr::lapack_int* desca, const double* b, const svr::lapack_int* ib,
             const svr::lapack_int* jb, const svr::lapack_int* descb, const double* beta, double* c,
             const svr::lapack_int* ic, const svr::lapack_int* jc, const svr::lapack_int* descc,
             std::size_t transa_len, std::size_t transb_len);

// Copies a submatrix between two distributions; ictxt must span every process of both.
void pdgemr2d_(const svr::lapack_int* m, const svr::lapack_int* n, const double* a,
               const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
               double* b, const svr::lapack_int* ib, const svr::lapack_int* jb,
               const svr::lapack_int* descb, const svr::lapack_int* ictxt);

}  // extern "C"

namespace svr::lapack {

// Column-major, LAPACK argument order. `a` is destroyed. Query, allocate, call; throws
// LapackError (naming the routine and info) when info != 0.
void gesdd(char jobz, lapack_int m, lapack_int n, double* a, lapack_int lda, double* s,
           double* u, lapack_int ldu, double* vt, lapack_int ldvt);

void gesvd(char jobu, char jobvt, lapack_int m, lapack_int n, double* a, lapack_int lda,
           double* s, double* u, lapack_int ldu, double* vt, lapack_int ldvt);

}  // namespace svr::lapack
