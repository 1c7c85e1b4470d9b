#!/usr/bin/env python3
"""Benchmark svr's truncated SVDs (--max-rank K, --min-rank K) against the full SVD.

What it does, in one run:

1. models (reused from WORKDIR when present):
   - vgg16: torchvision vgg16(weights=None) after torch.manual_seed(0). Random weights have
     Marchenko-Pastur spectra, whose top values crowd together: the hard case for a Krylov
     method;
   - powerlaw_mlp: a 4-layer MLP 1024 -> 4096 -> 4096 -> 4096 -> 1024 whose matrices have
     random singular vectors and singular values s_i = (i + 1)^-0.7, the heavy-tailed decay of
     trained layers;
2. for every R of --ranks, runs `svr MODEL --max-rank K` (the Krylov method wherever a layer
   sits on one rank and min(rows, cols) > K) and `svr MODEL --max-rank K --full-svd` (the full
   SVD, then the top K), one BLAS thread per rank; reads the svd phase's seconds and each
   layer's summary.json "svd" record (method, iterations, residual, fallback), and compares the
   kept singular values of the two runs (nodes.csv);
3. a SciPy baseline in a subprocess with one BLAS thread: scipy.sparse.linalg.svds(M, k=K)
   (ARPACK, tol=0: to machine precision) and numpy.linalg.svd (gesdd) of every matrix with
   min(rows, cols) > K;
4. prints a table and rewrites the section between <!-- truncated:begin --> and
   <!-- truncated:end --> of docs/benchmarks.md (unless --no-write).

With --min-rank K instead, the same for the bottom K (a QR and the Krylov method on R^-1), the
full run being `--min-rank K --full-svd`; the baseline is NumPy's gesdd only (ARPACK's smallest
mode without shift-invert is no contender), the values are compared relative to each layer's
s_max, and the section is <!-- bottom:begin --> .. <!-- bottom:end -->.

    /usr/bin/python3 bench/truncated_svd.py --ranks 1 --max-rank 128
    /usr/bin/python3 bench/truncated_svd.py --ranks 1 --min-rank 64

With --scalapack-min-dim D, layers with min(rows, cols) >= D run on ScaLAPACK teams (the
distributed Krylov method against pdgesvd) and the section's markers end in "-grid". With
--precision single both runs are single (the top K in float against sgesdd) and the markers end
in "-single".

A benchmark, not a test: it never fails on slow numbers.
"""

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (SINGLE_THREAD_ENV, build_svr, export_torch_model,  # noqa: E402
                          log, machine_info, parse_rank_list, run_svr, safetensors_tensors,
                          svr_sigmas, write_markdown)

BEGIN = "<!-- truncated:begin -->"
END = "<!-- truncated:end -->"
BOTTOM_BEGIN = "<!-- bottom:begin -->"
BOTTOM_END = "<!-- bottom:end -->"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def export_vgg16(path):
    import torch
    import torchvision

    torch.manual_seed(0)
    export_torch_model(torchvision.models.vgg16(weights=None), path)


def export_powerlaw_mlp(path, decay=0.7):
    import numpy as np
    import torch

    widths = [1024, 4096, 4096, 4096, 1024]
    rng = np.random.default_rng(0)
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        r = min(fan_in, fan_out)
        u = np.linalg.qr(rng.standard_normal((fan_out, r)))[0]
        v = np.linalg.qr(rng.standard_normal((fan_in, r)))[0]
        s = (np.arange(r) + 1.0) ** -decay
        linear = torch.nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy((u * s) @ v.T))
        layers += [linear, torch.nn.ReLU()]
    export_torch_model(torch.nn.Sequential(*layers[:-1]), path)


MODELS = {"vgg16": export_vgg16, "powerlaw_mlp": export_powerlaw_mlp}


def layer_matrices(model):
    """(name, float64 matrix out x rest) of every svr layer of a safetensors file."""
    import numpy as np

    tensor, meta = safetensors_tensors(model)
    for name in json.loads(meta["svr.layers"]):
        w = tensor(name)
        yield name, np.ascontiguousarray(w.reshape(w.shape[0], -1))


def baseline_worker(model, k, result_path, bottom=False):
    import numpy as np
    import scipy
    from scipy.sparse.linalg import svds

    rows = []
    for name, m in layer_matrices(model):
        if min(m.shape) <= k:
            continue
        t = time.perf_counter()
        np.linalg.svd(m, full_matrices=False)
        t_full = time.perf_counter() - t
        t_svds = None
        if not bottom:
            t = time.perf_counter()
            u, s, vt = svds(m, k=k, tol=0, random_state=0)
            t_svds = time.perf_counter() - t
        rows.append({"name": name, "shape": list(m.shape), "numpy_gesdd_s": t_full,
                     "scipy_svds_s": t_svds})
    with open(result_path, "w") as f:
        json.dump({"layers": rows, "scipy": scipy.__version__, "numpy": np.__version__}, f)


def fmt(x, digits=2):
    return "-" if x is None else f"{x:.{digits}f}"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="truncated_svd.py", description=__doc__.split("\n")[0],
                                 epilog="Takes about 30 min at 1 rank on a 2-core machine (VGG16's "
                                        "classifier.0 dominates). Not a test.")
    ap.add_argument("--svr", default=os.path.join(REPO, "build", "svr"),
                    help="the svr binary, rebuilt first unless --skip-build (default: %(default)s)")
    ap.add_argument("--skip-build", action="store_true", help="do not rebuild svr")
    ap.add_argument("--ranks", default="1", help="comma list of rank counts (default 1)")
    ap.add_argument("--max-rank", type=int, default=128, metavar="K",
                    help="the K of --max-rank (default %(default)s)")
    ap.add_argument("--min-rank", type=int, default=None, metavar="K",
                    help="benchmark --min-rank K (the bottom K) instead of --max-rank")
    ap.add_argument("--scalapack-min-dim", type=int, default=None, metavar="D",
                    help="passed to svr: layers this large run on ScaLAPACK teams")
    ap.add_argument("--precision", choices=("double", "single"), default="double",
                    help="passed to svr (default %(default)s)")
    ap.add_argument("--truncated-svd", choices=("auto", "slepc", "builtin"), default="auto",
                    help="passed to svr: the engine of the truncated run (default %(default)s)")
    ap.add_argument("--compare-builtin", action="store_true",
                    help="also run svr's builtin Krylov method (--truncated-svd builtin), for a "
                         "third column: SLEPc against svr's own method in the same session")
    ap.add_argument("--models", default="powerlaw_mlp,vgg16",
                    help="comma list of powerlaw_mlp, vgg16 (default %(default)s)")
    ap.add_argument("--workdir", default="/tmp/svr-bench",
                    help="models and outputs (default %(default)s)")
    ap.add_argument("--mpiexec", default="mpiexec", help="MPI launcher (default %(default)s)")
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter of the baseline (default: this one)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the SciPy svds baseline")
    ap.add_argument("--no-write", action="store_true", help="print only, leave the docs alone")
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "benchmarks.md"),
                    help="the markdown file whose section is rewritten (default %(default)s)")
    ap.add_argument("--baseline-worker", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.baseline_worker:
        model, k, result, end = a.baseline_worker
        baseline_worker(model, int(k), result, end == "bottom")
        return 0
    ranks = parse_rank_list(ap, a.ranks)
    svr = build_svr(a.svr, a.skip_build)
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    mpiexec = a.mpiexec
    bottom = a.min_rank is not None
    k = a.min_rank if bottom else a.max_rank
    option = "--min-rank" if bottom else "--max-rank"
    grid = [] if a.scalapack_min_dim is None else ["--scalapack-min-dim", str(a.scalapack_min_dim)]
    if a.precision == "single":
        grid += ["--precision", "single"]
    marker = ("bottom" if bottom else "truncated") + \
        ("-grid" if a.scalapack_min_dim is not None else "") + \
        ("-single" if a.precision == "single" else "")

    summary_rows, layer_rows = [], []
    for model_name in a.models.split(","):
        model = os.path.join(workdir, model_name + ".safetensors")
        if not os.path.exists(model):
            log(f"exporting {model_name} to {model}")
            MODELS[model_name](model)
        for R in ranks:
            runs = {}
            modes = [("krylov", ["--truncated-svd", a.truncated_svd]), ("full", ["--full-svd"])]
            if a.compare_builtin:
                modes.append(("builtin", ["--truncated-svd", "builtin"]))
            for mode, extra in modes:
                log(f"{model_name}: svr {option} {k} {' '.join(extra)} at {R} rank(s)")
                runs[mode] = run_svr(svr, model, workdir, R, mpiexec,
                                     [option, str(k), "--no-plot"] + grid + extra,
                                     tag=f"-{model_name}-{mode}")
            with open(os.path.join(runs["krylov"]["outdir"], "summary.json")) as f:
                layers = json.load(f)["layers"]
            s_max = {layer["name"]: layer["s_max"] for layer in layers}
            s_kry, s_full = svr_sigmas(runs["krylov"]["outdir"]), svr_sigmas(runs["full"]["outdir"])
            worst = 0.0
            for name, values in s_full.items():
                top = s_max[name] or max(values)
                worst = max([worst] + [abs(x - y) / top for x, y in zip(values, s_kry[name])])
            summary_rows.append({
                "model": model_name, "ranks": R,
                "krylov_svd_s": runs["krylov"]["phases"].get("svd"),
                "full_svd_s": runs["full"]["phases"].get("svd"),
                "krylov_wall_s": runs["krylov"]["wall_s"], "full_wall_s": runs["full"]["wall_s"],
                "krylov_mb": runs["krylov"]["peak_memory_mb"],
                "full_mb": runs["full"]["peak_memory_mb"],
                "sigma_err": worst,
                "builtin_svd_s": runs["builtin"]["phases"].get("svd") if "builtin" in runs else None,
                "methods": sorted({layer["svd"]["method"] for layer in layers
                                   if min(layer["matrix_shape"]) > k}),
                "load": runs["krylov"]["load"]["mean"] if runs["krylov"].get("load") else None,
            })
            if R == ranks[0]:
                for layer in layers:
                    sv = layer.get("svd", {})
                    if min(layer["matrix_shape"]) > k:
                        layer_rows.append({"model": model_name, "name": layer["name"],
                                           "shape": layer["matrix_shape"], **sv})

    base = None
    if not a.no_baseline:
        base = {}
        for model_name in a.models.split(","):
            model = os.path.join(workdir, model_name + ".safetensors")
            result = os.path.join(workdir, f"baseline-truncated-{model_name}.json")
            log(f"{model_name}: {'' if bottom else f'SciPy svds(k={k}) and '}NumPy gesdd, "
                "one BLAS thread")
            subprocess.run([a.python, os.path.abspath(__file__), "--baseline-worker", model,
                            str(k), result, "bottom" if bottom else "top"],
                           env=dict(os.environ, **SINGLE_THREAD_ENV), check=True)
            with open(result) as f:
                for row in json.load(f)["layers"]:
                    base[(model_name, row["name"])] = row

    # ---------------------------------------------------------------- tables
    builtin = a.compare_builtin
    lines = ["| model | ranks | methods | svd phase, truncated (s) | svd phase, full (s) | "
             "full / truncated | " + ("svd phase, builtin Krylov (s) | " if builtin else "") +
             "wall truncated / full (s) | peak MiB truncated / full | max abs(s diff) / s_max | "
             "load |",
             "| --- | --- | --- | --- | --- | --- | " + ("--- | " if builtin else "") +
             "--- | --- | --- | --- |"]
    for r in summary_rows:
        speed = (r["full_svd_s"] / r["krylov_svd_s"]
                 if r["krylov_svd_s"] and r["full_svd_s"] else None)
        lines.append(f"| {r['model']} | {r['ranks']} | {', '.join(r['methods'])} | "
                     f"{fmt(r['krylov_svd_s'])} | {fmt(r['full_svd_s'])} | {fmt(speed)} | " +
                     (f"{fmt(r['builtin_svd_s'])} | " if builtin else "") +
                     f"{fmt(r['krylov_wall_s'], 1)} / "
                     f"{fmt(r['full_wall_s'], 1)} | {fmt(r['krylov_mb'], 0)} / "
                     f"{fmt(r['full_mb'], 0)} | {r['sigma_err']:.1e} | {fmt(r['load'], 1)} |")
    per_layer = ["| model | layer | matrix | method | iterations | residual | SciPy svds (s) | "
                 "NumPy gesdd (s) | fallback |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in layer_rows:
        b = (base or {}).get((r["model"], r["name"]), {})
        res = r.get("residual")
        per_layer.append(
            f"| {r['model']} | `{r['name']}` | {r['shape'][0]} x {r['shape'][1]} | "
            f"{r.get('method')} | {r.get('iterations')} | "
            f"{'-' if res is None else f'{res:.1e}'} | {fmt(b.get('scipy_svds_s'))} | "
            f"{fmt(b.get('numpy_gesdd_s'))} | {r.get('fallback') or ''} |")
    print("\n".join(lines))
    print()
    print("\n".join(per_layer))
    if a.no_write:
        return 0

    mi = machine_info()
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    repro = ["/usr/bin/python3", "bench/truncated_svd.py", "--ranks", a.ranks,
             option, str(k), "--models", a.models] + grid + \
        (["--truncated-svd", a.truncated_svd] if a.truncated_svd != "auto" else []) + \
        (["--compare-builtin"] if builtin else [])
    if bottom or grid:
        section = bottom_section(a, k, ranks, repro, lines, per_layer, mi, today, option, grid)
        write_markdown(a.doc, "\n".join(section), f"<!-- {marker}:begin -->",
                       f"<!-- {marker}:end -->")
        log(f"wrote the section of {a.doc}")
        return 0
    section = [
        f"## Truncated SVD: --max-rank {k} against the full SVD\n",
        f"Written by `bench/truncated_svd.py` on {today}. Reproduce with:\n",
        "    " + " ".join(shlex.quote(x) for x in repro) + "\n",
        f"- **Machine**: {mi['nproc']} cores ({mi['cpu']}), a shared, noisy machine; the load "
        "column is the 1-minute load average during the Krylov run.",
        "- **Models**: `vgg16` is torchvision's VGG16 with random weights (seed 0): its "
        "spectra are Marchenko-Pastur, the top values crowd together, the hard case for a "
        "Krylov method. `powerlaw_mlp` is a 1024-4096-4096-4096-1024 MLP whose matrices have "
        "random singular vectors and s_i = (i + 1)^-0.7, the heavy-tailed decay of trained "
        "layers.",
        f"- **Runs**: `svr MODEL --max-rank {k} --no-plot --truncated-svd {a.truncated_svd}` "
        f"(the truncated SVD on every layer held by one rank with min(rows, cols) > {k}, "
        "tolerance 1e-10: `lapack-slepc` is SLEPc's thick-restart Lanczos, `lapack-krylov` svr's "
        "block Krylov method) and the same with `--full-svd` (every layer's full SVD, then its "
        "top K), one BLAS thread per rank" +
        (", and with `--truncated-svd builtin` (svr's own method)" if builtin else "") +
        ". The max abs(s diff) column compares the kept singular values of the truncated and "
        "full runs.\n",
        *lines, "",
        "Per layer with min(rows, cols) > K (from summary.json's `layers[].svd` of the Krylov "
        f"run at {ranks[0]} rank{'s' if ranks[0] > 1 else ''}), next to SciPy's "
        f"`svds(M, k={k}, tol=0)` (ARPACK) and NumPy's full `svd` (gesdd) of the same matrix "
        "in one process with one BLAS thread:\n",
        *per_layer, "",
    ]
    write_markdown(a.doc, "\n".join(section), BEGIN, END)
    log(f"wrote the section of {a.doc}")
    return 0


def bottom_section(a, k, ranks, repro, lines, per_layer, mi, today, option, grid):
    """The docs/benchmarks.md section of a --min-rank run, or of any run on ScaLAPACK teams."""
    if a.scalapack_min_dim is None and a.precision == "single":
        title = (f"## Single precision: {option} {k} by the Krylov method in float against "
                 "sgesdd\n")
        runs = (f"- **Runs**: `svr MODEL {option} {k} --no-plot --precision single` (the Krylov "
                "method on float blocks with sgemm, to a residual of at most 1e-5 s_max) and the "
                "same with `--full-svd` (sgesdd, then the top K), one BLAS thread per rank. The "
                "s column compares the two single-precision runs.\n")
    elif a.precision == "single":
        title = (f"## On ScaLAPACK teams in single precision: {option} {k} by the Krylov method "
                 "with float products on the grid against the single full SVD\n")
        runs = (f"- **Runs**: `svr MODEL {option} {k} --no-plot {' '.join(grid)}` (layers with "
                f"min(rows, cols) >= {grid[1]} on ScaLAPACK teams: the distributed Krylov method "
                "with every product with M a psgemm on a float copy of its blocks, to a residual "
                "of at most 1e-5 s_max; the other layers as on one rank, in float) and the same "
                "with `--full-svd` (psgesvd or the split core's sgesdd on the teams, sgesdd on "
                "one rank), one BLAS thread per rank. The s column compares the two "
                "single-precision runs.\n")
    elif grid:
        title = (f"## On ScaLAPACK teams: {option} {k} by the Krylov method on the grid against "
                 "pdgesvd\n")
        runs = (f"- **Runs**: `svr MODEL {option} {k} --no-plot {' '.join(grid)}` (layers with "
                f"min(rows, cols) >= {grid[1]} on ScaLAPACK teams, the distributed Krylov method "
                "with pdgemm products, or pdtrsm for the bottom K; the other layers as on one "
                "rank) and the same with `--full-svd` (pdgesvd on the teams), one BLAS thread "
                "per rank.\n")
    else:
        title = f"## Bottom K: --min-rank {k} by QR and Krylov on R^-1 against the full SVD\n"
        runs = (f"- **Runs**: `svr MODEL --min-rank {k} --no-plot` (a Householder QR and the "
                f"Krylov method on R^-1 on every layer held by one rank with min(rows, cols) > {k}, "
                "tolerance 1e-10 s_max, falling back to the full SVD by the cost rule) and the same "
                "with `--full-svd` (every layer's full SVD, then its bottom K), one BLAS thread per "
                "rank. The s-difference column compares the kept values of the two runs, relative "
                "to each layer's s_max.\n")
    return [
        title,
        f"Written by `bench/truncated_svd.py` on {today}. Reproduce with:\n",
        "    " + " ".join(shlex.quote(x) for x in repro) + "\n",
        f"- **Machine**: {mi['nproc']} cores ({mi['cpu']}), a shared, noisy machine; the load "
        "column is the 1-minute load average during the Krylov run.",
        "- **Models**: as in the section \"Truncated SVD\"."
        + ("" if option != "--min-rank" else
           " A square random matrix's smallest singular values are well apart relative to "
           "their size (the hard edge of Marchenko-Pastur: s_k ~ k / sqrt(n)), a rectangular "
           "one's crowd together (the soft edge), and the power law's bottom values are within "
           "2e-4 of each other relative to their size."),
        runs,
        *lines, "",
        "Per layer with min(rows, cols) > K (summary.json's `layers[].svd` of the Krylov run at "
        f"{ranks[0]} rank{'s' if ranks[0] > 1 else ''}), next to "
        + ("" if option == "--min-rank" else f"SciPy's `svds(M, k={k}, tol=0)` (ARPACK) and ")
        + "NumPy's full `svd` (gesdd) of the same matrix in one process with one BLAS thread:\n",
        *per_layer, "",
    ]


if __name__ == "__main__":
    sys.exit(main())
