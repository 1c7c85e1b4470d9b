// libsvr_slepc.so: the top K singular triplets of a dense matrix by SLEPc's thick-restart
// Lanczos (SVDTRLANCZOS), for svr's --max-rank (svr/linalg/slepc_plugin_abi.hpp;
// docs/distributed-svd.md, "SLEPc"). svr loads it with dlopen, so this file is the only one that
// sees PETSc.
//
// PETSc is initialised on the first request, on PETSC_COMM_WORLD = MPI_COMM_SELF (each rank on
// its own, so a request on a team's communicator needs nothing from ranks outside it), with its
// signal handlers off (svr has its own) and no options files read; its error handler returns
// the error instead of printing a trace, and the error's text goes back to svr.
#include <petscsys.h>
#include <slepcsvd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "svr/linalg/slepc_plugin_abi.hpp"

namespace {

bool initialised_here = false;
// PETSc keeps pointers to argv: static storage.
char arg_program[] = "svr";
char arg_no_signals[] = "-no_signal_handler";
char arg_no_rc[] = "-skip_petscrc";
char* args[] = {arg_program, arg_no_signals, arg_no_rc, nullptr};

void put(char* out, std::size_t size, const std::string& text) {
  std::snprintf(out, size, "%s", text.c_str());
}

std::string petsc_error(PetscErrorCode code, const char* during) {
  const char* text = nullptr;
  PetscErrorMessage(code, &text, nullptr);
  return std::string("SLEPc failed in ") + during + ": " +
         (text != nullptr ? text : "PETSc error " + std::to_string(code));
}

// Convergence of a triplet: its residual relative to the largest value seen, an estimate of
// s_max from below, so the test is never looser than svr's tolerance on residual / s_max.
struct Convergence {
  double largest = 0;
};
PetscErrorCode relative_to_largest(SVD, PetscReal sigma, PetscReal residual, PetscReal* estimate,
                                   void* context) {
  auto* convergence = static_cast<Convergence*>(context);
  convergence->largest = std::max(convergence->largest, static_cast<double>(sigma));
  *estimate = convergence->largest > 0 ? residual / convergence->largest : residual;
  return 0;
}

// The operator SLEPc sees: M itself behind a shell that counts the products, so that svr's
// budget is checked against the work really done.
struct Counted {
  Mat A = nullptr;
  double products = 0;  // pairs: one product with M and one with M^T count as one
};

// MatMult or MatMultTranspose of M, counted.
template <PetscErrorCode (*Apply)(Mat, Vec, Vec)>
PetscErrorCode counted_product(Mat B, Vec x, Vec y) {
  Counted* c = nullptr;
  PetscCall(MatShellGetContext(B, &c));
  c->products += 0.5;
  PetscCall(Apply(c->A, x, y));
  return 0;
}

PetscErrorCode counted_create_vecs(Mat B, Vec* right, Vec* left) {
  Counted* c = nullptr;
  PetscCall(MatShellGetContext(B, &c));
  PetscCall(MatCreateVecs(c->A, right, left));
  return 0;
}

// svr's budget (krylov_method.hpp's cost rule, in product pairs): stop once the products pass
// it, or once the products per converged triplet so far project more than `margin` times it for
// all K. Lanczos converges the top triplets one after another, so that rate is a fair guide
// once an eighth of them are in (a projection from residual estimates gave up on layers that
// converged two restarts later, cheaper than the full SVD).
struct Budget {
  double max_products = 0;  // <= 0: no limit
  double margin = 1;
  PetscInt wanted = 0;
  const Counted* counted = nullptr;
  bool exceeded = false;
  bool projected = false;
};

PetscErrorCode stop_on_budget(SVD svd, PetscInt its, PetscInt max_it, PetscInt nconv, PetscInt nsv,
                              SVDConvergedReason* reason, void* context) {
  PetscCall(SVDStoppingBasic(svd, its, max_it, nconv, nsv, reason, nullptr));
  auto* budget = static_cast<Budget*>(context);
  if (*reason != SVD_CONVERGED_ITERATING || !(budget->max_products > 0)) return 0;
  const double spent = budget->counted->products;
  if (spent > budget->max_products) {
    budget->exceeded = true;
    *reason = SVD_DIVERGED_ITS;
  } else if (8 * nconv >= budget->wanted && nconv > 0 &&
             spent * static_cast<double>(budget->wanted) / static_cast<double>(nconv) >
                 budget->margin * budget->max_products) {
    budget->exceeded = true;
    budget->projected = true;
    *reason = SVD_DIVERGED_ITS;
  }
  return 0;
}

PetscErrorCode ensure_initialised() {
  PetscBool initialised = PETSC_FALSE;
  PetscCall(PetscInitialized(&initialised));
  if (initialised) return 0;
  PETSC_COMM_WORLD = MPI_COMM_SELF;
  int argc = 3;
  char** argv = args;
  PetscCall(SlepcInitialize(&argc, &argv, nullptr, nullptr));
  initialised_here = true;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, nullptr));
  return 0;
}

// Copies this rank's part of a PETSc vector into column j of a column-major array.
PetscErrorCode copy_out(Vec x, double* out, std::int64_t ld, std::int64_t j, std::int64_t count) {
  const PetscScalar* values = nullptr;
  PetscCall(VecGetArrayRead(x, &values));
  std::copy(values, values + count, out + j * ld);
  PetscCall(VecRestoreArrayRead(x, &values));
  return 0;
}

// B = A (I - V V^T), V the converged right vectors: its singular values are A's that the run
// did not return. Single-vector Lanczos finds one copy of an exactly repeated value only (an
// orthogonal layer has every value repeated), so the top value of B, above the K-th returned,
// reveals a miss.
struct Deflated {
  Mat A = nullptr;
  Mat V = nullptr;  // cols x K, the right vectors
  Vec coefficients = nullptr, projected = nullptr, kept = nullptr;
};

PetscErrorCode deflated_mult(Mat B, Vec x, Vec y) {
  Deflated* d = nullptr;
  PetscCall(MatShellGetContext(B, &d));
  PetscCall(MatMultTranspose(d->V, x, d->coefficients));    // V^T x
  PetscCall(MatMult(d->V, d->coefficients, d->projected));  // V V^T x
  PetscCall(VecWAXPY(d->kept, -1.0, d->projected, x));      // (I - V V^T) x
  PetscCall(MatMult(d->A, d->kept, y));
  return 0;
}

PetscErrorCode deflated_mult_transpose(Mat B, Vec x, Vec y) {
  Deflated* d = nullptr;
  PetscCall(MatShellGetContext(B, &d));
  PetscCall(MatMultTranspose(d->A, x, d->kept));
  PetscCall(MatMultTranspose(d->V, d->kept, d->coefficients));
  PetscCall(MatMult(d->V, d->coefficients, d->projected));
  PetscCall(VecWAXPY(y, -1.0, d->projected, d->kept));
  return 0;
}

// The largest singular value of B to a loose tolerance (enough to tell it from the K-th).
PetscErrorCode largest_missed(Mat A, Mat V, double relative_tolerance, double& value) {
  Deflated d;
  d.A = A;
  d.V = V;
  PetscInt rows = 0, cols = 0, local_rows = 0, local_cols = 0;
  PetscCall(MatGetSize(A, &rows, &cols));
  PetscCall(MatGetLocalSize(A, &local_rows, &local_cols));
  PetscCall(MatCreateVecs(V, &d.coefficients, &d.projected));
  PetscCall(VecDuplicate(d.projected, &d.kept));
  Mat B = nullptr;
  SVD svd = nullptr;
  MPI_Comm comm = PETSC_COMM_SELF;
  PetscCall(PetscObjectGetComm(reinterpret_cast<PetscObject>(A), &comm));
  PetscCall(MatCreateShell(comm, local_rows, local_cols, rows, cols, &d, &B));
  PetscCall(MatShellSetOperation(B, MATOP_MULT, reinterpret_cast<void (*)(void)>(deflated_mult)));
  PetscCall(MatShellSetOperation(B, MATOP_MULT_TRANSPOSE,
                                 reinterpret_cast<void (*)(void)>(deflated_mult_transpose)));
  PetscCall(SVDCreate(comm, &svd));
  PetscCall(SVDSetOperators(svd, B, nullptr));
  PetscCall(SVDSetType(svd, SVDTRLANCZOS));
  PetscCall(SVDSetImplicitTranspose(svd, PETSC_TRUE));
  PetscCall(SVDSetDimensions(svd, 1, PETSC_DEFAULT, PETSC_DEFAULT));
  PetscCall(SVDSetTolerances(svd, relative_tolerance, 1000));
  // Not SLEPc's default start vector: the first run's, deflated, has no component along the
  // copies it missed.
  Vec start = nullptr;
  PetscRandom random = nullptr;
  PetscCall(MatCreateVecs(B, &start, nullptr));
  PetscCall(PetscRandomCreate(comm, &random));
  PetscCall(PetscRandomSetSeed(random, 0x53565232));
  PetscCall(PetscRandomSeed(random));
  PetscCall(VecSetRandom(start, random));
  PetscCall(PetscRandomDestroy(&random));
  PetscCall(SVDSetInitialSpaces(svd, 1, &start, 0, nullptr));
  PetscCall(VecDestroy(&start));
  PetscCall(SVDSolve(svd));
  PetscInt converged = 0;
  PetscCall(SVDGetConverged(svd, &converged));
  value = 0;
  if (converged > 0) PetscCall(SVDGetSingularTriplet(svd, 0, &value, nullptr, nullptr));
  PetscCall(SVDDestroy(&svd));
  PetscCall(MatDestroy(&B));
  PetscCall(VecDestroy(&d.coefficients));
  PetscCall(VecDestroy(&d.projected));
  PetscCall(VecDestroy(&d.kept));
  return 0;
}

struct Objects {
  Mat A = nullptr;
  Mat counted = nullptr;
  SVD svd = nullptr;
  Vec u = nullptr, v = nullptr;
  ~Objects() {
    VecDestroy(&u);
    VecDestroy(&v);
    SVDDestroy(&svd);
    MatDestroy(&counted);
    MatDestroy(&A);
  }
};

// 0 delivered, 1 gave up; a PETSc error comes back as its code.
PetscErrorCode solve(const svr::SlepcTopRequest& request, svr::SlepcTopResult& result,
                     int& status) {
  Objects objects;
  // SLEPc never writes to the operator: the const is only PETSc's signature.
  PetscCall(MatCreateDense(request.comm, static_cast<PetscInt>(request.local_rows),
                           static_cast<PetscInt>(request.local_cols),
                           static_cast<PetscInt>(request.rows), static_cast<PetscInt>(request.cols),
                           const_cast<PetscScalar*>(request.local), &objects.A));
  if (request.local_rows > 0 && request.local_ld != request.local_rows)
    PetscCall(MatDenseSetLDA(objects.A, static_cast<PetscInt>(request.local_ld)));
  PetscCall(MatAssemblyBegin(objects.A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(objects.A, MAT_FINAL_ASSEMBLY));

  Counted counted;
  counted.A = objects.A;
  PetscCall(MatCreateShell(request.comm, static_cast<PetscInt>(request.local_rows),
                           static_cast<PetscInt>(request.local_cols),
                           static_cast<PetscInt>(request.rows), static_cast<PetscInt>(request.cols),
                           &counted, &objects.counted));
  PetscCall(MatShellSetOperation(objects.counted, MATOP_MULT,
                                 reinterpret_cast<void (*)(void)>(counted_product<MatMult>)));
  PetscCall(
      MatShellSetOperation(objects.counted, MATOP_MULT_TRANSPOSE,
                           reinterpret_cast<void (*)(void)>(counted_product<MatMultTranspose>)));
  PetscCall(MatShellSetOperation(objects.counted, MATOP_CREATE_VECS,
                                 reinterpret_cast<void (*)(void)>(counted_create_vecs)));

  PetscCall(SVDCreate(request.comm, &objects.svd));
  SVD svd = objects.svd;
  PetscCall(SVDSetOperators(svd, objects.counted, nullptr));
  PetscCall(SVDSetProblemType(svd, SVD_STANDARD));
  PetscCall(SVDSetType(svd, SVDTRLANCZOS));
  // Products with M^T through M itself: no transposed copy of a matrix that may fill memory.
  PetscCall(SVDSetImplicitTranspose(svd, PETSC_TRUE));
  PetscCall(SVDSetWhichSingularTriplets(svd, SVD_LARGEST));
  PetscCall(
      SVDSetDimensions(svd, static_cast<PetscInt>(request.rank), PETSC_DEFAULT, PETSC_DEFAULT));
  PetscCall(
      SVDSetTolerances(svd, request.tolerance, static_cast<PetscInt>(request.max_iterations)));
  Convergence convergence;
  PetscCall(SVDSetConvergenceTestFunction(svd, relative_to_largest, &convergence, nullptr));
  PetscCall(SVDSetUp(svd));
  PetscInt nsv = 0, ncv = 0, mpd = 0;
  PetscCall(SVDGetDimensions(svd, &nsv, &ncv, &mpd));
  Budget budget;
  budget.max_products = request.max_products;
  budget.margin = request.projection_margin;
  budget.wanted = static_cast<PetscInt>(request.rank);
  budget.counted = &counted;
  PetscCall(SVDSetStoppingTestFunction(svd, stop_on_budget, &budget, nullptr));
  PetscCall(SVDSolve(svd));

  PetscInt iterations = 0, converged = 0;
  PetscCall(SVDGetIterationNumber(svd, &iterations));
  PetscCall(SVDGetConverged(svd, &converged));
  SVDType type = nullptr;
  PetscCall(SVDGetType(svd, &type));
  put(result.solver, sizeof result.solver, type != nullptr ? type : "?");
  result.iterations = iterations;
  result.converged = converged;
  if (converged < request.rank) {
    result.gave_up_on_cost = budget.exceeded ? 1 : 0;
    put(result.message, sizeof result.message,
        "SLEPc's " + std::string(result.solver) + " converged " + std::to_string(converged) +
            " of " + std::to_string(request.rank) + " triplets in " + std::to_string(iterations) +
            (budget.projected  ? " restarts, a rate at which all of them would cost more than "
                                 "the full SVD"
             : budget.exceeded ? " restarts, which cost as much as the full SVD"
                               : " restarts (the iteration limit)"));
    status = 1;
    return 0;
  }
  PetscCall(MatCreateVecs(objects.A, &objects.v, &objects.u));
  const std::int64_t u_ld = std::max<std::int64_t>(1, request.local_rows);
  const std::int64_t v_ld = std::max<std::int64_t>(1, request.local_cols);
  for (PetscInt i = 0; i < static_cast<PetscInt>(request.rank); ++i) {
    PetscReal sigma = 0;
    PetscCall(SVDGetSingularTriplet(svd, i, &sigma, objects.u, objects.v));
    result.s[i] = sigma;
    PetscCall(copy_out(objects.u, result.u, u_ld, i, request.local_rows));
    PetscCall(copy_out(objects.v, result.v, v_ld, i, request.local_cols));
  }

  // The check for a missed copy of a repeated value: B's top value against the K-th, apart by
  // more than svr's cluster rule (1e-8 s_max). Without a miss B's top value is s_(K+1) <= s_K
  // (up to the vectors' own error, ~1e-10 s_i), and a Ritz value never exceeds it: no false
  // alarm. With one, the Ritz value at a residual of 1e-6 is within ~1e-12 / gap of it.
  Mat V = nullptr;
  PetscCall(MatCreateDense(request.comm, static_cast<PetscInt>(request.local_cols), PETSC_DECIDE,
                           static_cast<PetscInt>(request.cols), static_cast<PetscInt>(request.rank),
                           result.v, &V));
  if (request.local_cols > 0 && v_ld != request.local_cols)
    PetscCall(MatDenseSetLDA(V, static_cast<PetscInt>(v_ld)));
  PetscCall(MatAssemblyBegin(V, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(V, MAT_FINAL_ASSEMBLY));
  double missed = 0;
  const PetscErrorCode code = largest_missed(objects.A, V, 1e-6, missed);
  PetscCall(MatDestroy(&V));
  PetscCall(code);
  const double s_max = result.s[0], s_k = result.s[request.rank - 1];
  if (missed > s_k + 1e-8 * s_max) {
    char text[200];
    std::snprintf(text, sizeof text,
                  "SLEPc's %s missed a copy of a repeated singular value (%.17g, above the "
                  "K-th %.17g)",
                  result.solver, missed, s_k);
    put(result.message, sizeof result.message, text);
    result.missed_value = 1;
    status = 1;
    return 0;
  }
  status = 0;
  return 0;
}

}  // namespace

extern "C" int svr_slepc_top_svd(const svr::SlepcTopRequest* request, svr::SlepcTopResult* result) {
  if (request == nullptr || result == nullptr || request->abi != svr::kSlepcPluginAbi) {
    if (result != nullptr)
      put(result->message, sizeof result->message,
          "the SLEPc plug-in was built for another version of svr (interface " +
              std::to_string(svr::kSlepcPluginAbi) + ")");
    return 2;
  }
  PetscErrorCode code = ensure_initialised();
  if (code != 0) {
    put(result->message, sizeof result->message, petsc_error(code, "SlepcInitialize"));
    return 2;
  }
  int status = 2;
  code = solve(*request, *result, status);
  if (code != 0) {
    put(result->message, sizeof result->message, petsc_error(code, "SVDSolve"));
    return 2;
  }
  return status;
}

extern "C" const char* svr_slepc_version() {
  static char text[96];
  std::snprintf(text, sizeof text, "SLEPc %d.%d.%d, PETSc %d.%d.%d", SLEPC_VERSION_MAJOR,
                SLEPC_VERSION_MINOR, SLEPC_VERSION_SUBMINOR, PETSC_VERSION_MAJOR,
                PETSC_VERSION_MINOR, PETSC_VERSION_SUBMINOR);
  return text;
}

extern "C" void svr_slepc_finalize() {
  PetscBool finalised = PETSC_FALSE;
  if (initialised_here && PetscFinalized(&finalised) == 0 && !finalised) SlepcFinalize();
  initialised_here = false;
}
