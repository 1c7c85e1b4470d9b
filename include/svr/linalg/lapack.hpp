#pragma once
// Typed LAPACK wrappers and the integer type of the BLAS/LAPACK/ScaLAPACK build svr links. The
// raw prototypes are private to src/linalg/ (imports.hpp); these wrappers do the workspace
// query, allocate, call, check `info` and throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "svr/core/error.hpp"

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

namespace svr::lapack {

// The lwork a workspace query (lwork = -1) returned as a double, rounded up so that a value just
// below an integer never under-allocates; at least 1. Throws NumericalError beyond lapack_int.
lapack_int workspace_size(double query);
// The same for a float query (single precision routines), which rounded a large lwork to 24
// bits, possibly down: a float ulp is added first.
lapack_int workspace_size(float query);

// Column-major, LAPACK argument order. `a` is destroyed. Query, allocate, call; throws
// LapackError (naming the routine and info) when info != 0.
// The float overloads call sgesdd / sgesvd (--precision single).
void gesdd(char jobz, lapack_int m, lapack_int n, double* a, lapack_int lda, double* s,
           double* u, lapack_int ldu, double* vt, lapack_int ldvt);
void gesdd(char jobz, lapack_int m, lapack_int n, float* a, lapack_int lda, float* s, float* u,
           lapack_int ldu, float* vt, lapack_int ldvt);

void gesvd(char jobu, char jobvt, lapack_int m, lapack_int n, double* a, lapack_int lda,
           double* s, double* u, lapack_int ldu, double* vt, lapack_int ldvt);
void gesvd(char jobu, char jobvt, lapack_int m, lapack_int n, float* a, lapack_int lda, float* s,
           float* u, lapack_int ldu, float* vt, lapack_int ldvt);

// The SVD B = U diag(d) VT of the n x n bidiagonal matrix with diagonal d and off-diagonal e
// (n - 1 entries), upper (uplo 'U') or lower ('L'), by divide and conquer (dbdsdc / sbdsdc,
// compq 'I'): d is overwritten by the singular values in decreasing order, e is destroyed,
// u and vt (n x n) receive the singular vectors.
void bdsdc(char uplo, lapack_int n, double* d, double* e, double* u, lapack_int ldu, double* vt,
           lapack_int ldvt);
void bdsdc(char uplo, lapack_int n, float* d, float* e, float* u, lapack_int ldu, float* vt,
           lapack_int ldvt);

// Eigenvalues (ascending, in w) and, with jobz 'V', eigenvectors (overwriting a) of a symmetric
// n x n matrix whose `uplo` triangle is referenced; divide and conquer.
void syevd(char jobz, char uplo, lapack_int n, double* a, lapack_int lda, double* w);

// Householder QR of the m x n matrix a (m >= n for svr's use): R in its upper triangle, the
// reflectors below it and in tau (min(m, n) entries). The float overloads of geqrf and ormqr
// call sgeqrf / sormqr (the bottom K of --precision single).
void geqrf(lapack_int m, lapack_int n, double* a, lapack_int lda, double* tau);
void geqrf(lapack_int m, lapack_int n, float* a, lapack_int lda, float* tau);

// c (m x n) := op(Q) c (side 'L') or c op(Q) (side 'R'), trans 'N' or 'T', Q the product of the
// k reflectors geqrf left in a and tau.
void ormqr(char side, char trans, lapack_int m, lapack_int n, lapack_int k, const double* a,
           lapack_int lda, const double* tau, double* c, lapack_int ldc);
void ormqr(char side, char trans, lapack_int m, lapack_int n, lapack_int k, const float* a,
           lapack_int lda, const float* tau, float* c, lapack_int ldc);

}  // namespace svr::lapack
