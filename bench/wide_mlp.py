#!/usr/bin/env python3
"""Benchmark svr's distributed path on a wide MLP: memory per rank against the rank count.

The model is four square Linear layers of width W (default 4096; torch.manual_seed(0), PyTorch's
default initialisation, F32) exported with scripts/export_safetensors.py. Every layer is forced
onto ScaLAPACK (`--scalapack-min-dim 1`), so each rank reads only its blocks of every matrix,
and the three pairs' E come from pdgemm on the grid of all ranks. In the same run:

1. svr at every rank count of --ranks (default 1,2), forced onto ScaLAPACK with
   `--max-grids 1` (one grid of all ranks factors the layers one after the other: the least
   memory per rank), timing the wall clock, reading the seconds per phase and the memory per
   rank from summary.json (run.peak_memory_mb_per_rank) and each rank's maximum resident set
   from /usr/bin/time -v; with --teams also at every rank count above 1 with as many
   concurrent teams as fit (`--min-local-elements 1e15`: here one 1x1 grid per rank, each
   factoring its share of the layers);
2. svr at 1 rank on its default path (LAPACK dgesdd, the layer whole on one rank), the
   single-node reference;
3. a NumPy baseline in a subprocess (one BLAS thread): numpy.linalg.svd (gesdd) of the four
   matrices and the three E = (V_{l+1}^T U_l)^2, and the maximum |Δs| / s_max between it and
   every svr run;
4. prints a table and rewrites the section between <!-- widemlp:begin --> and
   <!-- widemlp:end --> of docs/benchmarks.md.

    /usr/bin/python3 bench/wide_mlp.py --ranks 1,2

ScaLAPACK's pdgesvd (QR iteration for the bidiagonal SVD) is several times slower than
LAPACK's divide-and-conquer dgesdd; at W = 4096 each forced run takes many minutes on one core.
This is a benchmark, not a test: it never fails on slow numbers.
"""

import argparse
import datetime
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (REPO, add_launch_arguments, parse_rank_list, export_square_mlp, run_baseline, first_line, fmt_load, fmt_mb,  # noqa: E402
                          fmt_r, fmt_s, log, machine_info, ratio, read_safetensors_header, rel,
                          run_svr, write_markdown)

def markers(width):
    """The doc section of this width: the default 4096 has its own, other widths theirs."""
    tag = "widemlp" if width == 4096 else f"widemlp-{width}"
    return f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
LAYERS = 4


def baseline_worker(model, result_path, sigma_path):
    import numpy as np

    header, start = read_safetensors_header(model)
    meta = header.pop("__metadata__", {}) or {}
    names = json.loads(meta["svr.layers"])
    t = time.perf_counter()
    mats = []
    with open(model, "rb") as f:
        for name in names:
            h = header[name]
            a, b = h["data_offsets"]
            f.seek(start + a)
            m = np.frombuffer(f.read(b - a), dtype="<f4").reshape(h["shape"])
            mats.append(m.astype(np.float64))
    read_s = time.perf_counter() - t
    svd_s, factors = {}, []
    for name, m in zip(names, mats):
        t = time.perf_counter()
        u, s, vt = np.linalg.svd(m, full_matrices=False)
        svd_s[name] = time.perf_counter() - t
        factors.append((u, s, vt))
    t = time.perf_counter()
    for l in range(len(factors) - 1):
        e = factors[l + 1][2] @ factors[l][0]  # V_{l+1}^T U_l
        e *= e
    edges_s = time.perf_counter() - t
    np.save(sigma_path, np.concatenate([f[1] for f in factors]))
    with open(result_path, "w") as f:
        json.dump({"read_s": read_s, "svd_s": svd_s, "edges_s": edges_s,
                   "sigma_lengths": [len(x[1]) for x in factors]}, f)


def max_sigma_error(outdir, sigma_path):
    import csv

    import numpy as np

    ref = np.load(sigma_path)
    with open(os.path.join(outdir, "nodes.csv")) as f:
        rows = list(csv.DictReader(f))
    s = np.array([float(r["sigma"]) for r in rows])
    if s.shape != ref.shape:
        return float("nan")
    return float(np.max(np.abs(s - ref)) / np.max(ref))


def memory_cell(run):
    per = run.get("peak_memory_mb_per_rank")
    rss = run.get("maxrss_mb_per_rank") or {}
    cells = []
    for r in range(run["ranks"]):
        own = fmt_mb(per[r]) if per and r < len(per) else "n/a"
        cells.append(f"r{r}: {own} ({fmt_mb(rss.get(str(r)))} RSS)")
    return ", ".join(cells)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        prog="wide_mlp.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Time svr on a wide MLP (four W x W Linear layers, all forced onto "
                    "ScaLAPACK) at several rank counts, with memory per rank, next to svr's "
                    "LAPACK path and a NumPy gesdd baseline; rewrites the wide-MLP section of "
                    "docs/benchmarks.md.",
        epilog="Example: /usr/bin/python3 bench/wide_mlp.py --ranks 1,2 --width 4096\n"
               "Needs torch and numpy (Debian's /usr/bin/python3), mpiexec, /usr/bin/time. "
               "Not a test.")
    ap.add_argument("--svr", default=os.path.join(REPO, "build", "svr"), metavar="PATH",
                    help="svr binary (default: build/svr of this repository)")
    ap.add_argument("--workdir", default="/tmp/svr-bench-mlp", metavar="DIR",
                    help="model, outputs and baseline results; the model is reused when its "
                         "width matches (default: %(default)s)")
    ap.add_argument("--width", type=int, default=4096, metavar="W",
                    help="layer width (default: %(default)s)")
    ap.add_argument("--ranks", default="1,2", metavar="R1,R2,...",
                    help="rank counts of the forced-ScaLAPACK runs (default: %(default)s)")
    ap.add_argument("--teams", action="store_true",
                    help="also run every rank count above 1 with concurrent teams "
                         "(svr's default --max-grids 0) next to one grid of all ranks")
    ap.add_argument("--block-size", type=int, default=64, metavar="NB",
                    help="svr --block-size (default: %(default)s)")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "benchmarks.md"), metavar="FILE",
                    help="markdown file whose wide-MLP section is rewritten")
    ap.add_argument("--no-write", action="store_true", help="do not touch --out")
    add_launch_arguments(ap)
    a = ap.parse_args(argv)
    if a.baseline_worker:
        return a
    a.rank_list = parse_rank_list(ap, a.ranks)
    if a.width < 2:
        ap.error("--width must be >= 2")
    return a


def main(argv=None):
    a = parse_args(argv)
    if a.baseline_worker:
        baseline_worker(a.baseline_worker, a.baseline_result, a.baseline_sigma)
        return 0
    svr = os.path.abspath(a.svr)
    if not os.access(svr, os.X_OK):
        raise SystemExit(f"{svr}: not an executable (build svr first, or pass --svr)")
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    mpiexec = shutil.which(a.mpiexec) or a.mpiexec
    model = os.path.join(workdir, f"wide_mlp_{a.width}.safetensors")
    if not os.path.exists(model):
        log(f"exporting a {LAYERS}-layer MLP of width {a.width} to {model}")
        export_square_mlp(model, a.width, LAYERS)
    matrix_mb = a.width * a.width * 8 / 2**20

    forced = ["--scalapack-min-dim", "1", "--block-size", str(a.block_size)]
    one_grid = forced + ["--max-grids", "1"]
    # As many teams as fit, whatever the local block size (svr's default keeps one grid here).
    teams = forced + ["--max-grids", "0", "--min-local-elements", "1e15"]
    runs = []
    for R in a.rank_list:
        log(f"svr, {R} rank(s), every layer on ScaLAPACK, one grid ...")
        r = run_svr(svr, model, workdir, R, mpiexec, one_grid, tag="-scalapack")
        r["label"] = f"svr, {R} rank(s), ScaLAPACK, one grid"
        runs.append(r)
        log(f"  wall {r['wall_s']:.1f} s, memory per rank {memory_cell(r)}")
    for R in (a.rank_list if a.teams else []):
        if R < 2:
            continue
        log(f"svr, {R} rank(s), every layer on ScaLAPACK, concurrent teams ...")
        r = run_svr(svr, model, workdir, R, mpiexec, teams, tag="-teams")
        r["label"] = f"svr, {R} ranks, ScaLAPACK, concurrent teams"
        r["teams"] = True
        runs.append(r)
        log(f"  wall {r['wall_s']:.1f} s, memory per rank {memory_cell(r)}")
    log("svr, 1 rank, LAPACK (default path) ...")
    r = run_svr(svr, model, workdir, 1, mpiexec, ["--scalapack-min-dim", str(a.width + 1)],
                tag="-lapack")
    r["label"] = "svr, 1 rank, LAPACK dgesdd"
    runs.append(r)
    log(f"  wall {r['wall_s']:.1f} s, memory {memory_cell(r)}")
    log("NumPy baseline (one BLAS thread) ...")
    base = run_baseline(__file__, model, workdir, a.python, "baseline-sigma.npy")
    base_svd = sum(base["svd_s"].values())
    for r in runs:
        r["sigma_err"] = max_sigma_error(r["outdir"], base["sigma_path"])

    phases = []
    for r in runs:
        for p in r["phases"]:
            if p not in phases:
                phases.append(p)
    S = []
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mi = machine_info()
    width_note = "" if a.width == 4096 else f" (width {a.width})"
    S.append(f"## Wide MLP{width_note}: memory per rank on the distributed path\n")
    S.append(f"Written by `bench/wide_mlp.py` on {now}. Reproduce with:\n")
    S.append(f"    /usr/bin/python3 bench/wide_mlp.py --ranks {a.ranks} --width {a.width}"
             f"{' --teams' if a.teams else ''}\n")
    S.append(f"- **Machine**: {mi['nproc']} cores ({mi['cpu']}), "
             f"{mi['mem_gb']:.0f} GiB memory; a shared, noisy machine." if mi["mem_gb"] else
             f"- **Machine**: {mi['nproc']} cores ({mi['cpu']}).")
    S.append(f"- **Versions**: {first_line([svr, '--version'])}, "
             f"{first_line([mpiexec, '--version'])}.")
    S.append(f"- **Model**: {LAYERS} `torch.nn.Linear({a.width}, {a.width})` layers "
             f"(seed 0, PyTorch's default initialisation, F32): {LAYERS} matrices of "
             f"{a.width} x {a.width}, {fmt_mb(matrix_mb)} MiB each in double precision, "
             f"{LAYERS - 1} pairs.")
    S.append(f"- **Settings**: one BLAS thread per rank; forced runs use "
             f"`{' '.join(one_grid)}` (every layer on one near-square grid of all ranks, one "
             f"after the other) or, for concurrent teams, `{' '.join(teams)}` (as many teams "
             f"as fit, here one 1x1 grid per rank); the "
             f"LAPACK run uses `--scalapack-min-dim {a.width + 1}`. One run of each.\n")
    head = ["configuration"] + [f"{p} (s)" for p in phases] + [
        "wall (s)", "peak memory per rank, MiB (svr's own, and /usr/bin/time RSS)",
        "max |Δs|/s_max vs NumPy", "load avg mean / max"]
    S.append("| " + " | ".join(head) + " |")
    S.append("| " + " | ".join("---" for _ in head) + " |")
    for r in runs:
        cells = [r["label"]] + [fmt_s(r["phases"].get(p)) for p in phases] + [
            fmt_s(r["wall_s"]), memory_cell(r), f"{r['sigma_err']:.1e}", fmt_load(r["load"])]
        S.append("| " + " | ".join(cells) + " |")
    S.append("| NumPy gesdd + E | " + " | ".join(
        [fmt_s(base["read_s"]) if p == "read" else fmt_s(base_svd) if p == "svd" else
         fmt_s(base["edges_s"]) if p == "edges" else "" for p in phases]) +
        f" | {fmt_s(base['wall_s'])} | {fmt_mb(base['maxrss_mb'])} (whole process) | 0 | "
        f"{fmt_load(base['load'])} |")
    S.append("")
    forced_runs = [r for r in runs if "one grid" in r["label"]]
    team_runs = [r for r in runs if r.get("teams")]
    S.append("| ratio | value |")
    S.append("| --- | --- |")
    for r in forced_runs + team_runs:
        S.append(f"| {r['label']}: svd phase / NumPy gesdd | {fmt_r(ratio(r['phases'].get('svd'), base_svd))} |")
        per = r.get("peak_memory_mb_per_rank") or []
        if per:
            S.append(f"| {r['label']}: largest rank's peak / one matrix in double | "
                     f"{fmt_r(max(per) / matrix_mb)} |")
    if len(forced_runs) > 1:
        one, last = forced_runs[0], forced_runs[-1]
        s = ratio(one["wall_s"], last["wall_s"])
        S.append(f"| speed-up {one['ranks']} → {last['ranks']} ranks (wall) | {fmt_r(s)} |")
        if s:
            S.append(f"| parallel efficiency {one['ranks']} → {last['ranks']} ranks | "
                     f"{fmt_r(s * one['ranks'] / last['ranks'])} |")
        p1 = one.get("peak_memory_mb_per_rank") or []
        pn = last.get("peak_memory_mb_per_rank") or []
        if p1 and pn:
            S.append(f"| largest rank's peak memory, {last['ranks']} ranks / {one['ranks']} rank | "
                     f"{fmt_r(max(pn) / max(p1))} |")
    for t in team_runs:
        same = [r for r in forced_runs if r["ranks"] == t["ranks"]]
        if same:
            S.append(f"| {t['ranks']} ranks: concurrent teams wall / one grid wall | "
                     f"{fmt_r(ratio(t['wall_s'], same[0]['wall_s']))} |")
    S.append("")
    text = "\n".join(S) + "\n"
    print(text)
    with open(os.path.join(workdir, "wide_mlp.json"), "w") as f:
        json.dump({"runs": runs, "baseline": base}, f, indent=1, default=str)
    if not a.no_write:
        begin, end = markers(a.width)
        write_markdown(os.path.abspath(a.out), text, begin, end)
        log(f"wrote section {begin} ... {end} of {rel(a.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
