#!/usr/bin/env python3
"""Benchmark SLEPc against svr's own block Krylov method: the top K of one layer, same accuracy.

The very-wide-layers issue says: use SLEPc for the truncated SVD unless a measured comparison
shows svr's own method on ScaLAPACK is faster at equal accuracy. This is that comparison.

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

About 10 minutes on a 2-core machine. A benchmark, not a test: it never fails on slow numbers.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (build_svr, export_torch_model, log, machine_info,  # noqa: E402
                          mpi_launch, parse_rank_list, run_svr, safetensors_tensors, svr_sigmas,
                          write_markdown)
from truncated_svd import MODELS  # noqa: E402

BEGIN = "<!-- slepc:begin -->"
END = "<!-- slepc:end -->"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MATRICES = (("powerlaw_mlp", "2.weight"), ("vgg16", "classifier.3.weight"))
SOLVERS = ("trlanczos", "cross")


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


def run_slepc(binary, raw, shape, k, tol, ranks, solver, mpiexec):
    cmd, env = mpi_launch(mpiexec, ranks)
    cmd += [binary, raw, str(shape[0]), str(shape[1]), str(k), repr(tol), "-svd_type", solver]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"slepc_svd failed: {' '.join(cmd)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ranks", default="1,2", help="comma list of rank counts (default 1,2)")
    ap.add_argument("--max-rank", type=int, default=128, help="K, the top K (default 128)")
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
    rows_out = []
    for model_name, tensor_name in MATRICES:
        model = os.path.join(workdir, f"{model_name}.safetensors")
        if not os.path.exists(model):
            log(f"exporting {model_name} to {model}")
            MODELS[model_name](model)
        tensor, _ = safetensors_tensors(model)
        matrix = np.ascontiguousarray(tensor(tensor_name))
        stem = os.path.join(workdir, f"slepc-{model_name}-{tensor_name.replace('.', '_')}")
        raw = stem + ".f64"
        matrix.astype("<f8").tofile(raw)
        pair_model = stem + ".safetensors"
        two_layer_model(matrix, pair_model)
        s_max = float(np.linalg.norm(matrix, 2))
        tol = 1e-10 * s_max
        for R in rank_list:
            extra = ["--max-rank", str(a.max_rank), "--svd-max-cost", "1e9"]
            if R > 1:
                extra += ["--scalapack-min-dim", str(min(matrix.shape))]
            log(f"{model_name} {tensor_name}: svr --max-rank {a.max_rank} at {R} rank(s)")
            run = run_svr(svr, pair_model, workdir, R, a.mpiexec, extra, tag="-slepc")
            with open(os.path.join(run["outdir"], "summary.json")) as f:
                layer = json.load(f)["layers"][0]
            ours = np.array(svr_sigmas(run["outdir"])[layer["name"]][:a.max_rank])
            rows_out.append({"matrix": f"{model_name} `{tensor_name}`", "ranks": R,
                             "who": f"svr `{layer['svd']['method']}`",
                             "seconds": run["phases"].get("svd"),
                             "iterations": layer["svd"]["iterations"],
                             "residual": layer["svd"]["residual"], "sigma": ours,
                             "note": layer["svd"].get("fallback") or ""})
            for solver in SOLVERS:
                log(f"{model_name} {tensor_name}: SLEPc {solver} at {R} rank(s)")
                result = run_slepc(slepc, raw, matrix.shape, a.max_rank, tol, R, solver,
                                   a.mpiexec)
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
    table = "\n".join(lines)
    print(table)
    info = machine_info()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        "## SLEPc against svr's Krylov method (top K of one layer)\n\n"
        f"Written by `bench/slepc_compare.py` on {now}, one run: `/usr/bin/python3 "
        f"bench/slepc_compare.py --ranks {a.ranks} --max-rank {a.max_rank}`. Machine: "
        f"{info['nproc']} cores ({info['cpu']}), SLEPc {slepc_version} (Debian). K = "
        f"{a.max_rank}, every method to a residual of 1e-10 s_max. svr's seconds are its svd "
        "phase (the matrix and an 8-row consumer); SLEPc's are SVDSolve alone, on an MPIDENSE "
        "matrix already in memory. One BLAS thread per rank.\n\n" + table + "\n")
    if not a.no_write:
        write_markdown(os.path.join(REPO, "docs", "benchmarks.md"), section, BEGIN, END)
        log("wrote docs/benchmarks.md")


if __name__ == "__main__":
    main()
