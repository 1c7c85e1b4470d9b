#!/usr/bin/env python3
"""Benchmark svr --precision single against double: speed, and what single costs in accuracy.

What it does, in one run:

1. models: VGG16 with random weights (torchvision vgg16(weights=None) after
   torch.manual_seed(0), WORKDIR/vgg16.safetensors, reused when present) for the speed and the
   error of s and E at scale; the trained example CNNs of examples/ (digits, with and without
   batch norm) for the edges whose significance changes, since random weights have no
   significant edge at all;
2. for every R of --ranks: `svr VGG16 --save-adjacency` in double and in single (one BLAS
   thread per rank): wall time, svd phase, peak memory; at the first R, the error of every
   singular value (nodes.csv) relative to its layer's s_max and of every E entry
   (adjacency.safetensors), in all and away from close singular values (both neurons of an
   edge more than 1e-3 s_max from their neighbours: vectors of closer values rotate by about
   1e-7 / gap in float, and only sums over them are stable);
3. the examples with --all-edges in both precisions: the same errors, and the edges that are
   significant in one precision only, with their q;
4. a baseline in a subprocess with one BLAS thread: NumPy gesdd (float64) of the 16 VGG16
   matrices plus E of the 15 pairs (the ratio the issue quotes), and SciPy's sgesdd on float32
   copies (scipy.linalg.svd), then E in float64 from the float vectors;
5. prints a table and rewrites the section between <!-- precision:begin --> and
   <!-- precision:end --> of docs/benchmarks.md (unless --no-write).

    /usr/bin/python3 bench/precision.py --ranks 1,2

About 20 min on a 2-core machine. A benchmark, not a test: it never fails on slow numbers.
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
from bench_common import (SINGLE_THREAD_ENV, add_build_arguments, add_launch_arguments, build_svr, fmt_or_dash,  # noqa: E402
                          log, machine_info, numpy_edges, parse_rank_list, run_svr, safetensors_tensors,
                          write_markdown)
from truncated_svd import MODELS  # noqa: E402

BEGIN = "<!-- precision:begin -->"
END = "<!-- precision:end -->"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = ["digits_cnn_bn", "digits_cnn_plain"]
GAP = 1e-3  # relative to s_max: "away from close singular values"


# --------------------------------------------------------------------------------------------
# reading svr's outputs


def nodes(outdir):
    """{layer index: [sigma by neuron]} from nodes.csv."""
    out = {}
    with open(os.path.join(outdir, "nodes.csv"), newline="") as f:
        for row in csv.DictReader(f):
            out.setdefault(int(row["layer"]), []).append((int(row["neuron"]), float(row["sigma"])))
    return {layer: [s for _, s in sorted(v)] for layer, v in out.items()}


def isolated(sigma):
    """Per neuron: whether its singular value is more than GAP s_max from both neighbours."""
    top = max(sigma) if sigma else 0.0
    out = []
    for i, s in enumerate(sigma):
        near = [abs(s - sigma[j]) for j in (i - 1, i + 1) if 0 <= j < len(sigma)]
        out.append(all(d > GAP * top for d in near))
    return out


def sigma_error(a, b):
    return max(abs(x - y) / max(va) for l, va in a.items() for x, y in zip(va, b[l]))


def adjacency_errors(dir_d, dir_s, sig):
    """(max |dE| over all entries, max |dE| where both neurons are isolated) of
    adjacency.safetensors, pair by pair."""
    import numpy as np

    td, meta = safetensors_tensors(os.path.join(dir_d, "adjacency.safetensors"))
    ts, _ = safetensors_tensors(os.path.join(dir_s, "adjacency.safetensors"))
    worst_all = worst_iso = 0.0
    for p in json.loads(meta["pairs"]):
        diff = np.abs(td(p["tensor"]) - ts(p["tensor"]))
        worst_all = max(worst_all, float(diff.max()))
        rows = np.array(isolated(sig[p["to_layer"]]))
        cols = np.array(isolated(sig[p["from_layer"]]))
        if rows.any() and cols.any():
            worst_iso = max(worst_iso, float(diff[np.ix_(rows, cols)].max()))
    return worst_all, worst_iso


def edges(outdir):
    """{(pair, from, to): (e, q, significant)} from edges.csv."""
    out = {}
    with open(os.path.join(outdir, "edges.csv"), newline="") as f:
        for row in csv.DictReader(f):
            q = float(row["q"]) if row["q"] not in ("", "nan") else float("nan")
            out[(int(row["pair"]), int(row["from_neuron"]), int(row["to_neuron"]))] = (
                float(row["e"]), q, row["significant"] == "1")
    return out


# --------------------------------------------------------------------------------------------
# the baseline


def baseline_worker(model, result_path):
    import numpy as np
    import scipy
    import scipy.linalg

    tensor, meta = safetensors_tensors(model)
    names = json.loads(meta["svr.layers"])
    mats = [np.ascontiguousarray(tensor(n).reshape(tensor(n).shape[0], -1)) for n in names]
    # VGG16's pairs (spec section 3): conv -> conv z = 9; features.28 -> classifier.0 c = 512,
    # z = 49; linear -> linear z = 1.
    pairs = []
    for a in range(len(mats) - 1):
        c = mats[a].shape[0]
        pairs.append((a, a + 1, c, mats[a + 1].shape[1] // c))
    res = {"numpy": np.__version__, "scipy": scipy.__version__}
    for label, dtype in (("double", np.float64), ("single", np.float32)):
        facs, t_svd = [], 0.0
        for M in mats:
            A = M.astype(dtype)
            t = time.perf_counter()
            if dtype == np.float64:
                U, s, Vt = np.linalg.svd(A, full_matrices=False)
            else:
                U, s, Vt = scipy.linalg.svd(A, full_matrices=False, lapack_driver="gesdd")
            t_svd += time.perf_counter() - t
            facs.append((U.astype(np.float64), s.astype(np.float64), Vt.astype(np.float64)))
        t_edges, _ = numpy_edges(facs, pairs)
        res[label] = {"svd_s": t_svd, "edges_s": t_edges}
        log(f"baseline {label}: svd {t_svd:.1f} s, E {t_edges:.1f} s")
        del facs
    with open(result_path, "w") as f:
        json.dump(res, f)


# --------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(prog="precision.py", description=__doc__.split("\n")[0])
    add_build_arguments(ap)
    ap.add_argument("--ranks", default="1,2", help="comma list of rank counts (default 1,2)")
    ap.add_argument("--workdir", default="/tmp/svr-bench",
                    help="models and outputs (default %(default)s)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the NumPy/SciPy baseline")
    ap.add_argument("--no-write", action="store_true", help="print only, leave the docs alone")
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "benchmarks.md"),
                    help="the markdown file whose section is rewritten (default %(default)s)")
    add_launch_arguments(ap)
    a = ap.parse_args(argv)
    if a.baseline_worker:
        baseline_worker(a.baseline_worker, a.baseline_result)
        return 0
    ranks = parse_rank_list(ap, a.ranks)
    svr = build_svr(a.svr, a.skip_build)
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    model = os.path.join(workdir, "vgg16.safetensors")
    if not os.path.exists(model):
        log(f"exporting vgg16 to {model}")
        MODELS["vgg16"](model)

    speed, accuracy = [], []
    for R in ranks:
        runs = {}
        for precision in ("double", "single"):
            log(f"vgg16: svr --precision {precision} at {R} rank(s)")
            runs[precision] = run_svr(svr, model, workdir, R, a.mpiexec,
                                      ["--precision", precision, "--save-adjacency", "--no-plot"],
                                      tag=f"-vgg16-{precision}")
        d, s = runs["double"], runs["single"]
        speed.append({"ranks": R, "double_svd_s": d["phases"].get("svd"),
                      "single_svd_s": s["phases"].get("svd"), "double_wall_s": d["wall_s"],
                      "single_wall_s": s["wall_s"], "double_mb": d["peak_memory_mb"],
                      "single_mb": s["peak_memory_mb"],
                      "load": d["load"]["mean"] if d.get("load") else None})
        if R == ranks[0]:
            sig_d, sig_s = nodes(d["outdir"]), nodes(s["outdir"])
            e_all, e_iso = adjacency_errors(d["outdir"], s["outdir"], sig_d)
            accuracy.append({"model": "vgg16 (random)", "sigma": sigma_error(sig_d, sig_s),
                             "e_all": e_all, "e_isolated": e_iso,
                             "significant": (d["edges_significant"], s["edges_significant"]),
                             "flips": []})

    for name in EXAMPLES:
        path = os.path.join(REPO, "examples", name + ".safetensors")
        outs = {}
        for precision in ("double", "single"):
            outs[precision] = run_svr(svr, path, workdir, 1, a.mpiexec,
                                      ["--precision", precision, "--all-edges",
                                       "--save-adjacency", "--no-plot"],
                                      tag=f"-{name}-{precision}")["outdir"]
        sig_d, sig_s = nodes(outs["double"]), nodes(outs["single"])
        e_all, e_iso = adjacency_errors(outs["double"], outs["single"], sig_d)
        ed, es = edges(outs["double"]), edges(outs["single"])
        flips = [(k, ed[k][1], es[k][1]) for k in ed if ed[k][2] != es[k][2]]
        accuracy.append({"model": name + " (trained)", "sigma": sigma_error(sig_d, sig_s),
                         "e_all": e_all, "e_isolated": e_iso,
                         "significant": (sum(v[2] for v in ed.values()),
                                         sum(v[2] for v in es.values())),
                         "flips": flips})

    base = None
    if not a.no_baseline:
        log("baseline: NumPy gesdd + E (float64), SciPy sgesdd + E (float32 SVD)")
        result = os.path.join(workdir, "baseline-precision.json")
        subprocess.run([a.python, os.path.abspath(__file__), "--baseline-worker", model,
                        "--baseline-result", result],
                       check=True, env=dict(os.environ, **SINGLE_THREAD_ENV))
        with open(result) as f:
            base = json.load(f)

    mi = machine_info()
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["## Single precision: --precision single against double\n",
             f"Written by `bench/precision.py` on {today}, one run: "
             f"`/usr/bin/python3 bench/precision.py --ranks {a.ranks}`. Machine: {mi['nproc']} "
             f"cores ({mi['cpu']}), {fmt_or_dash(mi['mem_gb'], '.0f')} GB. VGG16 has random weights "
             "(torch.manual_seed(0)); the digits CNNs are the trained examples. Mean load "
             "average during the double runs: " +
             ", ".join(f"{fmt_or_dash(r['load'])} at {r['ranks']} rank(s)" for r in speed) + ".", ""]
    lines += ["| ranks | svd phase, double | svd phase, single | double / single | "
              "svr wall, double | svr wall, single | peak MiB double / single |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in speed:
        ratio = (r["double_svd_s"] / r["single_svd_s"]
                 if r["double_svd_s"] and r["single_svd_s"] else None)
        lines.append(f"| {r['ranks']} | {fmt_or_dash(r['double_svd_s'], '.1f')} s | "
                     f"{fmt_or_dash(r['single_svd_s'], '.1f')} s | {fmt_or_dash(ratio)} | "
                     f"{fmt_or_dash(r['double_wall_s'], '.1f')} s | {fmt_or_dash(r['single_wall_s'], '.1f')} s | "
                     f"{fmt_or_dash(r['double_mb'], '.0f')} / {fmt_or_dash(r['single_mb'], '.0f')} |")
    if base:
        nd, ns = base["double"], base["single"]
        lines += ["", "Baseline, one BLAS thread (the same 16 matrices and 15 E):", "",
                  "| baseline | SVD | E | total |", "| --- | --- | --- | --- |",
                  f"| NumPy gesdd, float64 | {nd['svd_s']:.1f} s | {nd['edges_s']:.1f} s | "
                  f"{nd['svd_s'] + nd['edges_s']:.1f} s |",
                  f"| SciPy sgesdd, float32 (E in float64) | {ns['svd_s']:.1f} s | "
                  f"{ns['edges_s']:.1f} s | {ns['svd_s'] + ns['edges_s']:.1f} s |", ""]
        numpy_total = nd["svd_s"] + nd["edges_s"]
        for r in speed:
            lines.append(f"- svr wall / NumPy gesdd+E at {r['ranks']} rank(s): double "
                         f"{r['double_wall_s'] / numpy_total:.2f}, single "
                         f"{r['single_wall_s'] / numpy_total:.2f}.")
        lines.append(f"- SciPy sgesdd / NumPy gesdd (the SVDs alone): "
                     f"{ns['svd_s'] / nd['svd_s']:.2f}.")
    lines += ["", "Accuracy of single against double (the same svr, the same rank count):", "",
              "| model | max \\|ds\\| / s_max | max \\|dE\\| | max \\|dE\\|, isolated neurons | "
              "significant edges, double / single | changed significance |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in accuracy:
        flips = "; ".join(f"pair {k[0]} {k[1]}->{k[2]}: q {qd:.4g} / {qs:.4g}"
                          for k, qd, qs in r["flips"]) or "none"
        lines.append(f"| {r['model']} | {r['sigma']:.2e} | {r['e_all']:.2e} | "
                     f"{r['e_isolated']:.2e} | {r['significant'][0]} / {r['significant'][1]} | "
                     f"{flips} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not a.no_write:
        write_markdown(a.doc, text, BEGIN, END)
        log(f"wrote the precision section of {a.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
