#pragma once
// Typed BLAS wrappers (the raw prototypes are private to src/linalg/, imports.hpp). Sizes are
// std::int64_t and narrowed to lapack_int with a check; arguments the reference BLAS would
// reject (and answer by aborting the process in xerbla) are checked first and thrown as
// std::invalid_argument.
#include <cstdint>

namespace svr::blas {

// C := alpha op(A) op(B) + beta C, column-major. op(A) is m x k, op(B) k x n, C m x n;
// trans_a, trans_b are 'N' (op(X) = X) or 'T' (op(X) = X^T). The leading dimensions must hold
// the stored matrices: lda >= max(1, rows of A as stored), likewise ldb and ldc >= max(1, m).
// Throws NumericalError when a size exceeds lapack_int, std::invalid_argument for a bad
// argument.
void gemm(char trans_a, char trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
          const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta,
          double* c, std::int64_t ldc);

}  // namespace svr::blas
