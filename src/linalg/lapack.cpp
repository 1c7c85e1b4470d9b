#include "svr/linalg/lapack.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
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

void gesdd(char jobz, lapack_int m, lapack_int n, double* a, lapack_int lda, double* s,
           double* u, lapack_int ldu, double* vt, lapack_int ldvt) {
  lapack_int info = 0;
  lapack_int lwork = -1;
  double query = 0.0;
  std::vector<lapack_int> iwork(
      static_cast<std::size_t>(std::max<std::int64_t>(1, 8 * std::int64_t{std::min(m, n)})));
  dgesdd_(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, &query, &lwork, iwork.data(), &info, 1);
  if (info != 0) throw LapackError("dgesdd (workspace query)", info);
  lwork = workspace_size(query);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dgesdd_(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work.data(), &lwork, iwork.data(), &info,
          1);
  if (info != 0) throw LapackError("dgesdd", info);
}

void gesvd(char jobu, char jobvt, lapack_int m, lapack_int n, double* a, lapack_int lda,
           double* s, double* u, lapack_int ldu, double* vt, lapack_int ldvt) {
  lapack_int info = 0;
  lapack_int lwork = -1;
  double query = 0.0;
  dgesvd_(&jobu, &jobvt, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, &query, &lwork, &info, 1, 1);
  if (info != 0) throw LapackError("dgesvd (workspace query)", info);
  lwork = workspace_size(query);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  dgesvd_(&jobu, &jobvt, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work.data(), &lwork, &info, 1,
          1);
  if (info != 0) throw LapackError("dgesvd", info);
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

}  // namespace lapack
}  // namespace svr
