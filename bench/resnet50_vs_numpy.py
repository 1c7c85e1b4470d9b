#!/usr/bin/env python3
"""Benchmark svr on ResNet-50 (random weights) against a plain NumPy/SciPy baseline.

What it does, in one run:

1. makes torchvision's ResNet-50 with random weights WITHOUT torch:
   `tests/data/families/random_weights.py tests/data/families resnet50 WORKDIR/resnet50.safetensors`
   (NumPy, seed 0, torchvision's initialisation laws, the state_dict's names and shapes;
   skipped when the file already exists), and checks that `svr MODEL --plan` recognises the
   torchvision ResNet family from the names alone (no --topology);
2. runs `mpiexec -n R --oversubscribe SVR MODEL -o WORKDIR/out-R --force --quiet` for every R of
   --ranks, with OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1 per rank, timing the wall clock,
   reading the seconds per phase and the peak memory from OUT/summary.json and each rank's
   maximum resident set from /usr/bin/time -v;
3. runs a plain NumPy baseline in a subprocess (one BLAS thread): loads the same 54 weight
   matrices (53 convolutions, out x (in*kh*kw), and fc) as float64 with their BatchNorm folded
   as svr does, times numpy.linalg.svd(M, full_matrices=False) (LAPACK gesdd) over all of them,
   then the edge matrices E of every pair svr tested, taken from svr's summary.json `pairs`
   (from_layer, to_layer, c, z): every ResNet pair is a direct or residual-add map reading all
   of its producer's channels, so spec section 7 reduces to the chain formula of section 3 per
   pair (E[j, i] = sum over kernel positions p of (sum over a of V_j[a*z + p] U_i[a])^2), and
   separately scipy.linalg.svd(..., lapack_driver='gesdd'); it also checks svr's singular values
   (nodes.csv) against NumPy's;
4. prints a table and rewrites the section between <!-- resnet50:begin --> and
   <!-- resnet50:end --> of docs/benchmarks.md (the rest of the file is kept), next to the
   ratio "svr (1 rank) wall / (NumPy SVD + E)" that the VGG16 section of the same file reports.

Run with Debian's interpreter (it has numpy and scipy):

    /usr/bin/python3 bench/resnet50_vs_numpy.py --ranks 1,2

About a minute per configuration on one core. This is a benchmark, not a test: it never fails
on slow numbers.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (add_comparison_arguments, baseline_compute,  # noqa: E402
                          parse_comparison_args, prepare_comparison,
                          build_tables, compare_sigmas, derived_ratios, fmt_mb, fmt_r, fmt_s,
                          log, machine_info, make_random_model, parameter_count,
                          plan_first_line, print_ratios, ratio, ratio_table,
                          read_safetensors_header, run_baseline_repeats, run_svr_repeats,
                          safetensors_tensors,
                          sha256_seconds, versions, write_markdown)

BEGIN = "<!-- resnet50:begin -->"
END = "<!-- resnet50:end -->"
VGG16_BEGIN = "<!-- vgg16:begin -->"
VGG16_END = "<!-- vgg16:end -->"


# --------------------------------------------------------------------------------------------
# step 3: the NumPy/SciPy baseline (runs in a subprocess with one BLAS thread)


def baseline_worker(model, summary_path, result_path, sigma_path):
    """Loads svr's layers (summary.json: names, folded BatchNorm) as float64 matrices with the
    BatchNorm folded (row o scaled by gamma[o] / sqrt(running_var[o] + eps), spec section 1),
    then baseline_compute: NumPy gesdd of every matrix, E of every pair of the summary, SciPy
    gesdd of every matrix."""
    import numpy as np

    with open(summary_path) as f:
        summary = json.load(f)
    opts = summary.get("options", {})
    fold = opts.get("batchnorm", "fold") == "fold"
    eps = float(opts.get("bn_eps", 1e-5))
    tensor, _ = safetensors_tensors(model)

    t = time.perf_counter()
    names, mats = [], []
    for layer in summary["layers"]:
        if layer.get("groups", 1) != 1:
            raise SystemExit(f"{layer['name']}: grouped convolution, not in this baseline")
        w = tensor(layer["name"])
        M = w.reshape(w.shape[0], -1)  # out x (in*kh*kw), column a*z + p (spec section 1)
        if fold and layer.get("folded_bn"):
            bn = layer["folded_bn"]
            M = M * (tensor(bn + ".weight") / np.sqrt(tensor(bn + ".running_var") + eps))[:, None]
        names.append(layer["name"])
        mats.append(np.ascontiguousarray(M))
    t_load = time.perf_counter() - t

    pairs = []
    for p in summary["pairs"]:
        if p["map"] not in ("direct", "add") or p["channels_read"] != p["c"]:
            raise SystemExit(f"pair {p['from_name']} -> {p['to_name']}: map {p['map']} reading "
                             f"{p['channels_read']} of {p['c']} channels needs the channel map of "
                             "spec section 7, which this baseline does not implement")
        pairs.append((p["from_layer"], p["to_layer"], p["c"], p["z"]))
    baseline_compute(names, mats, pairs, t_load, result_path, sigma_path)


# --------------------------------------------------------------------------------------------
# step 4: report


def vgg16_ratio(path):
    """From the VGG16 section of path: its "svr (1 rank) wall / (NumPy SVD + E)" (ratio), date,
    NumPy SVD seconds (np_svd), tested edges (edges) and the share of svr's 1-rank wall time
    after the svd and edges phases (beyond_pct); None without the section or the ratio."""
    try:
        text = open(path).read()
    except OSError:
        return None
    if VGG16_BEGIN not in text or VGG16_END not in text:
        return None
    section = text[text.index(VGG16_BEGIN):text.index(VGG16_END)]
    m = re.search(r"\| svr \(1 rank\) wall / \(NumPy SVD \+ E\) \| ([0-9.]+) \|", section)
    if not m:
        return None
    d = re.search(r"Written by `bench/vgg16_vs_numpy.py` on ([^.]+?)\. ", section)
    out = {"ratio": float(m.group(1)), "date": d.group(1) if d else "an earlier run",
           "np_svd": None, "edges": None, "beyond_pct": None}
    e = re.search(r"every one of the ([0-9,]+) tested edges", section)
    if e:
        out["edges"] = int(e.group(1).replace(",", ""))
    cols = None
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "configuration":
            cols = cells
        elif cols and cells and len(cells) == len(cols):
            row = dict(zip(cols, cells))
            try:
                if cells[0] == "svr, 1 rank":
                    wall = float(row["wall (s)"])
                    out["beyond_pct"] = 100.0 * (wall - float(row["svd (s)"])
                                                 - float(row["edges (s)"])) / wall
                elif cells[0].startswith("NumPy"):
                    out["np_svd"] = float(row["svd (s)"])
            except (KeyError, ValueError):
                pass
    return out


def memory_parts(summary):
    """MiB in double precision of every layer's matrix, of every layer's U, s, V, and of the E
    of every pair, from summary.json."""
    mib = 8.0 / 2**20
    mats = sum(x["matrix_shape"][0] * x["matrix_shape"][1] for x in summary["layers"])
    facs = sum((x["matrix_shape"][0] + x["matrix_shape"][1] + 1) * x["rank"]
               for x in summary["layers"])
    edges = sum(p["edges_tested"] for p in summary["pairs"])
    return {"matrices": mats * mib, "factors": facs * mib, "E": edges * mib}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        prog="resnet50_vs_numpy.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Time svr on torchvision's ResNet-50 (random weights from "
                    "tests/data/families/random_weights.py, seed 0; 54 weight layers, 109 pairs, "
                    "25.6M parameters) at several MPI rank counts, and in the same run a plain "
                    "NumPy/SciPy baseline (gesdd of the same 54 matrices, NumPy edge matrices E "
                    "of the pairs svr tested), one BLAS thread per process. Prints a table and "
                    "rewrites the ResNet-50 section of docs/benchmarks.md.",
        epilog="Example: /usr/bin/python3 bench/resnet50_vs_numpy.py --ranks 1,2 --repeat 1\n"
               "Needs numpy, scipy (Debian's /usr/bin/python3), mpiexec, and optionally "
               "/usr/bin/time (per-rank peak memory). About a minute per configuration. "
               "Not a test.")
    add_comparison_arguments(ap, "/tmp/svr-bench-resnet50", "resnet50.safetensors", BEGIN, END,
                             "; its VGG16 section gives the reference ratio")
    return parse_comparison_args(ap, argv)


def main(argv=None):
    a = parse_args(argv)
    if a.baseline_worker:
        baseline_worker(a.baseline_worker, a.baseline_summary, a.baseline_result,
                        a.baseline_sigma)
        return 0

    svr, workdir, mpiexec = prepare_comparison(a)

    model = os.path.join(workdir, "resnet50.safetensors")
    if os.path.exists(model):
        log(f"reusing {model}")
    else:
        log(f"random_weights.py: torchvision resnet50, seed 0, random weights -> {model}")
        make_random_model(a.python, "resnet50", model)
    plan = plan_first_line(svr, model)
    log(f"svr --plan: {plan}")
    if "torchvision ResNet" not in plan:
        raise SystemExit("svr did not recognise the torchvision ResNet family from the names")
    header, _ = read_safetensors_header(model)
    n_params = parameter_count(header)
    log(f"{n_params / 1e6:.2f}M parameters, {os.path.getsize(model) / 2**20:.0f} MiB file")

    svr_runs, all_walls = run_svr_repeats(svr, model, workdir, a.rank_list, a.repeat, mpiexec)
    r_first = svr_runs[min(svr_runs)]
    summary_path = os.path.join(r_first["outdir"], "summary.json")
    with open(summary_path) as f:
        summary = json.load(f)
    layers = [x["name"] for x in summary["layers"]]
    pairs = summary["pairs"]
    base, base_walls = run_baseline_repeats(__file__, model, workdir, a.python, a.repeat,
                                            "baseline-sigma.npz",
                                            ["--baseline-summary", summary_path])
    sha_s = sha256_seconds(model)  # reference for svr's checksum phase

    sigma_err = {R: compare_sigmas(r["outdir"], base["sigma_path"], layers)
                 for R, r in svr_runs.items()}
    md, txt, lay, phase_names, d = build_tables(svr_runs, base, layers)
    r1, ratios, effs, part, bound = derived_ratios(svr_runs, base, layers, d)
    R1 = r1["ranks"]
    print_ratios(txt, ratios, effs, part, d, bound, sigma_err, R1)
    vgg = vgg16_ratio(a.out)
    ours = ratio(r1["wall_s"], d["np_total"])
    verdict = None
    if vgg and ours is not None:
        verdict = round(ours, 2) <= vgg["ratio"]
        print(f"ResNet-50 svr ({R1} rank) wall / (NumPy SVD + E) = {fmt_r(ours)}, VGG16's "
              f"({vgg['date']}) = {vgg['ratio']:.2f}: "
              + ("at or below" if verdict else "ABOVE"))

    if a.no_write:
        return 0

    # ------------------------------------------------------------------ markdown section
    mi = machine_info()
    vers = versions(svr, mpiexec, a.python, torch=False)
    vers["numpy"] = base["numpy_version"]
    vers["scipy"] = base.get("scipy_version", "n/a")
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    repro = ["/usr/bin/python3", "bench/resnet50_vs_numpy.py", "--ranks", a.ranks,
             "--repeat", str(a.repeat)]
    if a.workdir != "/tmp/svr-bench-resnet50":
        repro += ["--workdir", a.workdir]
    repro_s = " ".join(shlex.quote(x) for x in repro)
    kinds = {}
    for p in pairs:
        kinds[p["map"]] = kinds.get(p["map"], 0) + 1
    n_conv = sum(1 for x in summary["layers"] if x["kind"].startswith("conv"))
    n_lin = len(layers) - n_conv
    tested = r1["edges_tested"]
    costliest = sorted(zip(layers, base["matrix_shapes"]),
                       key=lambda nm: -base["numpy_svd_s"][nm[0]])[:3]
    z_counts = {}
    for p in pairs:
        z_counts[p["z"]] = z_counts.get(p["z"], 0) + 1

    S = []
    S.append("## ResNet-50: svr against NumPy/SciPy\n")
    S.append(f"Written by `bench/resnet50_vs_numpy.py` on {today}. Reproduce with:\n")
    S.append(f"    {repro_s}\n")
    S.append(f"- **Machine**: {mi['nproc']} cores ({mi['cpu']}), "
             f"{mi['mem_gb']:.0f} GiB memory, Linux {mi['kernel']}; a shared, noisy machine.")
    S.append("- **Versions**: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".")
    S.append(f"- **Model**: torchvision's ResNet-50 with random weights, made without torch by "
             "`tests/data/families/random_weights.py tests/data/families resnet50 OUT` (NumPy, "
             "seed 0, torchvision's initialisation laws: convolutions normal with std "
             "sqrt(2 / fan_out), fc uniform(±1/sqrt(2048)), BatchNorm weight 1, running "
             f"variance 1; {n_params / 1e6:.1f}M parameters, F32, "
             f"{os.path.getsize(model) / 2**20:.0f} MiB safetensors with the state_dict's names). "
             f"svr recognises the family from the names alone (`svr MODEL --plan`: \"{plan}\"): "
             f"{n_conv} conv + {n_lin} linear layer{'s' if n_lin != 1 else ''}, folding the "
             f"BatchNorm that follows each convolution; {len(pairs)} pairs ("
             + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + "): a block's "
             "first convolution, its downsample and fc read every summand of the residual "
             "stream they follow (spec §7), "
             + ", ".join(f"{v} pairs with z = {k}" for k, v in sorted(z_counts.items()))
             + f"; {tested:,} tested edges. The costliest SVDs are "
             + ", ".join(f"{n.replace('.weight', '')} ({r} x {c})" for n, (r, c) in costliest)
             + ".")
    S.append("- **Settings**: every process uses one BLAS thread (`OPENBLAS_NUM_THREADS=1`, "
             "`OMP_NUM_THREADS=1`). svr is run as "
             f"`{r1['command']}` (default options: BH at 0.05, BN folding, method svr, "
             "plots on). The baseline is one Python process that loads the same "
             f"{len(layers)} matrices as float64 (conv out x (in*kh*kw)) with the BatchNorm "
             "folded as svr does, then times `numpy.linalg.svd(M, full_matrices=False)` on "
             f"each, the {len(pairs)} edge matrices E in NumPy for the pairs of svr's "
             "summary.json (every ResNet pair is a direct or residual-add map reading all of "
             "its producer's channels, so spec §7 is the chain formula of §3 per pair: one "
             "GEMM per kernel position, squared and summed), and "
             "`scipy.linalg.svd(M, full_matrices=False, lapack_driver='gesdd')` on each. "
             "NumPy, SciPy and svr all call the same OpenBLAS LAPACK `dgesdd`."
             + (f" Best of {a.repeat} runs." if a.repeat > 1 else " One run of each."))
    S.append("")
    S.append("Columns as in the VGG16 section: seconds per phase (`run.seconds_per_phase` of "
             "summary.json), wall clock of the whole `mpiexec` command, peak resident memory "
             "per rank (`/usr/bin/time -v`), \"other\" = wall − sum of phases (MPI start-up "
             "and writing summary.json, which svr does not time), and the 1-minute load "
             "average during the configuration.\n")
    S.extend(md)
    S.append("")
    S.extend(ratio_table(ratios, effs, part, bound, R1))
    if vgg:
        S.append(f"| VGG16's svr (1 rank) wall / (NumPy SVD + E), from the VGG16 section "
                 f"({vgg['date']}) | {vgg['ratio']:.2f} |")
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
    wall1 = r1["wall_s"]
    share = lambda k: 100.0 * ph1.get(k, 0.0) / wall1  # noqa: E731
    r1_svd = ph1.get("svd")
    svd_ratio = ratio(r1_svd, d["np_svd"])
    base_busy = bool(base.get("load")) and base["load"]["mean"] > 1.5
    r1_busy = bool(r1.get("load")) and r1["load"]["mean"] > R1 + 0.5
    beyond = wall1 - (ph1.get("svd", 0.0) + ph1.get("edges", 0.0))
    mem = memory_parts(summary)
    big_pair = max(pairs, key=lambda p: p["edges_tested"])
    layer4 = sum(v for k, v in base["numpy_svd_s"].items() if k.startswith("layer4.")) + \
        sum(v for k, v in base["numpy_svd_s"].items() if k.startswith("fc."))
    para = [
        "**What the numbers mean.** ",
        f"With one rank, svr spends {share('svd'):.0f}% of its wall time in the `svd` phase "
        f"({fmt_s(r1_svd)} s: reading each layer's bytes, widening to double, folding the "
        f"BatchNorm and LAPACK `dgesdd` on the {len(layers)} matrices), "
        f"against {fmt_s(d['np_svd'])} s for NumPy's gesdd of the same matrices"
        + (f" (ratio {fmt_r(svd_ratio)}, uncertain: "
           + ("the baseline" if base_busy else f"svr with {R1} rank") + " ran while the "
           "machine's load average was above its own process count)" if base_busy or r1_busy
           else f" (ratio {fmt_r(svd_ratio)})")
        + (f" and {fmt_s(d['sp_svd'])} s for SciPy's" if d.get("sp_svd") else "") + ". "
        "All three call the same OpenBLAS `dgesdd`, but svr factors a wide matrix as its "
        "transpose, which takes OpenBLAS's faster QR path (src/linalg/svd.cpp), while NumPy's "
        "wrapper hands LAPACK the wide matrix itself (SciPy's time, unlike svr's phase, has no "
        "reading or folding in it); most ResNet-50 matrices are wide "
        f"({sum(1 for r, c in base['matrix_shapes'] if r < c)} of {len(layers)}). "
        "No matrix dominates as classifier.0 does in VGG16: the costliest, "
        f"{d['biggest'].replace('.weight', '')}, is "
        f"{100.0 * d['biggest_s'] / d['np_svd']:.0f}% of NumPy's SVD time, layer4 and fc "
        f"together {100.0 * layer4 / d['np_svd']:.0f}%. ",
        f"`edges` ({fmt_s(ph1.get('edges'))} s, NumPy {fmt_s(d['np_edges'])} s) is the "
        f"{len(pairs)} E matrices: the residual stream gives ResNet-50 "
        f"{len(pairs) / len(layers):.1f} pairs per layer, but they are small (the largest, "
        f"{big_pair['to_name'].replace('.weight', '')} ← "
        f"{big_pair['from_name'].replace('.weight', '')}, is {big_pair['edges_tested']:,} "
        "entries). ",
        f"The ratio of svr's whole run to NumPy's SVD + E is {fmt_r(ours)}"
        + (f" ({'at or below' if verdict else 'above'} VGG16's {vgg['ratio']:.2f})"
           if vgg else "") + ". "
        "NumPy's baseline stops after E, while svr goes on to test and report every edge: "
        f"{fmt_s(beyond)} s ({100.0 * beyond / wall1:.0f}% of its wall time) go to "
        f"`significance` ({fmt_s(ph1.get('significance'))} s for {tested:,} tested edges: one "
        "pass over each E against its pair's alpha-quantile of the null, the correction's "
        "fixed-point level and the exact p (Boost's incomplete beta function in long double) "
        "of only the edges at or below it (docs/algorithms.md, \"Exact p-values only where "
        "they matter\"), the BH correction, the measures, the "
        "report's heatmaps and the path metric), `checksum` "
        f"({fmt_s(ph1.get('checksum'))} s, svr's SHA-256 of the model file with the CPU's "
        "SHA extensions"
        + (f"; coreutils `sha256sum` {fmt_s(sha_s)} s" if sha_s else "")
        + f"), `write` ({fmt_s(ph1.get('write'))} s: CSV, GraphML, SVG and HTML) and "
        f"\"other\" ({fmt_s(wall1 - tot1)} s: MPI start-up and summary.json). That work "
        "grows with the number of edges and the size of the file, not with the cost of the "
        "SVD"
        + (f": VGG16 has {vgg['edges'] / max(tested, 1):.1f}x as many edges but "
           f"{vgg['np_svd'] / d['np_svd']:.0f}x NumPy's SVD time, so there the same work is "
           f"{vgg['beyond_pct']:.0f}% of svr's run" if vgg and vgg.get("edges")
           and vgg.get("np_svd") and vgg.get("beyond_pct") is not None else "")
        + ". Both used to cost more: before svr computed exact p-values only where the "
        "correction needs them and hashed with the SHA extensions, the same run spent 2.44 s "
        "in `significance` (the exact p of every edge with p <= alpha, 5% of all edges under "
        "the null) and 0.43 s in `checksum`, and the ratio was 1.21. ",
    ]
    if effs:
        R, sp, eff, sp_svd = effs[0]
        rR = svr_runs[R]
        per = part[R]["per_rank_s"]
        para.append(
            f"With {R} ranks svr distributes whole layers (largest cost first, each to the "
            "least loaded rank) and each pair's E and tests to a rank holding one of its "
            f"factors. With {len(layers)} layers of similar size the partition balances well: "
            "NumPy's per-layer times give the ranks " + " and ".join(f"{fmt_s(x)} s" for x in per)
            + f" of SVD, an svd-phase speed-up of at most {fmt_r(part[R]['bound'])} "
            f"(measured {fmt_r(sp_svd)}). The wall clock speeds up {fmt_r(sp)}x "
            f"({fmt_s(r1['wall_s'])} → {fmt_s(rR['wall_s'])} s, parallel efficiency "
            f"{fmt_r(eff)}): the BH correction, the chains, the checksum and "
            "the outputs run on rank 0 alone, MPI start-up does not shrink, and on this "
            f"{mi['nproc']}-core machine {R} ranks leave no core for anything else (the "
            "waiting rank busy-polls). ")
    para.append(
        f"Peak memory ({fmt_mb(r1['maxrss_mb_per_rank'].get('0') or r1['peak_memory_mb'])} MiB "
        f"at one rank) is close to the singular vectors U and V of every layer "
        f"({mem['factors']:.0f} MiB in double) plus the E of every pair ({mem['E']:.0f} MiB), "
        f"which coexist at the end of the edges phase; the matrices themselves "
        f"({mem['matrices']:.0f} MiB in double) are factored one at a time. ")
    spread = ""
    if a.repeat > 1:
        spread = " Run-to-run spread of the wall clock over the " + str(a.repeat) + " runs: " + \
            ", ".join(f"{R} rank{'s' if R > 1 else ''} {fmt_s(min(w))}–{fmt_s(max(w))} s"
                      for R, w in sorted(all_walls.items())) + \
            f", baseline {fmt_s(min(base_walls))}–{fmt_s(max(base_walls))} s."
    para.append(
        f"Caveats: this is a {mi['nproc']}-core shared virtual machine with noisy timings, "
        + (f"the numbers are the fastest of {a.repeat} runs." if a.repeat > 1 else
           "every number above comes from a single run, so ratios near 1 are within noise.")
        + spread + " Read them as orders of magnitude, not as a performance claim.")
    with open(os.path.join(workdir, "results.json"), "w") as f:
        json.dump({"svr": {str(R): r for R, r in svr_runs.items()}, "baseline": base,
                   "ratios": ratios, "vgg16": vgg, "machine": mi, "versions": vers}, f,
                  indent=1)
    S.append("".join(para))
    write_markdown(os.path.abspath(a.out), "\n".join(S) + "\n", BEGIN, END)
    log(f"wrote section {BEGIN} ... {END} of {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
