#pragma once
// Typed BLAS wrappers (the raw prototypes are private to src/linalg/, imports.hpp). Sizes are
// std::int64_t and narrowed to lapack_int with a check; arguments the reference BLAS would
// reject (and answer by aborting the process in xerbla) are checked first and thrown as
// std::invalid_argument.
#include <Eigen/Dense>
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

// C := op(A) op(B) for Eigen matrices (C resized to fit, its storage reused when it already
// fits: a loop of products allocates once). Eigen's own kernels, built for baseline x86-64, are
// ~3.5x slower than the BLAS (4096^3: 12.8 s against 3.5 s on one core).
void gemm(char trans_a, const Eigen::MatrixXd& A, char trans_b, const Eigen::MatrixXd& B,
          Eigen::MatrixXd& C);
Eigen::MatrixXd gemm(char trans_a, const Eigen::MatrixXd& A, char trans_b,
                     const Eigen::MatrixXd& B);
// The same in single precision (sgemm): the truncated SVD of --precision single.
void gemm(char trans_a, const Eigen::MatrixXf& A, char trans_b, const Eigen::MatrixXf& B,
          Eigen::MatrixXf& C);
Eigen::MatrixXf gemm(char trans_a, const Eigen::MatrixXf& A, char trans_b,
                     const Eigen::MatrixXf& B);

// B := op(A)^{-1} B in place, A an n x n upper triangular matrix (its strictly lower part is
// ignored), B n x k; trans_a 'N' or 'T'. A zero on A's diagonal gives Inf or NaN in B, not an
// error: callers check. The float overload calls strsm.
void trsm_upper_left(char trans_a, const Eigen::MatrixXd& A, Eigen::MatrixXd& B);
void trsm_upper_left(char trans_a, const Eigen::MatrixXf& A, Eigen::MatrixXf& B);

}  // namespace svr::blas
