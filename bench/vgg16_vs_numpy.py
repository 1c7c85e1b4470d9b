#!/usr/bin/env python3
"""Benchmark svr on VGG16 (random weights) against a plain NumPy/SciPy baseline.

What it does, in one run:

1. builds torchvision's vgg16() with random weights (torch.manual_seed(0), weights=None, no
   download) and exports it to WORKDIR/vgg16.safetensors with scripts/export_safetensors.py
   (skipped when the file already exists);
2. runs `mpiexec -n R --oversubscribe SVR MODEL -o WORKDIR/out-R --force --quiet` for every R of
   --ranks, with OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1 per rank, timing the wall clock,
   reading the seconds per phase and the peak memory from OUT/summary.json (run.seconds_per_phase,
   run.peak_memory_mb) and each rank's maximum resident set from /usr/bin/time -v;
3. runs a plain NumPy baseline in a subprocess (one BLAS thread): loads the same 16 weight
   matrices as float64 (conv out x (in*k*k), linear as is), times numpy.linalg.svd(M,
   full_matrices=False) (LAPACK gesdd) over all 16, the edge matrices E of the 15 pairs
   (SVR spec section 3; z = 9 for conv -> conv, c = 512, z = 49 for features.28 -> classifier.0,
   z = 1 for linear -> linear), and separately scipy.linalg.svd(..., lapack_driver='gesdd');
   it also checks svr's singular values (nodes.csv) against NumPy's;
4. prints a table and rewrites the section between <!-- vgg16:begin --> and <!-- vgg16:end -->
   of docs/benchmarks.md (the rest of the file is kept; the file is created if missing).

Run with Debian's interpreter (it has torch, torchvision, numpy, scipy):

    /usr/bin/python3 bench/vgg16_vs_numpy.py --ranks 1,2

VGG16 has 138M parameters; the SVD of classifier.0 (4096 x 25088) dominates and takes minutes
on one core. Expect roughly 3 x that time per configuration plus the baseline.
This is a benchmark, not a test: it never fails on slow numbers.
"""

import argparse
import datetime
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (REPO, add_launch_arguments, parse_rank_list, export_torch_model, run_baseline, first_line, fmt_load, fmt_mb,  # noqa: E402
                          fmt_r, fmt_s, log, machine_info, ratio, read_safetensors_header,
                          rel, run_svr, write_markdown)

BEGIN = "<!-- vgg16:begin -->"
END = "<!-- vgg16:end -->"


# --------------------------------------------------------------------------------------------
# step 1: the model


def export_vgg16(path):
    import torch
    import torchvision

    torch.manual_seed(0)
    try:
        model = torchvision.models.vgg16(weights=None)
    except TypeError:  # torchvision < 0.13
        model = torchvision.models.vgg16(pretrained=False)
    return export_torch_model(model, path)


# --------------------------------------------------------------------------------------------
# step 2: svr


# --------------------------------------------------------------------------------------------
# step 3: the NumPy/SciPy baseline (runs in a subprocess with one BLAS thread)


def baseline_worker(model, result_path, sigma_path):
    import numpy as np
    import scipy
    import scipy.linalg

    header, data_start = read_safetensors_header(model)
    meta = header.pop("__metadata__", {}) or {}
    layers = json.loads(meta["svr.layers"])
    dtypes = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}
    raw = np.memmap(model, dtype=np.uint8, mode="r")

    t = time.perf_counter()
    mats, shapes = [], []
    for name in layers:
        h = header[name]
        b, e = h["data_offsets"]
        w = np.frombuffer(raw[data_start + b:data_start + e], dtype=dtypes[h["dtype"]])
        w = w.reshape(h["shape"]).astype(np.float64)
        mats.append(np.ascontiguousarray(w.reshape(h["shape"][0], -1)))  # out x (in*k*k)
        shapes.append(list(h["shape"]))
    t_load = time.perf_counter() - t
    del raw

    res = {"layers": layers, "load_s": t_load, "numpy_svd_s": {}, "scipy_svd_s": {},
           "matrix_shapes": [list(M.shape) for M in mats]}

    # NumPy gesdd, keeping U and V^T for the edges
    facs = []
    for name, M in zip(layers, mats):
        t = time.perf_counter()
        U, s, Vt = np.linalg.svd(M, full_matrices=False)
        res["numpy_svd_s"][name] = time.perf_counter() - t
        facs.append((U, s, Vt))
        print(f"  numpy  svd {name:24s} {M.shape[0]:5d} x {M.shape[1]:5d} "
              f"{res['numpy_svd_s'][name]:8.2f} s", flush=True)

    # edges E[j, i] = sum_p (sum_a V_j[a*z + p] U_i[a])^2 (spec section 3, method svr)
    t = time.perf_counter()
    pairs = []
    for l in range(len(layers) - 1):
        U = facs[l][0]                     # c x r_l  (output side of layer l)
        Vt = facs[l + 1][2]                # r_{l+1} x (c*z)
        c = U.shape[0]
        if Vt.shape[1] % c:
            raise SystemExit(f"pair {l}: {Vt.shape[1]} inputs not a multiple of c = {c}")
        z = Vt.shape[1] // c
        V3 = Vt.reshape(Vt.shape[0], c, z)
        E = np.zeros((Vt.shape[0], U.shape[1]))
        for p in range(z):
            G = np.ascontiguousarray(V3[:, :, p]) @ U
            G *= G
            E += G
        pairs.append({"from": layers[l], "to": layers[l + 1], "c": c, "z": z,
                      "shape": list(E.shape), "sum": float(E.sum())})
        del E
    res["edges_s"] = time.perf_counter() - t
    res["pairs"] = pairs
    print(f"  numpy  edges (15 pairs) {res['edges_s']:8.2f} s", flush=True)

    np.savez(sigma_path, **{name: f[1] for name, f in zip(layers, facs)})
    del facs

    # SciPy gesdd (same LAPACK driver, SciPy's wrapper)
    for name, M in zip(layers, mats):
        t = time.perf_counter()
        U, s, Vt = scipy.linalg.svd(M, full_matrices=False, lapack_driver="gesdd")
        res["scipy_svd_s"][name] = time.perf_counter() - t
        del U, s, Vt
        print(f"  scipy  svd {name:24s} {res['scipy_svd_s'][name]:8.2f} s", flush=True)

    res["numpy_version"] = np.__version__
    res["scipy_version"] = scipy.__version__
    with open(result_path, "w") as f:
        json.dump(res, f, indent=1)


def compare_sigmas(svr_outdir, sigma_path, layers):
    """Max over layers of max_i |s_svr - s_numpy| / s_max, from nodes.csv."""
    import csv

    import numpy as np

    ref = np.load(sigma_path)
    got = {name: [] for name in layers}
    with open(os.path.join(svr_outdir, "nodes.csv"), newline="") as f:
        for row in csv.DictReader(f):
            got[row["layer_name"]].append((int(row["neuron"]), float(row["sigma"])))
    worst = 0.0
    for name in layers:
        s = np.array([v for _, v in sorted(got[name])])
        r = ref[name]
        if s.shape != r.shape:
            return float("inf")
        worst = max(worst, float(np.max(np.abs(s - r)) / r[0]))
    return worst


# --------------------------------------------------------------------------------------------
# step 4: report


def versions(svr, mpiexec, python):
    svr_v = first_line([svr, "--version"])
    v = {"svr": svr_v.split()[-1] if svr_v.startswith("svr ") else svr_v,
         "mpi": first_line([mpiexec, "--version"]),
         "python": first_line([python, "-c", "import sys; print(sys.version.split()[0])"])}
    v["torch/torchvision"] = first_line(
        [python, "-c", "import torch, torchvision; print(torch.__version__, torchvision.__version__)"])
    blas = first_line(["dpkg-query", "-W", "-f=${Version}", "libopenblas0-pthread"])
    v["openblas"] = blas if blas and "no packages" not in blas.lower() else "unknown"
    return v


def build_tables(svr_runs, base, layers):
    """Return (markdown lines, plain text lines, derived numbers)."""
    phase_names = []
    for r in svr_runs.values():
        for p in r["phases"]:
            if p not in phase_names:
                phase_names.append(p)
    np_svd = sum(base["numpy_svd_s"].values())
    sp_svd = sum(base["scipy_svd_s"].values())
    np_edges = base["edges_s"]
    d = {"np_svd": np_svd, "sp_svd": sp_svd, "np_edges": np_edges, "np_total": np_svd + np_edges}

    md = []
    hdr = ["configuration"] + [f"{p} (s)" for p in phase_names] + \
        ["sum of phases (s)", "other (s)", "wall (s)", "peak memory (MiB)",
         "load avg mean / max"]
    md.append("| " + " | ".join(hdr) + " |")
    md.append("|" + " --- |" * len(hdr))
    txt = []
    for R, r in sorted(svr_runs.items()):
        ph = [r["phases"].get(p) for p in phase_names]
        tot = sum(x for x in ph if x is not None)
        per_rank = r["maxrss_mb_per_rank"]
        mem = ", ".join(f"r{k}: {fmt_mb(v)}" for k, v in sorted(per_rank.items(),
                                                                key=lambda kv: int(kv[0]))
                        if v is not None)
        mem = (mem + f" (summary max {fmt_mb(r['peak_memory_mb'])})") if mem \
            else fmt_mb(r["peak_memory_mb"])
        row = [f"svr, {R} rank{'s' if R > 1 else ''}"] + [fmt_s(x) for x in ph] + \
            [fmt_s(tot), fmt_s(r["wall_s"] - tot), fmt_s(r["wall_s"]), mem, fmt_load(r["load"])]
        md.append("| " + " | ".join(row) + " |")
        txt.append(f"svr {R} rank(s): " + ", ".join(f"{p} {fmt_s(x)}" for p, x in
                                                    zip(phase_names, ph))
                   + f" | phases {fmt_s(tot)} | wall {fmt_s(r['wall_s'])} s | mem {mem} MiB"
                   + f" | load {fmt_load(r['load'])}")
    blank = [""] * len(phase_names)
    for label, svd_s in (("NumPy `linalg.svd` (gesdd)", np_svd),
                         ("SciPy `linalg.svd` (gesdd)", sp_svd)):
        cells = list(blank)
        if "svd" in phase_names:
            cells[phase_names.index("svd")] = fmt_s(svd_s)
        if label.startswith("NumPy") and "edges" in phase_names:
            cells[phase_names.index("edges")] = fmt_s(np_edges)
        if "read" in phase_names and label.startswith("NumPy"):
            cells[phase_names.index("read")] = fmt_s(base["load_s"])
        tot = svd_s + (np_edges if label.startswith("NumPy") else 0.0)
        mem = fmt_mb(base.get("maxrss_mb")) + " (whole baseline process)"
        md.append("| " + " | ".join([label] + cells + [fmt_s(tot), "", "", mem,
                                                        fmt_load(base.get("load"))]) + " |")
    txt.append(f"numpy: load {fmt_s(base['load_s'])}, svd {fmt_s(np_svd)}, edges "
               f"{fmt_s(np_edges)}, svd+E {fmt_s(np_svd + np_edges)} s; scipy gesdd svd "
               f"{fmt_s(sp_svd)} s; baseline peak RSS {fmt_mb(base.get('maxrss_mb'))} MiB")

    # per-layer SVD times of the baseline
    lay = ["| layer | matrix | NumPy gesdd (s) | SciPy gesdd (s) |", "| --- | --- | --- | --- |"]
    for name, shape in zip(layers, base["matrix_shapes"]):
        lay.append(f"| `{name}` | {shape[0]} x {shape[1]} | {fmt_s(base['numpy_svd_s'][name])} "
                   f"| {fmt_s(base['scipy_svd_s'][name])} |")
    biggest = max(base["numpy_svd_s"], key=base["numpy_svd_s"].get)
    d["biggest"] = biggest
    d["biggest_s"] = base["numpy_svd_s"][biggest]
    return md, txt, lay, phase_names, d


def lpt_partition(shapes, ranks):
    """svr's LayerPartition: layers by decreasing rows*cols*min(rows, cols), each to the
    least-loaded rank (lowest rank on ties). Returns the owner of every layer."""
    cost = [r * c * min(r, c) for r, c in shapes]
    order = sorted(range(len(shapes)), key=lambda i: -cost[i])  # stable, like std::stable_sort
    load = [0.0] * ranks
    owner = [0] * len(shapes)
    for i in order:
        k = min(range(ranks), key=lambda j: (load[j], j))
        owner[i] = k
        load[k] += cost[i]
    return owner


# --------------------------------------------------------------------------------------------


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        prog="vgg16_vs_numpy.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Time svr on torchvision's VGG16 (random weights, seed 0; 16 layers, 15 "
                    "pairs, 138M parameters) at several MPI rank counts, and in the same run a "
                    "plain NumPy/SciPy baseline (gesdd of the same 16 matrices, NumPy edge "
                    "matrices E of the 15 pairs), one BLAS thread per process. Prints a table "
                    "and rewrites the VGG16 section of docs/benchmarks.md.",
        epilog="Example: /usr/bin/python3 bench/vgg16_vs_numpy.py --ranks 1,2 --repeat 1\n"
               "Needs torch, torchvision, numpy, scipy (Debian's /usr/bin/python3), mpiexec, "
               "and optionally /usr/bin/time (per-rank peak memory).\n"
               "Takes minutes: the SVD of classifier.0 (4096 x 25088) dominates. Not a test.")
    ap.add_argument("--svr", default=os.path.join(REPO, "build", "svr"), metavar="PATH",
                    help="svr binary (default: build/svr of this repository)")
    ap.add_argument("--workdir", default="/tmp/svr-bench", metavar="DIR",
                    help="where the model, svr outputs and baseline results go; the model "
                         "WORKDIR/vgg16.safetensors is reused if present (default: %(default)s)")
    ap.add_argument("--ranks", default="1,2", metavar="R1,R2,...",
                    help="comma list of MPI rank counts to run svr with (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run every configuration and the baseline N times and report the "
                         "fastest (default: %(default)s)")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "benchmarks.md"), metavar="FILE",
                    help="markdown file whose section between '%s' and '%s' is rewritten "
                         "(created with an intro if missing; default: docs/benchmarks.md)"
                         % (BEGIN, END))
    ap.add_argument("--no-write", action="store_true",
                    help="only print the results, do not touch --out")
    ap.add_argument("--skip-build", action="store_true",
                    help="do not run 'cmake --build' on svr's build directory first")
    add_launch_arguments(ap)
    a = ap.parse_args(argv)
    if a.baseline_worker:
        return a
    a.rank_list = parse_rank_list(ap, a.ranks)
    if a.repeat < 1:
        ap.error("--repeat must be >= 1")
    return a


def main(argv=None):
    a = parse_args(argv)
    if a.baseline_worker:
        baseline_worker(a.baseline_worker, a.baseline_result, a.baseline_sigma)
        return 0

    svr = os.path.abspath(a.svr)
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    mpiexec = shutil.which(a.mpiexec) or a.mpiexec

    if not a.skip_build:
        build_dir = os.path.dirname(svr)
        if os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            log(f"cmake --build {rel(build_dir)} -j2")
            subprocess.run(["cmake", "--build", build_dir, "-j2"], check=True,
                           stdout=subprocess.DEVNULL)
        else:
            log(f"no CMakeCache.txt next to {svr}: not building")
    if not os.access(svr, os.X_OK):
        raise SystemExit(f"{svr}: not an executable (build svr first, or pass --svr)")

    model = os.path.join(workdir, "vgg16.safetensors")
    if os.path.exists(model):
        log(f"reusing {model}")
    else:
        log(f"exporting torchvision vgg16 (seed 0, random weights) to {model}")
        export_vgg16(model)
    header, _ = read_safetensors_header(model)
    layers = json.loads(header["__metadata__"]["svr.layers"])
    n_params = sum(_prod(h["shape"]) for k, h in header.items() if k != "__metadata__")
    log(f"{len(layers)} layers, {n_params / 1e6:.1f}M parameters, "
        f"{os.path.getsize(model) / 2**20:.0f} MiB file")

    svr_runs, all_walls = {}, {}
    for R in a.rank_list:
        for i in range(a.repeat):
            log(f"svr with {R} rank(s), run {i + 1}/{a.repeat} ...")
            r = run_svr(svr, model, workdir, R, mpiexec)
            log(f"  wall {r['wall_s']:.1f} s, phases " +
                ", ".join(f"{k} {v:.2f}" for k, v in r["phases"].items()) +
                f", peak {fmt_mb(r['peak_memory_mb'])} MiB")
            all_walls.setdefault(R, []).append(r["wall_s"])
            if R not in svr_runs or r["wall_s"] < svr_runs[R]["wall_s"]:
                svr_runs[R] = r

    base = None
    base_walls = []
    for i in range(a.repeat):
        log(f"NumPy/SciPy baseline, run {i + 1}/{a.repeat} (one BLAS thread) ...")
        b = run_baseline(__file__, model, workdir, a.python, "baseline-sigma.npz")
        base_walls.append(b["wall_s"])
        if base is None or sum(b["numpy_svd_s"].values()) < sum(base["numpy_svd_s"].values()):
            base = b

    # reference for svr's checksum phase: coreutils sha256sum of the same file
    sha_s = None
    if shutil.which("sha256sum"):
        t = time.perf_counter()
        if subprocess.run(["sha256sum", model], stdout=subprocess.DEVNULL).returncode == 0:
            sha_s = time.perf_counter() - t

    sigma_err = {R: compare_sigmas(r["outdir"], base["sigma_path"], layers)
                 for R, r in svr_runs.items()}

    md, txt, lay, phase_names, d = build_tables(svr_runs, base, layers)
    r1 = svr_runs.get(1) or svr_runs[min(svr_runs)]
    R1 = r1["ranks"]
    r1_svd = r1["phases"].get("svd")
    r1_edges = r1["phases"].get("edges")
    ratios = [
        (f"svr ({R1} rank) wall / NumPy gesdd only", ratio(r1["wall_s"], d["np_svd"])),
        (f"svr ({R1} rank) wall / (NumPy SVD + E)", ratio(r1["wall_s"], d["np_total"])),
        (f"svr ({R1} rank) svd phase / NumPy gesdd", ratio(r1_svd, d["np_svd"])),
        (f"svr ({R1} rank) svd phase / SciPy gesdd", ratio(r1_svd, d["sp_svd"])),
        (f"svr ({R1} rank) edges phase / NumPy E", ratio(r1_edges, d["np_edges"])),
    ]
    effs = []
    for R, r in sorted(svr_runs.items()):
        if R == R1:
            continue
        ratios.append((f"svr ({R} ranks) wall / (NumPy SVD + E)", ratio(r["wall_s"], d["np_total"])))
        sp = ratio(r1["wall_s"], r["wall_s"])
        eff = None if sp is None else sp * R1 / R
        sp_svd = ratio(r1_svd, r["phases"].get("svd"))
        effs.append((R, sp, eff, sp_svd))
    # best possible SVD-phase speed-up with whole layers per rank: the biggest layer alone;
    # and the speed-up svr's own partition allows, from the baseline's per-layer times
    bound = ratio(d["np_svd"], d["biggest_s"])
    part = {}
    for R in svr_runs:
        owner = lpt_partition(base["matrix_shapes"], R)
        per = [0.0] * R
        for name, o in zip(layers, owner):
            per[o] += base["numpy_svd_s"][name]
        part[R] = {"owner": owner, "per_rank_s": per, "bound": ratio(d["np_svd"], max(per))}

    print()
    for line in txt:
        print(line)
    for label, x in ratios:
        print(f"{label}: {fmt_r(x)}")
    for R, sp, eff, sp_svd in effs:
        print(f"{R1} -> {R} ranks: speed-up {fmt_r(sp)} (wall), parallel efficiency "
              f"{fmt_r(eff)}; svd phase speed-up {fmt_r(sp_svd)}")
    for R, pt in sorted(part.items()):
        if R > 1:
            print(f"{R} ranks: svr's partition gives per-rank NumPy SVD seconds "
                  + ", ".join(fmt_s(x) for x in pt["per_rank_s"])
                  + f" -> svd-phase speed-up bound {fmt_r(pt['bound'])}")
    print(f"largest SVD: {d['biggest']} {fmt_s(d['biggest_s'])} s of NumPy's {fmt_s(d['np_svd'])} "
          f"s -> svd-phase speed-up bound with one layer per rank: {fmt_r(bound)}")
    for R, e in sorted(sigma_err.items()):
        print(f"svr {R} rank(s) singular values vs NumPy: max |ds| / s_max = {e:.2e}")

    if a.no_write:
        return 0

    # ------------------------------------------------------------------ markdown section
    mi = machine_info()
    vers = versions(svr, mpiexec, a.python)
    vers["numpy"] = base["numpy_version"]
    vers["scipy"] = base["scipy_version"]
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    repro = ["/usr/bin/python3", "bench/vgg16_vs_numpy.py", "--ranks", a.ranks,
             "--repeat", str(a.repeat)]
    if a.workdir != "/tmp/svr-bench":
        repro += ["--workdir", a.workdir]
    repro_s = " ".join(shlex.quote(x) for x in repro)

    S = []
    S.append("## VGG16: svr against NumPy/SciPy\n")
    S.append(f"Written by `bench/vgg16_vs_numpy.py` on {today}. Reproduce with:\n")
    S.append(f"    {repro_s}\n")
    S.append(f"- **Machine**: {mi['nproc']} cores ({mi['cpu']}), "
             f"{mi['mem_gb']:.0f} GiB memory, Linux {mi['kernel']}; a shared, noisy machine.")
    S.append("- **Versions**: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".")
    S.append(f"- **Model**: torchvision `vgg16(weights=None)` after `torch.manual_seed(0)` "
             f"(random weights, {n_params / 1e6:.1f}M parameters, F32, "
             f"{os.path.getsize(model) / 2**20:.0f} MiB safetensors via "
             "`scripts/export_safetensors.py`): 13 conv + 3 linear layers, 15 pairs; the largest "
             "matrix is classifier.0, 4096 x 25088 (c = 512, z = 49 from features.28).")
    S.append("- **Settings**: every process uses one BLAS thread (`OPENBLAS_NUM_THREADS=1`, "
             "`OMP_NUM_THREADS=1`). svr is run as "
             f"`{r1['command']}` (default options: BH at 0.05, BN folding, method svr). "
             "The baseline is one Python process that loads the same 16 matrices as float64, "
             "then times `numpy.linalg.svd(M, full_matrices=False)` on each, the 15 edge "
             "matrices E in NumPy (spec §3: one GEMM per kernel position, squared and summed), "
             "and `scipy.linalg.svd(M, full_matrices=False, lapack_driver='gesdd')` on each. "
             "NumPy, SciPy and svr all call the same OpenBLAS LAPACK `dgesdd`."
             + (f" Best of {a.repeat} runs." if a.repeat > 1 else " One run of each."))
    S.append("")
    S.append("Seconds per phase (`run.seconds_per_phase` of summary.json), wall clock of the "
             "whole `mpiexec` command, and peak resident memory per rank "
             "(`/usr/bin/time -v`; svr's own `run.peak_memory_mb` is the maximum over ranks). "
             "\"other\" = wall − sum of phases: MPI start-up and writing the output files, "
             "which svr does not time. For the baseline, the read column is loading the weights "
             "and the svd/edges columns are the NumPy timings. The last column is the 1-minute "
             "load average sampled every 5 s during that configuration (the configuration's own "
             "processes count: about R for R ranks, 1 for the baseline; more means other work "
             "was running on the machine).\n")
    S.extend(md)
    S.append("")
    S.append("| ratio | value |")
    S.append("| --- | --- |")
    for label, x in ratios:
        S.append(f"| {label} | {fmt_r(x)} |")
    for R, sp, eff, sp_svd in effs:
        S.append(f"| speed-up {R1} → {R} ranks (wall) | {fmt_r(sp)} |")
        S.append(f"| parallel efficiency {R1} → {R} ranks (wall) | {fmt_r(eff)} |")
        S.append(f"| speed-up {R1} → {R} ranks (svd phase) | {fmt_r(sp_svd)} |")
    for R, pt in sorted(part.items()):
        if R > 1:
            S.append(f"| svd-phase speed-up allowed by svr's layer partition at {R} ranks "
                     f"(from the NumPy per-layer times) | {fmt_r(pt['bound'])} |")
    S.append(f"| best possible svd-phase speed-up with whole layers per rank "
             f"(NumPy SVD total / largest layer) | {fmt_r(bound)} |")
    S.append("")
    S.append("Singular values: svr's `nodes.csv` against NumPy's, max |Δs| / s_max over all "
             "layers: " + ", ".join(f"{R} rank{'s' if R > 1 else ''} {e:.1e}"
                                    for R, e in sorted(sigma_err.items())) + ".\n")
    S.append("<details><summary>Baseline SVD time per layer</summary>\n")
    S.extend(lay)
    S.append("\n</details>\n")

    # what the numbers mean (generated from the numbers of this run)
    ph1 = r1["phases"]
    tot1 = sum(ph1.values())
    dominant = max(ph1, key=ph1.get)
    share = lambda k: 100.0 * ph1.get(k, 0.0) / r1["wall_s"]  # noqa: E731
    big_share = 100.0 * d["biggest_s"] / d["np_svd"]
    busy = [f"{'svr ' + str(R) + ' rank' + ('s' if R > 1 else '') if R else 'baseline'} "
            f"{x['load']['mean']:.1f}"
            for R, x in sorted(list(svr_runs.items()) + [(0, base)])
            if x.get("load") and x["load"]["mean"] > (R or 1) + 0.5]
    base_busy = bool(base.get("load")) and base["load"]["mean"] > 1.5
    r1_busy = bool(r1.get("load")) and r1["load"]["mean"] > R1 + 0.5
    para = [
        "**What the numbers mean.** ",
        f"With one rank, svr spends {share(dominant):.0f}% of its wall time in the `{dominant}` "
        f"phase" + (f" ({fmt_s(ph1[dominant])} s)" if dominant in ph1 else "") + ", which is "
        "LAPACK `dgesdd` on the 16 layer matrices. NumPy and SciPy call the same routine of the "
        "same OpenBLAS (svr factors a wide matrix as its transpose, which takes OpenBLAS's faster "
        "QR path; NumPy's row-major arrays reach LAPACK transposed too)" + (
            f"; in this run the ratio svr/NumPy of the svd phase "
            f"({fmt_r(ratio(r1_svd, d['np_svd']))}) is uncertain, because "
            + ("the baseline" if base_busy else f"svr with {R1} rank") + " ran while the "
            "machine's load average was above its own process count. "
            if base_busy or r1_busy else
            f", and svr's svd phase takes {fmt_r(ratio(r1_svd, d['np_svd']))} x NumPy's time: "
            "the factorisation itself leaves little to win on one core. "
            if (ratio(r1_svd, d["np_svd"]) or 9) < 1.15 else
            f", yet svr's svd phase takes {fmt_r(ratio(r1_svd, d['np_svd']))} x NumPy's time: "
            "svr loses time around the factorisation (reading, widening, copies). "),
        f"One matrix, {d['biggest'].replace('.weight', '')} "
        f"({' x '.join(map(str, base['matrix_shapes'][layers.index(d['biggest'])]))}), "
        f"is {big_share:.0f}% of NumPy's SVD time. "
        "svr's `read` phase only parses the header: the weights are read, widened to double "
        "and reshaped inside the `svd` phase. ",
        f"`edges` ({fmt_s(ph1.get('edges'))} s, NumPy {fmt_s(d['np_edges'])} s) is the 15 E "
        "matrices, dominated by the two 4096-wide pairs (classifier.0 → classifier.3 is a "
        "4096 x 4096 x 4096 GEMM; features.28 → classifier.0 is 49 GEMMs of 4096 x 512 x 512). "
        "svr does these products with Eigen's own kernels, compiled for baseline x86-64 (the "
        "Release build has no -march), while NumPy calls OpenBLAS dgemm, which picks AVX2/AVX-512 "
        "kernels at run time: the likely reason why svr's edges phase is slower"
        + (f" (ratio {fmt_r(ratio(r1_edges, d['np_edges']))})" if not (base_busy or r1_busy)
           else "") + ". ",
        f"`significance` ({fmt_s(ph1.get('significance'))} s) computes log10 p of every one "
        f"of the {r1['edges_tested']:,} tested edges from the incomplete beta function "
        f"({1e6 * ph1.get('significance', 0) / max(r1['edges_tested'], 1):.2f} µs per edge), "
        "the BH correction over the whole network (a sort of all of them) and the measures; "
        + ("none of them is significant, as expected of random weights (the null of spec §4 "
           "holds for them). " if r1["edges_significant"] == 0 else
           f"{r1['edges_significant']:,} of them are significant. "),
        f"`checksum` ({fmt_s(ph1.get('checksum'))} s) is the SHA-256 of the model file for "
        "summary.json" + (f" (coreutils `sha256sum` takes {fmt_s(sha_s)} s on the same file)"
                          if sha_s else "") + " plus the memory reduction across ranks; \"other\" "
        f"({fmt_s(r1['wall_s'] - tot1)} s) is MPI start-up and writing nodes.csv, edges.csv, "
        "graph.graphml and summary.json. ",
    ]
    if effs:
        R, sp, eff, sp_svd = effs[0]
        owner = part[R]["owner"]
        r0 = [n.replace(".weight", "") for n, o in zip(layers, owner) if o == 0]
        para.append(
            f"With {R} ranks svr distributes whole layers (largest cost first, each to the least "
            f"loaded rank): rank 0 gets {', '.join(r0)}"
            + (" alone" if len(r0) == 1 else "") + ", the other ranks the remaining "
            f"{len(layers) - len(r0)} layers, so the svd phase cannot be faster than "
            f"{fmt_s(max(part[R]['per_rank_s']))} s of LAPACK (NumPy's timing): the partition "
            f"allows an svd-phase speed-up of {fmt_r(part[R]['bound'])}, measured "
            f"{fmt_r(sp_svd)}; edges, significance, checksum and output run on rank 0 only, "
            f"hence the parallel efficiency of {fmt_r(eff)}"
            + (f" — here {R} ranks were even slower than {R1}; on {mi['nproc']} cores that "
               "points to other work competing for the cores (see the load column), made worse "
               "by the waiting ranks, which do not sleep: Open MPI busy-polls, so each of them "
               "keeps a core at 100% while rank 0 works alone" if sp is not None and sp < 1 else
               ". The waiting ranks keep a core busy (Open MPI busy-polls) while rank 0 works "
               "alone, which costs nothing on an idle machine but competes with other jobs")
            + ". Rank 0 also receives the factors of every layer, so its peak memory does not "
            "drop with more ranks. ")
    para.append(
        f"Peak memory of rank 0 ({fmt_mb(r1['maxrss_mb_per_rank'].get('0') or r1['peak_memory_mb'])} "
        "MiB with one rank) is about four copies of the largest matrix in double precision "
        "(classifier.0: 4096 x 25088 x 8 B = 784 MiB): the matrix, the copy LAPACK overwrites, "
        "V^T and V, plus the 4096 x 4096 factors of classifier.3. ")
    spread = ""
    if busy:
        spread += (" Other work was running during this run (mean load average "
                   + ", ".join(busy) + f" on {mi['nproc']} cores, above what the configuration "
                   "itself explains): those timings are inflated.")
    if a.repeat > 1:
        spread = " Run-to-run spread of the wall clock over the " + str(a.repeat) + " runs: " + \
            ", ".join(f"{R} rank{'s' if R > 1 else ''} {fmt_s(min(w))}–{fmt_s(max(w))} s"
                      for R, w in sorted(all_walls.items())) + \
            f", baseline {fmt_s(min(base_walls))}–{fmt_s(max(base_walls))} s."
    para.append(
        f"Caveats: this is a {mi['nproc']}-core shared virtual machine with noisy timings; with "
        f"{max(svr_runs)} ranks every core is busy (the OS and MPI progress compete with the "
        "ranks, and the ranks share memory bandwidth), and "
        + (f"the numbers are the fastest of {a.repeat} runs." if a.repeat > 1 else
           "every number above comes from a single run, so ratios near 1 are within noise.")
        + spread + " Read them as orders of magnitude, not as a performance claim.")
    with open(os.path.join(workdir, "results.json"), "w") as f:
        json.dump({"svr": {str(R): r for R, r in svr_runs.items()}, "baseline": base,
                   "ratios": ratios, "machine": mi, "versions": vers}, f, indent=1)
    S.append("".join(para))
    write_markdown(os.path.abspath(a.out), "\n".join(S) + "\n", BEGIN, END)
    log(f"wrote section {BEGIN} ... {END} of {a.out}")
    return 0


def _prod(shape):
    n = 1
    for s in shape:
        n *= int(s)
    return n


if __name__ == "__main__":
    sys.exit(main())
