#include "svr/linalg/lapack.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "imports.hpp"

namespace svr {

lapack_int to_lapack_int(std::int64_t value) {
  if (value < std::numeric_limits<lapack_int>::min() ||
      value > std::numeric_limits<lapack_int>::max())
    throw NumericalError("size " + std::to_string(value) +
                         " does not fit the LAPACK integer type (" +
                         std::to_string(8 * sizeof(lapack_int)) +
                         " bits): the matrix is too large for this LAPACK build");
  return static_cast<lapack_int>(value);
}

LapackError::LapackError(const std::string& routine, std::int64_t info)
    : NumericalError(routine + " failed with info = " + std::to_string(info) +
                     (info < 0 ? " (illegal value of argument " + std::to_string(-info) + ")"
                               : " (the algorithm did not converge)")),
      routine_(routine),
      info_(info) {}

namespace lapack {

lapack_int workspace_size(double query) {
  const double rounded = std::ceil(query * (1.0 + 4 * std::numeric_limits<double>::epsilon()));
  return to_lapack_int(std::max<std::int64_t>(1, static_cast<std::int64_t>(rounded)));
}

lapack_int workspace_size(float query) {
  return workspace_size(static_cast<double>(query) *
                        (1.0 + 2.0 * std::numeric_limits<float>::epsilon()));
}

namespace {

// The routines of one precision, so that each wrapper is written once for both.
struct DoubleRoutines {
  static constexpr auto gesdd = dgesdd_;
  static constexpr auto gesvd = dgesvd_;
  static constexpr const char* prefix = "d";
};
struct SingleRoutines {
  static constexpr auto gesdd = sgesdd_;
  static constexpr auto gesvd = sgesvd_;
  static constexpr const char* prefix = "s";
};
template <typename T>
struct RoutinesOf;
template <>
struct RoutinesOf<double> : DoubleRoutines {};
template <>
struct RoutinesOf<float> : SingleRoutines {};

template <typename T>
void gesdd_impl(char jobz, lapack_int m, lapack_int n, T* a, lapack_int lda, T* s, T* u,
                lapack_int ldu, T* vt, lapack_int ldvt) {
  using R = RoutinesOf<T>;
  const std::string name = std::string(R::prefix) + "gesdd";
  lapack_int info = 0;
  lapack_int lwork = -1;
  T query = 0;
  std::vector<lapack_int> iwork(
      static_cast<std::size_t>(std::max<std::int64_t>(1, 8 * std::int64_t{std::min(m, n)})));
  R::gesdd(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, &query, &lwork, iwork.data(), &info, 1);
  if (info != 0) throw LapackError(name + " (workspace query)", info);
  lwork = workspace_size(query);
  std::vector<T> work(static_cast<std::size_t>(lwork));
  R::gesdd(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work.data(), &lwork, iwork.data(), &info,
           1);
  if (info != 0) throw LapackError(name, info);
}

template <typename T>
void gesvd_impl(char jobu, char jobvt, lapack_int m, lapack_int n, T* a, lapack_int lda, T* s, T* u,
                lapack_int ldu, T* vt, lapack_int ldvt) {
  using R = RoutinesOf<T>;
  const std::string name = std::string(R::prefix) + "gesvd";
  lapack_int info = 0;
  lapack_int lwork = -1;
  T query = 0;
  R::gesvd(&jobu, &jobvt, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, &query, &lwork, &info, 1, 1);
  if (info != 0) throw LapackError(name + " (workspace query)", info);
  lwork = workspace_size(query);
  std::vector<T> work(static_cast<std::size_t>(lwork));
  R::gesvd(&jobu, &jobvt, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work.data(), &lwork, &info, 1, 1);
  if (info != 0) throw LapackError(name, info);
}

}  // namespace

void gesdd(char jobz, lapack_int m, lapack_int n, double* a, lapack_int lda, double* s, double* u,
           lapack_int ldu, double* vt, lapack_int ldvt) {
  gesdd_impl(jobz, m, n, a, lda, s, u, ldu, vt, ldvt);
}

void gesdd(char jobz, lapack_int m, lapack_int n, float* a, lapack_int lda, float* s, float* u,
           lapack_int ldu, float* vt, lapack_int ldvt) {
  gesdd_impl(jobz, m, n, a, lda, s, u, ldu, vt, ldvt);
}

void gesvd(char jobu, char jobvt, lapack_int m, lapack_int n, double* a, lapack_int lda, double* s,
           double* u, lapack_int ldu, double* vt, lapack_int ldvt) {
  gesvd_impl(jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt);
}

void gesvd(char jobu, char jobvt, lapack_int m, lapack_int n, float* a, lapack_int lda, float* s,
           float* u, lapack_int ldu, float* vt, lapack_int ldvt) {
  gesvd_impl(jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt);
}

namespace {

// dbdsdc / sbdsdc with compq 'I': workspace 3 n^2 + 4 n reals and 8 n integers (no query).
template <typename T>
void bdsdc_any(char uplo, lapack_int n, T* d, T* e, T* u, lapack_int ldu, T* vt, lapack_int ldvt) {
  constexpr bool is_double = std::is_same_v<T, double>;
  const std::int64_t nn = std::max<std::int64_t>(1, n);
  std::vector<T> work(static_cast<std::size_t>(3 * nn * nn + 4 * nn));
  std::vector<lapack_int> iwork(static_cast<std::size_t>(8 * nn));
  const char compq = 'I';
  lapack_int info = 0;
  T q = 0;
  lapack_int iq = 0;
  if constexpr (is_double)
    dbdsdc_(&uplo, &compq, &n, d, e, u, &ldu, vt, &ldvt, &q, &iq, work.data(), iwork.data(), &info,
            1, 1);
  else
    sbdsdc_(&uplo, &compq, &n, d, e, u, &ldu, vt, &ldvt, &q, &iq, work.data(), iwork.data(), &info,
            1, 1);
  if (info != 0) throw LapackError(is_double ? "dbdsdc" : "sbdsdc", info);
}

}  // namespace

void bdsdc(char uplo, lapack_int n, double* d, double* e, double* u, lapack_int ldu, double* vt,
           lapack_int ldvt) {
  bdsdc_any(uplo, n, d, e, u, ldu, vt, ldvt);
}

void bdsdc(char uplo, lapack_int n, float* d, float* e, float* u, lapack_int ldu, float* vt,
           lapack_int ldvt) {
  bdsdc_any(uplo, n, d, e, u, ldu, vt, ldvt);
}

void syevd(char jobz, char uplo, lapack_int n, double* a, lapack_int lda, double* w) {
  lapack_int info = 0;
  lapack_int lwork = -1, liwork = -1, iquery = 0;
  double query = 0.0;
  dsyevd_(&jobz, &uplo, &n, a, &lda, w, &query, &lwork, &iquery, &liwork, &info, 1, 1);
  if (info != 0) throw LapackError("dsyevd (workspace query)", info);
  lwork = workspace_size(query);
  liwork = std::max<lapack_int>(1, iquery);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<lapack_int> iwork(static_cast<std::size_t>(liwork));
  dsyevd_(&jobz, &uplo, &n, a, &lda, w, work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  if (info != 0) throw LapackError("dsyevd", info);
}

namespace {

// geqrf and ormqr in either precision: query, allocate, call.
template <typename T>
void geqrf_any(lapack_int m, lapack_int n, T* a, lapack_int lda, T* tau) {
  constexpr bool is_double = std::is_same_v<T, double>;
  const char* name = is_double ? "dgeqrf" : "sgeqrf";
  auto call = [&](T* work, const lapack_int* lwork, lapack_int* info) {
    if constexpr (is_double)
      dgeqrf_(&m, &n, a, &lda, tau, work, lwork, info);
    else
      sgeqrf_(&m, &n, a, &lda, tau, work, lwork, info);
  };
  lapack_int info = 0;
  lapack_int lwork = -1;
  T query = 0;
  call(&query, &lwork, &info);
  if (info != 0) throw LapackError(std::string(name) + " (workspace query)", info);
  lwork = workspace_size(query);
  std::vector<T> work(static_cast<std::size_t>(lwork));
  call(work.data(), &lwork, &info);
  if (info != 0) throw LapackError(name, info);
}

template <typename T>
void ormqr_any(char side, char trans, lapack_int m, lapack_int n, lapack_int k, const T* a,
               lapack_int lda, const T* tau, T* c, lapack_int ldc) {
  constexpr bool is_double = std::is_same_v<T, double>;
  const char* name = is_double ? "dormqr" : "sormqr";
  auto call = [&](T* work, const lapack_int* lwork, lapack_int* info) {
    if constexpr (is_double)
      dormqr_(&side, &trans, &m, &n, &k, a, &lda, tau, c, &ldc, work, lwork, info, 1, 1);
    else
      sormqr_(&side, &trans, &m, &n, &k, a, &lda, tau, c, &ldc, work, lwork, info, 1, 1);
  };
  lapack_int info = 0;
  lapack_int lwork = -1;
  T query = 0;
  call(&query, &lwork, &info);
  if (info != 0) throw LapackError(std::string(name) + " (workspace query)", info);
  lwork = workspace_size(query);
  std::vector<T> work(static_cast<std::size_t>(lwork));
  call(work.data(), &lwork, &info);
  if (info != 0) throw LapackError(name, info);
}

}  // namespace

void geqrf(lapack_int m, lapack_int n, double* a, lapack_int lda, double* tau) {
  geqrf_any(m, n, a, lda, tau);
}

void geqrf(lapack_int m, lapack_int n, float* a, lapack_int lda, float* tau) {
  geqrf_any(m, n, a, lda, tau);
}

void ormqr(char side, char trans, lapack_int m, lapack_int n, lapack_int k, const double* a,
           lapack_int lda, const double* tau, double* c, lapack_int ldc) {
  ormqr_any(side, trans, m, n, k, a, lda, tau, c, ldc);
}

void ormqr(char side, char trans, lapack_int m, lapack_int n, lapack_int k, const float* a,
           lapack_int lda, const float* tau, float* c, lapack_int ldc) {
  ormqr_any(side, trans, m, n, k, a, lda, tau, c, ldc);
}

}  // namespace lapack
}  // namespace svr
