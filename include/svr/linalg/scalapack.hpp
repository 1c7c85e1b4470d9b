#pragma once
// Typed wrappers of the ScaLAPACK routines svr uses (raw prototypes: src/linalg/imports.hpp). Every collective wrapper takes the MPI communicator of the descriptor's grid
// and is collective over it: the workspace query, the allocation and the call are each followed
// by an agreement (agree_info, mpi::agreed), so a failure on one rank (info != 0, bad_alloc)
// makes every rank throw the same error instead of leaving the others blocked in the next
// collective.
// Global indices are always 1 (whole matrices); descriptors are Descriptor (lapack_int[9]).
#include <mpi.h>

#include <array>
#include <cstdint>
#include <string>

#include "svr/linalg/lapack.hpp"

namespace svr::scalapack {

using Descriptor = std::array<lapack_int, 9>;
// Descriptor fields (0-based positions of ScaLAPACK's DTYPE_, CTXT_, M_, ..., LLD_).
enum DescriptorField { kDtype = 0, kContext, kRows, kCols, kRowBlock, kColBlock, kRowSrc,
                       kColSrc, kLeadingDim };

// numroc: how many of n rows (or columns), in blocks of nb, process iproc of nprocs holds when
// the first block is on isrcproc.
lapack_int numroc(lapack_int n, lapack_int nb, lapack_int iproc, lapack_int isrcproc,
                  lapack_int nprocs);

// descinit, throwing LapackError("descinit", info) on a bad argument.
Descriptor descinit(lapack_int m, lapack_int n, lapack_int mb, lapack_int nb, lapack_int rsrc,
                    lapack_int csrc, lapack_int context, lapack_int lld);

// Collective over comm: if any rank has info != 0, every rank throws LapackError(routine, x)
// where x is the most negative info (a bad argument) or else the largest positive one. info is
// reduced as a 64-bit integer, so an ILP64 build's info arrives unchanged.
void agree_info(MPI_Comm comm, const std::string& routine, std::int64_t info);

// A = U diag(s) VT, jobu/jobvt 'V' or 'N'; A (m x n) is destroyed, s has min(m, n) entries on
// every rank, U is m x min(m,n), VT min(m,n) x n. Requires MB = NB (square blocks).
void pdgesvd(MPI_Comm comm, char jobu, char jobvt, lapack_int m, lapack_int n, double* a,
             const Descriptor& desca, double* s, double* u, const Descriptor& descu, double* vt,
             const Descriptor& descvt);

// QR / LQ factorisations (Householder form in A and tau, as in LAPACK). tau needs
// LOCc(min(m,n)) entries for geqrf and LOCr(min(m,n)) for gelqf.
void pdgeqrf(MPI_Comm comm, lapack_int m, lapack_int n, double* a, const Descriptor& desca,
             double* tau);
void pdgelqf(MPI_Comm comm, lapack_int m, lapack_int n, double* a, const Descriptor& desca,
             double* tau);

// C (m x n) := op(Q) C or C op(Q), Q the product of k reflectors from pdgeqrf / pdgelqf.
void pdormqr(MPI_Comm comm, char side, char trans, lapack_int m, lapack_int n, lapack_int k,
             const double* a, const Descriptor& desca, const double* tau, double* c,
             const Descriptor& descc);
void pdormlq(MPI_Comm comm, char side, char trans, lapack_int m, lapack_int n, lapack_int k,
             const double* a, const Descriptor& desca, const double* tau, double* c,
             const Descriptor& descc);

// A (m x n) = Q B P^T with B bidiagonal (upper when m >= n, lower otherwise) in A's diagonal and
// first super- (sub-) diagonal, the reflectors of Q and P below and above it, with tauq
// (LOCc(min(m, n)) entries) and taup (LOCr(min(m, n))); d and e get the distributed diagonals
// (d: LOCc(min(m, n)) when m >= n, else LOCr; e: LOCr when m >= n, else LOCc). The float
// overload calls psgebrd.
void gebrd(MPI_Comm comm, lapack_int m, lapack_int n, double* a, const Descriptor& desca, double* d,
           double* e, double* tauq, double* taup);
void gebrd(MPI_Comm comm, lapack_int m, lapack_int n, float* a, const Descriptor& desca, float* d,
           float* e, float* tauq, float* taup);

// C (m x n) := op(Q) C or C op(Q) (vect 'Q'), or op(P^T) C or C op(P^T) (vect 'P'), Q and P
// from gebrd; k is the original matrix's column count (vect 'Q') or row count (vect 'P').
// The float overload calls psormbr.
void ormbr(MPI_Comm comm, char vect, char side, char trans, lapack_int m, lapack_int n,
           lapack_int k, const double* a, const Descriptor& desca, const double* tau, double* c,
           const Descriptor& descc);
void ormbr(MPI_Comm comm, char vect, char side, char trans, lapack_int m, lapack_int n,
           lapack_int k, const float* a, const Descriptor& desca, const float* tau, float* c,
           const Descriptor& descc);

// Single precision (--precision single): psgesvd, psgeqrf, psgelqf, psormqr, psormlq and
// pslacpy, as their double counterparts above (float arrays with the same descriptors).
void psgesvd(MPI_Comm comm, char jobu, char jobvt, lapack_int m, lapack_int n, float* a,
             const Descriptor& desca, float* s, float* u, const Descriptor& descu, float* vt,
             const Descriptor& descvt);
void psgeqrf(MPI_Comm comm, lapack_int m, lapack_int n, float* a, const Descriptor& desca,
             float* tau);
void psgelqf(MPI_Comm comm, lapack_int m, lapack_int n, float* a, const Descriptor& desca,
             float* tau);
void psormqr(MPI_Comm comm, char side, char trans, lapack_int m, lapack_int n, lapack_int k,
             const float* a, const Descriptor& desca, const float* tau, float* c,
             const Descriptor& descc);
void psormlq(MPI_Comm comm, char side, char trans, lapack_int m, lapack_int n, lapack_int k,
             const float* a, const Descriptor& desca, const float* tau, float* c,
             const Descriptor& descc);
void pslacpy(char uplo, lapack_int m, lapack_int n, const float* a, const Descriptor& desca,
             float* b, const Descriptor& descb);

// C (m x n) := beta C + alpha A^T (collective over the grid; no info).
void pdtran(lapack_int m, lapack_int n, double alpha, const double* a, const Descriptor& desca,
            double beta, double* c, const Descriptor& descc);

// B(1:m, 1:n) := A(1:m, 1:n), the upper ('U'), lower ('L') or whole ('A') part; same grid.
void pdlacpy(char uplo, lapack_int m, lapack_int n, const double* a, const Descriptor& desca,
             double* b, const Descriptor& descb);

// C(ic:ic+m-1, jc:jc+n-1) := alpha op(A) op(B) + beta C with op(A) m x k starting at A(ia, ja)
// and op(B) k x n at B(ib, jb); trans 'N' or 'T'. Unlike the wrappers above the global offsets
// are arguments (1-based, as in PBLAS): svr multiplies row blocks of a factor in place. All
// three descriptors must be on one grid. Collective over the grid; no info (PBLAS aborts on a
// bad argument, so the caller checks shapes and offsets first).
void pdgemm(char transa, char transb, lapack_int m, lapack_int n, lapack_int k, double alpha,
            const double* a, lapack_int ia, lapack_int ja, const Descriptor& desca, const double* b,
            lapack_int ib, lapack_int jb, const Descriptor& descb, double beta, double* c,
            lapack_int ic, lapack_int jc, const Descriptor& descc);

// pdgemm in float (whole matrices: offsets 1, 1), as --precision single's products with a
// layer need.
void psgemm(char transa, char transb, lapack_int m, lapack_int n, lapack_int k, float alpha,
            const float* a, const Descriptor& desca, const float* b, const Descriptor& descb,
            float beta, float* c, const Descriptor& descc);

// B (m x n) := op(A)^{-1} B, A the m x m triangular matrix of `uplo` ('U' or 'L'; its other
// part ignored), trans 'N' or 'T', non-unit diagonal; whole matrices on one grid. Collective over
// the grid; no info (a zero on A's diagonal gives Inf or NaN in B: callers check).
void pdtrsm_left(char uplo, char trans, lapack_int m, lapack_int n, const double* a,
                 const Descriptor& desca, double* b, const Descriptor& descb);

}  // namespace svr::scalapack
