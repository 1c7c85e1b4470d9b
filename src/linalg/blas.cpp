#include "svr/linalg/blas.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

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

}  // namespace svr::blas
