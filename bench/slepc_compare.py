#!/usr/bin/env python3
"""Benchmark SLEPc against svr's own block Krylov method: the top K (--max-rank) or the bottom K
(--min-rank) of one layer, same accuracy.

The very-wide-layers issue says: use SLEPc for the truncated SVD unless a measured comparison
shows svr's own method on ScaLAPACK is faster at equal accuracy. This is that comparison.

With --min-rank K, the bottom K instead (svr: a QR and its Krylov method on R^-1, --min-rank K)
against SLEPc's ways to the smallest triplets: thick-restart Lanczos asked for the smallest
(-svd_smallest, no inversion; stopped after --slepc-timeout seconds), the cross-product
eigensolver with shift-and-invert at 0 (M^T M formed and factored by Cholesky; one rank only:
PETSc 3.18 has no distributed dense Cholesky for it) and the cyclic eigensolver with
shift-and-invert at 0 ([0 M; M^T 0] factored by MUMPS's LU, on every rank count). A third
matrix joins the two: a 4096 x 4096 layer with a batch-normalisation-like near-kernel (random
orthogonal vectors, values 1 to 0.1 and 64 of them log-spaced from 1e-6 to 1e-9). The values
are compared with LAPACK's full SVD of the same matrix (NumPy's gesdd), and every residual is
recomputed from the returned vectors relative to s_max.

What it does, in one run:

1. matrices (from the models of bench/truncated_svd.py, reused from WORKDIR when present):
   the power-law MLP's 2.weight (4096 x 4096, s_i = (i + 1)^-0.7, random vectors: the decay of
   trained layers) and VGG16's classifier.3.weight (4096 x 4096, random weights: the crowded
   Marchenko-Pastur top that is hard for any Krylov method);
2. svr: a two-layer model, the matrix and a small 8-row consumer, run with --max-rank K: on one
   rank the LAPACK Krylov method, on R > 1 ranks the matrix on a ScaLAPACK team of all ranks
   (--scalapack-min-dim 4096, the grid Krylov method, every product a pdgemm); --svd-max-cost
   1e9 so that the cost rule never swaps in the full SVD. Time: the svd phase (both layers; the
   8-row one takes milliseconds);
3. SLEPc: bench/slepc_svd.cpp, built here with mpicxx and pkg-config's slepc, on the same matrix
   as an MPIDENSE matrix, by thick-restart Lanczos (SVDTRLANCZOS) and by the cross-product
   eigensolver (SVDCROSS, SLEPc's default), converged to an absolute residual of 1e-10 s_max,
   which is svr's tolerance; time of SVDSolve alone;
4. both residuals recomputed the same way (max over the K triplets of
   max(||M v - s u||, ||M^T u - s v||) / s_max) and the values compared;
5. prints a table and rewrites the section between <!-- slepc:begin --> and <!-- slepc:end -->
   of docs/benchmarks.md (unless --no-write).

Needs SLEPc's development files, which svr itself does not (apt-get install
libslepc-real-dev: PETSc and SLEPc built against Debian's Open MPI).

    /usr/bin/python3 bench/slepc_compare.py --ranks 1,2 --max-rank 128
    /usr/bin/python3 bench/slepc_compare.py --ranks 1,2 --min-rank 64

About 10 minutes (top) and 25 minutes (bottom) on a 2-core machine. A benchmark, not a test: it
never fails on slow numbers.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (build_svr, export_torch_model, fmt_or_dash, log,  # noqa: E402
                          machine_info, mpi_launch, parse_rank_list, run_svr, safetensors_tensors, svr_sigmas,
                          stop_process_group, write_markdown)
from truncated_svd import MODELS  # noqa: E402

BEGIN = "<!-- slepc:begin -->"
END = "<!-- slepc:end -->"
BOTTOM_BEGIN = "<!-- slepc-bottom:begin -->"
BOTTOM_END = "<!-- slepc-bottom:end -->"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MATRICES = (("powerlaw_mlp", "2.weight"), ("vgg16", "classifier.3.weight"))
SOLVERS = ("trlanczos", "cross")
# The bottom K: name -> (SLEPc options, runs on more than one rank).
BOTTOM_SOLVERS = {
    "trlanczos": (["-svd_type", "trlanczos", "-svd_smallest"], True),
    "cross, shift-and-invert (Cholesky)": (
        ["-svd_type", "cross", "-svd_smallest", "-svd_cross_explicitmatrix",
         "-svd_cross_st_type", "sinvert", "-svd_cross_eps_target", "0",
         "-svd_cross_st_ksp_type", "preonly", "-svd_cross_st_pc_type", "cholesky"], False),
    "cyclic, shift-and-invert (MUMPS LU)": (
        ["-svd_type", "cyclic", "-svd_smallest", "-svd_cyclic_explicitmatrix",
         "-svd_cyclic_st_type", "sinvert", "-svd_cyclic_eps_target", "0",
         "-svd_cyclic_st_ksp_type", "preonly", "-svd_cyclic_st_pc_type", "lu",
         "-svd_cyclic_st_pc_factor_mat_solver_type", "mumps"], True),
}
NEAR_KERNEL = ("near_kernel", "0.weight")


def near_kernel_matrix(n=4096, kernel=64, seed=3):
    """n x n with random orthogonal vectors, values 1 to 0.1 and `kernel` of them log-spaced
    from 1e-6 to 1e-9: the near-kernel batch normalisation leaves in deep layers. Rounded to
    float32, as the model svr reads stores it (two_layer_model): every method then factors the
    same matrix (the rounding moves the smallest values by about 1e-9)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.concatenate([np.linspace(1.0, 0.1, n - kernel), np.logspace(-6, -9, kernel)])
    return np.ascontiguousarray((u * s) @ v.T).astype(np.float32).astype(np.float64)


def build_slepc_driver(workdir):
    """Compiles bench/slepc_svd.cpp into WORKDIR/slepc_svd; exits with a hint without SLEPc."""
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "slepc"], capture_output=True,
                           text=True)
    if flags.returncode != 0:
        raise SystemExit("slepc_compare: pkg-config finds no slepc; install it with "
                         "'apt-get install libslepc-real-dev'")
    binary = os.path.join(workdir, "slepc_svd")
    cmd = ["mpicxx", "-O2", "-std=c++17", os.path.join(REPO, "bench", "slepc_svd.cpp"), "-o",
           binary] + flags.stdout.split()
    log(" ".join(cmd))
    subprocess.run(cmd, check=True)
    version = subprocess.run(["pkg-config", "--modversion", "slepc"], capture_output=True,
                             text=True).stdout.strip()
    return binary, version


def two_layer_model(matrix, path):
    """A model whose first layer is `matrix` (out x in) and second an 8 x out random layer."""
    import numpy as np
    import torch

    rows, cols = matrix.shape
    first, second = torch.nn.Linear(cols, rows), torch.nn.Linear(rows, 8)
    with torch.no_grad():
        first.weight.copy_(torch.from_numpy(matrix))
        second.weight.copy_(torch.from_numpy(np.random.default_rng(1).standard_normal((8, rows))))
    export_torch_model(torch.nn.Sequential(first, torch.nn.ReLU(), second), path)


def run_svr_on_matrix(a, svr, pair_model, workdir, ranks, shape, truncation, tag):
    """svr on the two-layer model: the matrix by the truncated SVD `truncation` asks for
    (--svd-max-cost 1e9: the cost rule never swaps in the full SVD), on a ScaLAPACK team of all
    ranks when there are several. Returns the run and summary.json's record of the matrix."""
    extra = truncation + ["--svd-max-cost", "1e9"]
    if ranks > 1:
        extra += ["--scalapack-min-dim", str(min(shape))]
    run = run_svr(svr, pair_model, workdir, ranks, a.mpiexec, extra, tag=tag)
    with open(os.path.join(run["outdir"], "summary.json")) as f:
        return run, json.load(f)["layers"][0]


def run_slepc(binary, raw, shape, k, tol, ranks, options, mpiexec, timeout=None):
    """The driver's JSON line; with a timeout, None when it ran longer (stopped) or failed."""
    cmd, env = mpi_launch(mpiexec, ranks)
    cmd += [binary, raw, str(shape[0]), str(shape[1]), str(k), repr(tol)] + list(options)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process_group(proc)
        return None
    if proc.returncode != 0:
        sys.stderr.write(out + err)
        if timeout is not None:
            return {"failed": (err.strip().splitlines() or ["no output"])[-1]}
        raise SystemExit(f"slepc_svd failed: {' '.join(cmd)}")
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ranks", default="1,2", help="comma list of rank counts (default 1,2)")
    ap.add_argument("--max-rank", type=int, default=128, help="K, the top K (default 128)")
    ap.add_argument("--min-rank", type=int,
                    help="compare the bottom K instead (svr --min-rank K), K = this")
    ap.add_argument("--slepc-timeout", type=float, default=600.0,
                    help="bottom K: stop a SLEPc run after this many seconds (default 600)")
    ap.add_argument("--matrices", default="powerlaw_mlp,vgg16,near_kernel",
                    help="bottom K: the matrices to run (default all three); the table keeps "
                         "the others' rows from WORKDIR/slepc-bottom-rows.json, the last run "
                         "of each, and says when each ran")
    ap.add_argument("--svr", default=os.path.join(REPO, "build", "svr"))
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--workdir", default="/tmp/svr-bench")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite docs/benchmarks.md")
    a = ap.parse_args()
    import numpy as np

    rank_list = parse_rank_list(ap, a.ranks)
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    svr = build_svr(a.svr, a.skip_build)
    slepc, slepc_version = build_slepc_driver(workdir)
    if a.min_rank is not None:
        return compare_bottom(a, rank_list, workdir, svr, slepc, slepc_version)
    rows_out = []
    for model_name, tensor_name in MATRICES:
        matrix = load_matrix(model_name, tensor_name, workdir)
        raw, pair_model = write_inputs(matrix, model_name, tensor_name, workdir)
        s_max = float(np.linalg.norm(matrix, 2))
        tol = 1e-10 * s_max
        for R in rank_list:
            log(f"{model_name} {tensor_name}: svr --max-rank {a.max_rank} at {R} rank(s)")
            run, layer = run_svr_on_matrix(a, svr, pair_model, workdir, R, matrix.shape,
                                           ["--max-rank", str(a.max_rank)], "-slepc")
            ours = np.array(svr_sigmas(run["outdir"])[layer["name"]][:a.max_rank])
            rows_out.append({"matrix": f"{model_name} `{tensor_name}`", "ranks": R,
                             "who": f"svr `{layer['svd']['method']}`",
                             "seconds": run["phases"].get("svd"),
                             "iterations": layer["svd"]["iterations"],
                             "residual": layer["svd"]["residual"], "sigma": ours,
                             "note": layer["svd"].get("fallback") or ""})
            for solver in SOLVERS:
                log(f"{model_name} {tensor_name}: SLEPc {solver} at {R} rank(s)")
                result = run_slepc(slepc, raw, matrix.shape, a.max_rank, tol, R,
                                   ["-svd_type", solver], a.mpiexec)
                note = "" if result["converged"] >= a.max_rank else \
                    f"only {result['converged']} converged"
                rows_out.append({"matrix": f"{model_name} `{tensor_name}`", "ranks": R,
                                 "who": f"SLEPc `{result['solver']}`",
                                 "seconds": result["seconds"],
                                 "iterations": result["iterations"],
                                 "residual": result["residual"],
                                 "sigma": np.array(result["sigma"][:a.max_rank]), "note": note})
        os.remove(raw)
    # Values against svr's on the same matrix at the first rank count, relative to s_max.
    reference = {}
    for row in rows_out:
        if row["who"].startswith("svr") and row["matrix"] not in reference:
            reference[row["matrix"]] = row["sigma"]
    lines = ["| matrix | ranks | method | seconds | iterations | residual / s_max | "
             "max \\|ds\\| / s_max vs svr | note |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows_out:
        ref = reference[row["matrix"]]
        n = min(len(ref), len(row["sigma"]))
        ds = float(np.max(np.abs(ref[:n] - row["sigma"][:n])) / ref[0]) if n else float("nan")
        seconds = f"{row['seconds']:.2f}" if row["seconds"] is not None else "-"
        residual = f"{row['residual']:.1e}" if row["residual"] is not None else "-"
        lines.append(f"| {row['matrix']} | {row['ranks']} | {row['who']} | {seconds} | "
                     f"{row['iterations']} | {residual} | {ds:.1e} | {row['note']} |")
    publish(a, "top", lambda info, now: (
        f"on {now}, one run: `/usr/bin/python3 "
        f"bench/slepc_compare.py --ranks {a.ranks} --max-rank {a.max_rank}`. Machine: "
        f"{info['nproc']} cores ({info['cpu']}), SLEPc {slepc_version} (Debian). K = "
        f"{a.max_rank}, every method to a residual of 1e-10 s_max. svr's seconds are its svd "
        "phase (the matrix and an 8-row consumer); SLEPc's are SVDSolve alone, on an MPIDENSE "
        "matrix already in memory. One BLAS thread per rank."), lines, BEGIN, END)


def publish(a, end_of_spectrum, describe, lines, begin, end):
    """Prints the table and writes it with its heading and describe(machine info, now) between
    begin and end of docs/benchmarks.md (unless --no-write)."""
    table = "\n".join(lines)
    print(table)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (f"## SLEPc against svr's Krylov method ({end_of_spectrum} K of one layer)\n\n"
               "Written by `bench/slepc_compare.py` " + describe(machine_info(), now) + "\n\n" +
               table + "\n")
    if not a.no_write:
        write_markdown(os.path.join(REPO, "docs", "benchmarks.md"), section, begin, end)
        log("wrote docs/benchmarks.md")


def write_inputs(matrix, model_name, tensor_name, workdir):
    """The matrix as the SLEPc driver reads it (raw little-endian doubles) and as svr does (the
    two-layer model): their paths in WORKDIR."""
    stem = os.path.join(workdir, f"slepc-{model_name}-{tensor_name.replace('.', '_')}")
    raw, pair_model = stem + ".f64", stem + ".safetensors"
    matrix.astype("<f8").tofile(raw)
    two_layer_model(matrix, pair_model)
    return raw, pair_model


def load_matrix(model_name, tensor_name, workdir):
    """The matrix, from a model of bench/truncated_svd.py (exported to WORKDIR when missing) or
    made here (NEAR_KERNEL)."""
    import numpy as np
    if (model_name, tensor_name) == NEAR_KERNEL:
        path = os.path.join(workdir, "near_kernel_4096_f32.npy")
        if not os.path.exists(path):
            log("making the near-kernel matrix")
            np.save(path, near_kernel_matrix())
        return np.load(path)
    model = os.path.join(workdir, f"{model_name}.safetensors")
    if not os.path.exists(model):
        log(f"exporting {model_name} to {model}")
        MODELS[model_name](model)
    tensor, _ = safetensors_tensors(model)
    return np.ascontiguousarray(tensor(tensor_name))


def compare_bottom(a, rank_list, workdir, svr, slepc, slepc_version):
    """The bottom K: svr --min-rank K against SLEPc's three ways, values against LAPACK's."""
    import numpy as np
    k = a.min_rank
    chosen = [m for m in MATRICES + (NEAR_KERNEL,) if m[0] in a.matrices.split(",")]
    saved_path = os.path.join(workdir, "slepc-bottom-rows.json")
    saved = {}
    if os.path.exists(saved_path):
        with open(saved_path) as f:
            saved = {m: v for m, v in json.load(f).items() if v.get("k") == k}
    rows_out = []
    for model_name, tensor_name in MATRICES + (NEAR_KERNEL,):
        label = f"{model_name} `{tensor_name}`"
        if (model_name, tensor_name) not in chosen:
            rows_out += saved.get(label, {}).get("rows", [])
            continue
        matrix = load_matrix(model_name, tensor_name, workdir)
        started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        log(f"{label}: LAPACK's full SVD (the reference values)")
        full = np.linalg.svd(matrix, compute_uv=False)
        s_max = float(full[0])
        reference = np.sort(full[-k:])
        raw, pair_model = write_inputs(matrix, model_name, tensor_name, workdir)

        def row(ranks, who, seconds, iterations, residual, sigma, note=""):
            sigma = np.sort(np.asarray(sigma, dtype=float))
            ds = float(np.max(np.abs(sigma - reference)) / s_max) \
                if sigma.size == k else None
            rows_out.append({"matrix": label, "ranks": ranks, "who": who, "seconds": seconds,
                             "iterations": iterations, "residual": residual, "ds": ds,
                             "note": note, "s_min": float(full[-1] / s_max), "run": started})

        for R in rank_list:
            log(f"{label}: svr --min-rank {k} at {R} rank(s)")
            run, layer = run_svr_on_matrix(a, svr, pair_model, workdir, R, matrix.shape,
                                           ["--min-rank", str(k)], "-slepc-bottom")
            svd = layer["svd"]
            row(R, f"svr `{svd['method']}`", run["phases"].get("svd"), svd.get("iterations"),
                svd.get("residual"), svr_sigmas(run["outdir"])[layer["name"]],
                svd.get("fallback") or "")
            for name, (options, distributed) in BOTTOM_SOLVERS.items():
                if R > 1 and not distributed:
                    continue
                log(f"{label}: SLEPc {name} at {R} rank(s)")
                result = run_slepc(slepc, raw, matrix.shape, k, 1e-10 * s_max, R, options,
                                   a.mpiexec, timeout=a.slepc_timeout)
                if result is None or "failed" in result:
                    note = f"stopped after {a.slepc_timeout:.0f} s" if result is None else \
                        "failed: " + result["failed"][:80]
                    row(R, f"SLEPc {name}", None, None, None, [], note)
                    continue
                note = "" if result["converged"] >= k else \
                    f"only {result['converged']} converged"
                row(R, f"SLEPc {name}", result["seconds"], result["iterations"],
                    result["residual_abs"] / s_max, result["sigma"][:k], note)
        os.remove(raw)
        saved[label] = {"k": k, "rows": [r for r in rows_out if r["matrix"] == label]}
        with open(saved_path, "w") as f:
            json.dump(saved, f, indent=1)
    runs = sorted({r["run"] for r in rows_out})
    lines = ["| matrix | s_min / s_max | ranks | method | seconds | iterations | "
             "residual / s_max | max \\|ds\\| / s_max vs LAPACK | note |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    f = fmt_or_dash
    for r in rows_out:
        lines.append(f"| {r['matrix']} | {r['s_min']:.1e} | {r['ranks']} | {r['who']} | "
                     f"{f(r['seconds'], '.2f')} | {f(r['iterations'], 'd')} | "
                     f"{f(r['residual'], '.1e')} | {f(r['ds'], '.1e')} | {r['note']} |")
    publish(a, "bottom", lambda info, now: (
        f"on {now}: `/usr/bin/python3 "
        f"bench/slepc_compare.py --ranks {a.ranks} --min-rank {k}` (each matrix's rows "
        f"from one run, started at {', '.join(runs)}). Machine: "
        f"{info['nproc']} cores ({info['cpu']}), SLEPc {slepc_version} (Debian). K = {k}, "
        "every method asked for a residual of 1e-10 s_max; the residuals here are recomputed "
        "from the returned vectors. svr's seconds are its svd phase (the matrix and an 8-row "
        "consumer; `--svd-max-cost 1e9`, so that the cost rule never swaps in the full SVD); "
        "SLEPc's are SVDSolve alone (the factorisation included), on a matrix already in "
        f"memory, stopped after {a.slepc_timeout:.0f} s. One BLAS thread per rank."),
        lines, BOTTOM_BEGIN, BOTTOM_END)


if __name__ == "__main__":
    main()
