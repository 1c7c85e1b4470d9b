#!/usr/bin/env python3
"""Benchmark the split of a square dominant layer: its bidiagonal form on a team of ranks
against the whole layer on one rank (LAPACK dgesdd) and against pdgesvd on the team.

What it does, in one run:

1. a model: an MLP N -> ... with one square N x N layer holding most of the cost
   (fc0 N x N/8, fc1 N x N, fc2 N/8 x N; Gaussian weights, seed 5; WORKDIR/square_mlp_N.safetensors,
   reused when present);
2. for each precision (double, single), svr at R ranks (--ranks, default 2) three ways:
   - split (the default plan): fc1's reduction to bidiagonal form and its reflectors on a team
     of all ranks, the bidiagonal SVD by LAPACK (dbdsdc) on rank 0 (`scalapack-bidiagonal-lapack`);
   - whole: `--split-min-dim 0`, fc1 by dgesdd on one rank (`lapack-full`);
   - pdgesvd: `--split-min-dim 0 --scalapack-min-dim N`, fc1 by pdgesvd on a team of all ranks
     (`scalapack-full`);
   the svd phase and the wall time of each, and the largest difference of fc1's singular values
   from the whole run's, relative to s_max;
3. a baseline in a subprocess with one BLAS thread: NumPy's gesdd of the three matrices (float64)
   and SciPy's sgesdd (float32, for single);
4. prints a table and rewrites the section between <!-- square-split:begin --> and
   <!-- square-split:end --> of docs/benchmarks.md (unless --no-write).

    /usr/bin/python3 bench/square_split.py --size 4096 --ranks 2

About 5 minutes at N = 4096 on a 2-core machine. A benchmark, not a test: it never fails on slow
numbers.
"""

import argparse
import csv
import datetime
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (SINGLE_THREAD_ENV, add_build_arguments, add_launch_arguments,  # noqa: E402
                          build_svr, log, machine_info, publish_section, run_svr)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "oracle"))
from safetensors_np import read_safetensors, write_safetensors  # noqa: E402

BEGIN = "<!-- square-split:begin -->"
END = "<!-- square-split:end -->"
WAYS = (("split", []), ("whole", ["--split-min-dim", "0"]),
        ("pdgesvd", ["--split-min-dim", "0", "--scalapack-min-dim", "{n}"]))


def make_model(path, n):
    import numpy as np
    if os.path.exists(path):
        return
    rng = np.random.default_rng(5)
    tensors = {"fc0.weight": rng.standard_normal((n, n // 8)) / (n // 8) ** 0.5,
               "fc1.weight": rng.standard_normal((n, n)) / n ** 0.5,
               "fc2.weight": rng.standard_normal((n // 8, n)) / n ** 0.5}
    write_safetensors(path + ".tmp", {k: v.astype("<f4") for k, v in tensors.items()})
    os.replace(path + ".tmp", path)


def baseline_worker(model, result):
    """NumPy's gesdd (float64) and SciPy's sgesdd (float32; NumPy's float32 SVD took twice as
    long here) of every matrix, one BLAS thread (the caller's environment); seconds of each sum."""
    import numpy as np
    import scipy.linalg
    tensors = read_safetensors(model)[0]
    out = {}
    for name, dtype in (("double", np.float64), ("single", np.float32)):
        mats = [np.asarray(tensors[k], dtype=dtype) for k in sorted(tensors)]
        t = time.perf_counter()
        for m in mats:
            if dtype == np.float64:
                np.linalg.svd(m, full_matrices=False)
            else:
                scipy.linalg.svd(m, full_matrices=False, lapack_driver="gesdd", check_finite=False)
        out[name] = time.perf_counter() - t
    with open(result, "w") as f:
        json.dump(out, f)


def layer_sigmas(outdir, layer_name):
    with open(os.path.join(outdir, "nodes.csv")) as f:
        return [float(r["sigma"]) for r in csv.DictReader(f) if r["layer_name"] == layer_name]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_build_arguments(ap)
    add_launch_arguments(ap)
    ap.add_argument("--size", type=int, default=4096, help="N, the square layer's size")
    ap.add_argument("--ranks", type=int, default=2, help="R, the ranks of every svr run")
    ap.add_argument("--workdir", default="/tmp/svr-bench-square-split")
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "benchmarks.md"))
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    a = ap.parse_args(argv)
    if a.baseline_worker:
        baseline_worker(a.baseline_worker, a.baseline_result)
        return
    if a.size < 64 or a.size % 8 or a.ranks < 2:
        ap.error("--size must be a multiple of 8 and at least 64, --ranks at least 2")
    svr = build_svr(a.svr, a.skip_build)
    os.makedirs(a.workdir, exist_ok=True)
    model = os.path.join(a.workdir, f"square_mlp_{a.size}.safetensors")
    make_model(model, a.size)
    rows = []
    sigmas = {}
    for precision in ("double", "single"):
        for way, extra in WAYS:
            args = [x.format(n=a.size) for x in extra] + ["--precision", precision]
            log(f"svr {way}, {precision}, {a.ranks} ranks")
            run = run_svr(svr, model, a.workdir, a.ranks, a.mpiexec, args, tag=f"-{way}-{precision}")
            with open(os.path.join(run["outdir"], "summary.json")) as f:
                method = [layer["svd"]["method"] for layer in json.load(f)["layers"]][1]
            sigmas[(way, precision)] = layer_sigmas(run["outdir"], "fc1.weight")
            rows.append({"way": way, "precision": precision, "method": method,
                         "svd": run["phases"].get("svd"), "wall": run["wall_s"],
                         "memory": max(run["peak_memory_mb_per_rank"] or [0])})
    log("baseline: NumPy gesdd, one BLAS thread")
    result = os.path.join(a.workdir, "baseline.json")
    subprocess.run([a.python, os.path.abspath(__file__), "--baseline-worker", model,
                    "--baseline-result", result], check=True,
                   env=dict(os.environ, **SINGLE_THREAD_ENV))
    with open(result) as f:
        base = json.load(f)
    for r in rows:
        ref = sigmas[("whole", r["precision"])]
        got = sigmas[(r["way"], r["precision"])]
        r["s_err"] = max(abs(x - y) for x, y in zip(got, ref)) / ref[0]
        r["ratio"] = r["svd"] / base[r["precision"]]
        r["vs_whole"] = next(x["svd"] for x in rows
                             if x["way"] == "whole" and x["precision"] == r["precision"]) / r["svd"]
    info = machine_info()
    lines = [f"## A square dominant layer split ({a.size} x {a.size}, {a.ranks} ranks)", "",
             f"{datetime.date.today().isoformat()}, {info['cpu']}, {info['nproc']} cores; "
             f"`/usr/bin/python3 bench/square_split.py --size {a.size} --ranks {a.ranks}`. "
             f"The model: fc0 {a.size} x {a.size // 8}, fc1 {a.size} x {a.size}, fc2 "
             f"{a.size // 8} x {a.size} (Gaussian); fc1 holds "
             f"{100.0 * 64 / (64 + 2):.0f} % of the SVD cost. The baseline, one BLAS thread, in the "
             f"same run: NumPy's gesdd of the three matrices {base['double']:.1f} s (float64), "
             f"SciPy's sgesdd {base['single']:.1f} s (float32).", "",
             "| fc1 | precision | svd.method | svd phase | wall | whole / this | "
             "svd phase / NumPy | peak MB per rank | s vs whole / s_max |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['way']} | {r['precision']} | {r['method']} | {r['svd']:.1f} s | "
                     f"{r['wall']:.1f} s | {r['vs_whole']:.2f} | {r['ratio']:.2f} | "
                     f"{r['memory']:.0f} | {r['s_err']:.1e} |")
    publish_section("\n".join(lines) + "\n", a.doc, BEGIN, END, not a.no_write)


if __name__ == "__main__":
    main()
