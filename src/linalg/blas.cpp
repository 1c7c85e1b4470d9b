#include "svr/linalg/blas.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "imports.hpp"
#include "svr/linalg/lapack.hpp"

namespace svr::blas {
namespace {

bool valid_trans(char t) { return t == 'N' || t == 'T'; }

}  // namespace

void gemm(char trans_a, char trans_b, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
          const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta,
          double* c, std::int64_t ldc) {
  const std::int64_t a_rows = trans_a == 'N' ? m : k;
  const std::int64_t b_rows = trans_b == 'N' ? k : n;
  if (!valid_trans(trans_a) || !valid_trans(trans_b) || m < 0 || n < 0 || k < 0 ||
      lda < std::max<std::int64_t>(1, a_rows) || ldb < std::max<std::int64_t>(1, b_rows) ||
      ldc < std::max<std::int64_t>(1, m))
    throw std::invalid_argument(
        std::string("blas::gemm: bad arguments (trans ") + trans_a + trans_b +
        ", m = " + std::to_string(m) + ", n = " + std::to_string(n) + ", k = " + std::to_string(k) +
        ", lda = " + std::to_string(lda) + ", ldb = " + std::to_string(ldb) +
        ", ldc = " + std::to_string(ldc) + ")");
  const lapack_int mm = to_lapack_int(m), nn = to_lapack_int(n), kk = to_lapack_int(k),
                   la = to_lapack_int(lda), lb = to_lapack_int(ldb), lc = to_lapack_int(ldc);
  dgemm_(&trans_a, &trans_b, &mm, &nn, &kk, &alpha, a, &la, b, &lb, &beta, c, &lc, 1, 1);
}

namespace {

// C := op(A) op(B) for Eigen matrices of double or float.
template <typename T>
void gemm_matrices(char trans_a, const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& A,
                   char trans_b, const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& B,
                   Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& C) {
  const std::int64_t m = trans_a == 'N' ? A.rows() : A.cols();
  const std::int64_t k = trans_a == 'N' ? A.cols() : A.rows();
  const std::int64_t k_b = trans_b == 'N' ? B.rows() : B.cols();
  const std::int64_t n = trans_b == 'N' ? B.cols() : B.rows();
  if (k != k_b)
    throw std::invalid_argument("blas::gemm: inner dimensions " + std::to_string(k) + " and " +
                                std::to_string(k_b) + " differ");
  C.resize(m, n);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    C.setZero();
    return;
  }
  const std::int64_t lda = std::max<std::int64_t>(1, A.rows());
  const std::int64_t ldb = std::max<std::int64_t>(1, B.rows());
  if constexpr (std::is_same_v<T, double>) {
    gemm(trans_a, trans_b, m, n, k, 1.0, A.data(), lda, B.data(), ldb, 0.0, C.data(),
         std::max<std::int64_t>(1, m));
  } else {
    if (!valid_trans(trans_a) || !valid_trans(trans_b))
      throw std::invalid_argument(std::string("blas::gemm: bad trans ") + trans_a + trans_b);
    const lapack_int mm = to_lapack_int(m), nn = to_lapack_int(n), kk = to_lapack_int(k),
                     la = to_lapack_int(lda), lb = to_lapack_int(ldb),
                     lc = to_lapack_int(std::max<std::int64_t>(1, m));
    const float one = 1.0f, zero = 0.0f;
    sgemm_(&trans_a, &trans_b, &mm, &nn, &kk, &one, A.data(), &la, B.data(), &lb, &zero, C.data(),
           &lc, 1, 1);
  }
}

}  // namespace

void gemm(char trans_a, const Eigen::MatrixXd& A, char trans_b, const Eigen::MatrixXd& B,
          Eigen::MatrixXd& C) {
  gemm_matrices(trans_a, A, trans_b, B, C);
}

Eigen::MatrixXd gemm(char trans_a, const Eigen::MatrixXd& A, char trans_b,
                     const Eigen::MatrixXd& B) {
  Eigen::MatrixXd C;
  gemm(trans_a, A, trans_b, B, C);
  return C;
}

void gemm(char trans_a, const Eigen::MatrixXf& A, char trans_b, const Eigen::MatrixXf& B,
          Eigen::MatrixXf& C) {
  gemm_matrices(trans_a, A, trans_b, B, C);
}

Eigen::MatrixXf gemm(char trans_a, const Eigen::MatrixXf& A, char trans_b,
                     const Eigen::MatrixXf& B) {
  Eigen::MatrixXf C;
  gemm(trans_a, A, trans_b, B, C);
  return C;
}

namespace {

template <typename Matrix>
void trsm_any(char trans_a, const Matrix& A, Matrix& B) {
  using T = typename Matrix::Scalar;
  if (!valid_trans(trans_a) || A.rows() != A.cols() || B.rows() != A.rows())
    throw std::invalid_argument(std::string("blas::trsm_upper_left: bad arguments (trans ") +
                                trans_a + ", A " + std::to_string(A.rows()) + "x" +
                                std::to_string(A.cols()) + ", B " + std::to_string(B.rows()) + "x" +
                                std::to_string(B.cols()) + ")");
  if (B.size() == 0) return;
  const lapack_int m = to_lapack_int(B.rows()), n = to_lapack_int(B.cols());
  const T one = 1;
  const char side = 'L', uplo = 'U', diag = 'N';
  if constexpr (std::is_same_v<T, double>)
    dtrsm_(&side, &uplo, &trans_a, &diag, &m, &n, &one, A.data(), &m, B.data(), &m, 1, 1, 1, 1);
  else
    strsm_(&side, &uplo, &trans_a, &diag, &m, &n, &one, A.data(), &m, B.data(), &m, 1, 1, 1, 1);
}

}  // namespace

void trsm_upper_left(char trans_a, const Eigen::MatrixXd& A, Eigen::MatrixXd& B) {
  trsm_any(trans_a, A, B);
}

void trsm_upper_left(char trans_a, const Eigen::MatrixXf& A, Eigen::MatrixXf& B) {
  trsm_any(trans_a, A, B);
}

}  // namespace svr::blas
