#pragma once
// All Fortran glue of svr in one place: the raw LAPACK (and, later, ScaLAPACK/BLACS) prototypes
// and thin typed wrappers that do the workspace query, allocate, call and check `info`.
// Nothing outside this header and src/linalg/ declares a Fortran symbol.
#include <cstddef>
#include <cstdint>
#include <string>

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
// Reserved for the distributed SVD (next issue): Cblacs_*/blacs_* grid set-up, descinit_,
// numroc_, pdgesvd_, pdgemr2d_. Declare them here, with the same hidden-length convention,
// and add typed wrappers in namespace svr::lapack below.
// =============================================================================================

}  // extern "C"

namespace svr::lapack {

// Column-major, LAPACK argument order. `a` is destroyed. Query, allocate, call; throws
// LapackError (naming the routine and info) when info != 0.
void gesdd(char jobz, lapack_int m, lapack_int n, double* a, lapack_int lda, double* s,
           double* u, lapack_int ldu, double* vt, lapack_int ldvt);

void gesvd(char jobu, char jobvt, lapack_int m, lapack_int n, double* a, lapack_int lda,
           double* s, double* u, lapack_int ldu, double* vt, lapack_int ldvt);

}  // namespace svr::lapack
