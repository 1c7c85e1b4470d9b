#pragma once
// The imports layer (as Elemental's core/imports): every raw C and Fortran prototype of the
// BLAS, LAPACK, BLACS and ScaLAPACK routines svr calls, and nothing else. Private to
// src/linalg/: the rest of svr goes through the typed wrappers of include/svr/linalg/ (blas.hpp,
// lapack.hpp, blacs.hpp, scalapack.hpp), which do the workspace query, check `info`, narrow
// sizes with a check and throw. tests/structure/check_layout.py fails when any other file
// declares one of these symbols.
//
// Fortran conventions: every argument by pointer; INTEGER is lapack_int (lapack.hpp); gfortran
// passes the length of every CHARACTER argument as a trailing hidden size_t, declared here
// because omitting it is undefined behaviour that recent gfortran-built libraries trip over.
// BLACS C interface: contexts, handles and coordinates are C int (the Debian build's `Int`); a
// context made by Cblacs_gridmap is also valid as the Fortran context a descriptor carries.
// ScaLAPACK: 1-based global indices; descriptors are lapack_int[9].
#include <mpi.h>

#include <cstddef>

#include "svr/linalg/lapack.hpp"

extern "C" {

// ===== BLAS ==================================================================================
// C := alpha op(A) op(B) + beta C, C m x n, k the inner dimension.
void dgemm_(const char* transa, const char* transb, const svr::lapack_int* m,
            const svr::lapack_int* n, const svr::lapack_int* k, const double* alpha,
            const double* a, const svr::lapack_int* lda, const double* b,
            const svr::lapack_int* ldb, const double* beta, double* c, const svr::lapack_int* ldc,
            std::size_t transa_len, std::size_t transb_len);

// The same on float (the truncated SVD of --precision single).
void sgemm_(const char* transa, const char* transb, const svr::lapack_int* m,
            const svr::lapack_int* n, const svr::lapack_int* k, const float* alpha, const float* a,
            const svr::lapack_int* lda, const float* b, const svr::lapack_int* ldb,
            const float* beta, float* c, const svr::lapack_int* ldc, std::size_t transa_len,
            std::size_t transb_len);

// B := alpha op(A)^{-1} B (side 'L') or alpha B op(A)^{-1} (side 'R'), A triangular.
void dtrsm_(const char* side, const char* uplo, const char* transa, const char* diag,
            const svr::lapack_int* m, const svr::lapack_int* n, const double* alpha,
            const double* a, const svr::lapack_int* lda, double* b, const svr::lapack_int* ldb,
            std::size_t side_len, std::size_t uplo_len, std::size_t transa_len,
            std::size_t diag_len);
void strsm_(const char* side, const char* uplo, const char* transa, const char* diag,
            const svr::lapack_int* m, const svr::lapack_int* n, const float* alpha, const float* a,
            const svr::lapack_int* lda, float* b, const svr::lapack_int* ldb, std::size_t side_len,
            std::size_t uplo_len, std::size_t transa_len, std::size_t diag_len);

// OpenBLAS's configuration string ("OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell MAX_THREADS=64"),
// for svr --version. Weak: null when the BLAS loaded is not OpenBLAS, so svr links and runs
// against any BLAS.
char* openblas_get_config(void) __attribute__((weak));

// ===== LAPACK ================================================================================
// The LAPACK version this library implements (svr --version).
void ilaver_(svr::lapack_int* major, svr::lapack_int* minor, svr::lapack_int* patch);

// Householder QR: R in the upper triangle of a, the reflectors below it and in tau.
void dgeqrf_(const svr::lapack_int* m, const svr::lapack_int* n, double* a,
             const svr::lapack_int* lda, double* tau, double* work, const svr::lapack_int* lwork,
             svr::lapack_int* info);
void sgeqrf_(const svr::lapack_int* m, const svr::lapack_int* n, float* a,
             const svr::lapack_int* lda, float* tau, float* work, const svr::lapack_int* lwork,
             svr::lapack_int* info);

// C := op(Q) C or C op(Q), Q the product of dgeqrf's k reflectors.
void dormqr_(const char* side, const char* trans, const svr::lapack_int* m,
             const svr::lapack_int* n, const svr::lapack_int* k, const double* a,
             const svr::lapack_int* lda, const double* tau, double* c, const svr::lapack_int* ldc,
             double* work, const svr::lapack_int* lwork, svr::lapack_int* info,
             std::size_t side_len, std::size_t trans_len);
void sormqr_(const char* side, const char* trans, const svr::lapack_int* m,
             const svr::lapack_int* n, const svr::lapack_int* k, const float* a,
             const svr::lapack_int* lda, const float* tau, float* c, const svr::lapack_int* ldc,
             float* work, const svr::lapack_int* lwork, svr::lapack_int* info, std::size_t side_len,
             std::size_t trans_len);

void dgesdd_(const char* jobz, const svr::lapack_int* m, const svr::lapack_int* n, double* a,
             const svr::lapack_int* lda, double* s, double* u, const svr::lapack_int* ldu,
             double* vt, const svr::lapack_int* ldvt, double* work, const svr::lapack_int* lwork,
             svr::lapack_int* iwork, svr::lapack_int* info, std::size_t jobz_len);

void dgesvd_(const char* jobu, const char* jobvt, const svr::lapack_int* m,
             const svr::lapack_int* n, double* a, const svr::lapack_int* lda, double* s, double* u,
             const svr::lapack_int* ldu, double* vt, const svr::lapack_int* ldvt, double* work,
             const svr::lapack_int* lwork, svr::lapack_int* info, std::size_t jobu_len,
             std::size_t jobvt_len);

// The SVD of an n x n bidiagonal matrix (d, e) by divide and conquer; compq 'I': its singular
// vectors into u and vt.
void dbdsdc_(const char* uplo, const char* compq, const svr::lapack_int* n, double* d, double* e,
             double* u, const svr::lapack_int* ldu, double* vt, const svr::lapack_int* ldvt,
             double* q, svr::lapack_int* iq, double* work, svr::lapack_int* iwork,
             svr::lapack_int* info, std::size_t uplo_len, std::size_t compq_len);
void sbdsdc_(const char* uplo, const char* compq, const svr::lapack_int* n, float* d, float* e,
             float* u, const svr::lapack_int* ldu, float* vt, const svr::lapack_int* ldvt, float* q,
             svr::lapack_int* iq, float* work, svr::lapack_int* iwork, svr::lapack_int* info,
             std::size_t uplo_len, std::size_t compq_len);

// Single precision (--precision single): the same routines on float.
void sgesdd_(const char* jobz, const svr::lapack_int* m, const svr::lapack_int* n, float* a,
             const svr::lapack_int* lda, float* s, float* u, const svr::lapack_int* ldu, float* vt,
             const svr::lapack_int* ldvt, float* work, const svr::lapack_int* lwork,
             svr::lapack_int* iwork, svr::lapack_int* info, std::size_t jobz_len);

void sgesvd_(const char* jobu, const char* jobvt, const svr::lapack_int* m,
             const svr::lapack_int* n, float* a, const svr::lapack_int* lda, float* s, float* u,
             const svr::lapack_int* ldu, float* vt, const svr::lapack_int* ldvt, float* work,
             const svr::lapack_int* lwork, svr::lapack_int* info, std::size_t jobu_len,
             std::size_t jobvt_len);

void dsyevd_(const char* jobz, const char* uplo, const svr::lapack_int* n, double* a,
             const svr::lapack_int* lda, double* w, double* work, const svr::lapack_int* lwork,
             svr::lapack_int* iwork, const svr::lapack_int* liwork, svr::lapack_int* info,
             std::size_t jobz_len, std::size_t uplo_len);

// ===== BLACS =================================================================================
// A "system handle" wraps an MPI communicator; Cblacs_gridmap turns it into a grid context with
// an explicit rank map (column-major usermap, leading dimension ldumap).
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridmap(int* context, int* usermap, int ldumap, int nprow, int npcol);
void Cblacs_gridinfo(int context, int* nprow, int* npcol, int* myrow, int* mycol);
void Cblacs_gridexit(int context);

// ===== ScaLAPACK TOOLS =======================================================================
svr::lapack_int numroc_(const svr::lapack_int* n, const svr::lapack_int* nb,
                        const svr::lapack_int* iproc, const svr::lapack_int* isrcproc,
                        const svr::lapack_int* nprocs);
void descinit_(svr::lapack_int* desc, const svr::lapack_int* m, const svr::lapack_int* n,
               const svr::lapack_int* mb, const svr::lapack_int* nb, const svr::lapack_int* irsrc,
               const svr::lapack_int* icsrc, const svr::lapack_int* ictxt,
               const svr::lapack_int* lld, svr::lapack_int* info);

// ===== ScaLAPACK / PBLAS =====================================================================
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

// Bidiagonal reduction A = Q B P^T (B upper bidiagonal when m >= n, lower otherwise) and the
// application of Q or P^T.
void pdgebrd_(const svr::lapack_int* m, const svr::lapack_int* n, double* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              double* d, double* e, double* tauq, double* taup, double* work,
              const svr::lapack_int* lwork, svr::lapack_int* info);
void pdormbr_(const char* vect, const char* side, const char* trans, const svr::lapack_int* m,
              const svr::lapack_int* n, const svr::lapack_int* k, const double* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              const double* tau, double* c, const svr::lapack_int* ic, const svr::lapack_int* jc,
              const svr::lapack_int* descc, double* work, const svr::lapack_int* lwork,
              svr::lapack_int* info, std::size_t vect_len, std::size_t side_len,
              std::size_t trans_len);

// Single precision (--precision single): the same routines on float.
void psgesvd_(const char* jobu, const char* jobvt, const svr::lapack_int* m,
              const svr::lapack_int* n, float* a, const svr::lapack_int* ia,
              const svr::lapack_int* ja, const svr::lapack_int* desca, float* s, float* u,
              const svr::lapack_int* iu, const svr::lapack_int* ju, const svr::lapack_int* descu,
              float* vt, const svr::lapack_int* ivt, const svr::lapack_int* jvt,
              const svr::lapack_int* descvt, float* work, const svr::lapack_int* lwork,
              svr::lapack_int* info, std::size_t jobu_len, std::size_t jobvt_len);
void psgeqrf_(const svr::lapack_int* m, const svr::lapack_int* n, float* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              float* tau, float* work, const svr::lapack_int* lwork, svr::lapack_int* info);
void psgelqf_(const svr::lapack_int* m, const svr::lapack_int* n, float* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              float* tau, float* work, const svr::lapack_int* lwork, svr::lapack_int* info);
void psormqr_(const char* side, const char* trans, const svr::lapack_int* m,
              const svr::lapack_int* n, const svr::lapack_int* k, const float* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              const float* tau, float* c, const svr::lapack_int* ic, const svr::lapack_int* jc,
              const svr::lapack_int* descc, float* work, const svr::lapack_int* lwork,
              svr::lapack_int* info, std::size_t side_len, std::size_t trans_len);
void psormlq_(const char* side, const char* trans, const svr::lapack_int* m,
              const svr::lapack_int* n, const svr::lapack_int* k, const float* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              const float* tau, float* c, const svr::lapack_int* ic, const svr::lapack_int* jc,
              const svr::lapack_int* descc, float* work, const svr::lapack_int* lwork,
              svr::lapack_int* info, std::size_t side_len, std::size_t trans_len);
void psgebrd_(const svr::lapack_int* m, const svr::lapack_int* n, float* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              float* d, float* e, float* tauq, float* taup, float* work,
              const svr::lapack_int* lwork, svr::lapack_int* info);
void psormbr_(const char* vect, const char* side, const char* trans, const svr::lapack_int* m,
              const svr::lapack_int* n, const svr::lapack_int* k, const float* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              const float* tau, float* c, const svr::lapack_int* ic, const svr::lapack_int* jc,
              const svr::lapack_int* descc, float* work, const svr::lapack_int* lwork,
              svr::lapack_int* info, std::size_t vect_len, std::size_t side_len,
              std::size_t trans_len);
void pslacpy_(const char* uplo, const svr::lapack_int* m, const svr::lapack_int* n, const float* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              float* b, const svr::lapack_int* ib, const svr::lapack_int* jb,
              const svr::lapack_int* descb, std::size_t uplo_len);

// C := beta*C + alpha*A^T, C m x n (PBLAS; no info argument).
void pdtran_(const svr::lapack_int* m, const svr::lapack_int* n, const double* alpha,
             const double* a, const svr::lapack_int* ia, const svr::lapack_int* ja,
             const svr::lapack_int* desca, const double* beta, double* c, const svr::lapack_int* ic,
             const svr::lapack_int* jc, const svr::lapack_int* descc);

void pdlacpy_(const char* uplo, const svr::lapack_int* m, const svr::lapack_int* n, const double* a,
              const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
              double* b, const svr::lapack_int* ib, const svr::lapack_int* jb,
              const svr::lapack_int* descb, std::size_t uplo_len);

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

// pdgemm_ in float.
void psgemm_(const char* transa, const char* transb, const svr::lapack_int* m,
             const svr::lapack_int* n, const svr::lapack_int* k, const float* alpha, const float* a,
             const svr::lapack_int* ia, const svr::lapack_int* ja, const svr::lapack_int* desca,
             const float* b, const svr::lapack_int* ib, const svr::lapack_int* jb,
             const svr::lapack_int* descb, const float* beta, float* c, const svr::lapack_int* ic,
             const svr::lapack_int* jc, const svr::lapack_int* descc, std::size_t transa_len,
             std::size_t transb_len);

// B(ib:, jb:) := alpha op(A(ia:, ja:))^{-1} B (side 'L') or alpha B op(A)^{-1} (side 'R'), A
// triangular (uplo), B m x n; PBLAS, no info.
void pdtrsm_(const char* side, const char* uplo, const char* transa, const char* diag,
             const svr::lapack_int* m, const svr::lapack_int* n, const double* alpha,
             const double* a, const svr::lapack_int* ia, const svr::lapack_int* ja,
             const svr::lapack_int* desca, double* b, const svr::lapack_int* ib,
             const svr::lapack_int* jb, const svr::lapack_int* descb, std::size_t side_len,
             std::size_t uplo_len, std::size_t transa_len, std::size_t diag_len);

}  // extern "C"
