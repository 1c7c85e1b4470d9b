#!/usr/bin/env python3
"""Benchmark svr on transformer-shaped random models against a plain NumPy baseline.

Two shapes of issue 14, made by tests/e2e/make_transformer_models.py (random N(0, 1/in) F32
weights in the Hugging Face layouts, with config.json):

  gpt2-small   GPT-2's layout, 12 blocks, width 768, MLP 3072, 12 heads, vocabulary 50257
               (wpe 1024 x 768 is not a layer): 73 layers (c_attn as Q, K, V)
  llama-wide   Llama's layout, 2 blocks, width 4096, MLP 11008, 32 heads, vocabulary 32000,
               with lm_head: 16 layers, of them 6 of 4096 x 11008 and two of 4096 x 32000

For each shape, in one run: `svr MODEL --plan` must recognise the family; svr runs at every
rank count of --ranks (mpiexec --oversubscribe, one BLAS thread per rank), timed, with the peak
memory of each rank (/usr/bin/time -v and summary.json); then the baseline, in a subprocess
with one BLAS thread: the same matrices built from the stored tensors with NumPy alone (GPT-2's
Conv1D and the embeddings transposed, c_attn's columns split, each norm weight multiplied into
its readers' columns), numpy.linalg.svd (LAPACK gesdd) of each, and the E of every pair svr
tested (all direct or add maps with z = 1: the chain formula). The singular values are checked
against svr's. Prints a table, writes WORKDIR/transformers.json, and rewrites the section
between <!-- transformers:begin --> and <!-- transformers:end --> of docs/benchmarks.md.

    /usr/bin/python3 bench/transformers.py --shapes gpt2-small,llama-wide --ranks 1,2

gpt2-small takes about 2 minutes per configuration on one core, llama-wide about 15. Not a test.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (REPO, add_launch_arguments, build_svr, compare_sigmas,  # noqa: E402
                          fmt_mb, log, machine_info, parse_rank_list, plan_first_line,
                          read_safetensors_header, run_baseline, run_svr, safetensors_tensors,
                          write_markdown)

BEGIN = "<!-- transformers:begin -->"
END = "<!-- transformers:end -->"
GENERATOR = os.path.join(REPO, "tests", "e2e", "make_transformer_models.py")
SHAPES = {
    "gpt2-small": {"family": "gpt2", "blocks": 12, "width": 768, "inner": 3072, "heads": 12,
                   "vocab": 50257, "plan": "Hugging Face GPT-2"},
    "llama-wide": {"family": "llama", "blocks": 2, "width": 4096, "inner": 11008, "heads": 32,
                   "vocab": 32000, "plan": "Hugging Face Llama/Mistral"},
}
CONV1D = (".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight")
EMBEDDINGS = ("wte.weight", "model.embed_tokens.weight")


def layer_matrix(tensor, name):
    """svr's matrix of layer `name`, from the stored tensors with NumPy alone."""
    for k, part in enumerate("qkv"):
        if name.endswith(".c_attn.%s.weight" % part):
            w = tensor(name[:-len(".x.weight")] + ".weight")  # (in, 3 width)
            width = w.shape[1] // 3
            return w[:, k * width:(k + 1) * width].T
    w = tensor(name)
    if name.endswith(CONV1D) or name in EMBEDDINGS:
        return w.T
    return w.reshape(w.shape[0], -1)


def baseline_worker(model, summary_path, result_path, sigma_path):
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_common import baseline_compute

    with open(summary_path) as f:
        summary = json.load(f)
    tensor, _ = safetensors_tensors(model)
    t = time.perf_counter()
    names, mats = [], []
    for layer in summary["layers"]:
        M = layer_matrix(tensor, layer["name"])
        if layer.get("folded_input_scale"):
            M = M * tensor(layer["folded_input_scale"])[None, :]
        names.append(layer["name"])
        mats.append(np.ascontiguousarray(M))
    t_load = time.perf_counter() - t
    pairs = []
    for p in summary["pairs"]:
        if p["map"] not in ("direct", "add") or p["channels_read"] != p["c"] or p["z"] != 1:
            raise SystemExit(f"pair {p['from_name']} -> {p['to_name']}: not a direct or add map "
                             "with z = 1")
        pairs.append((p["from_layer"], p["to_layer"], p["c"], p["z"]))
    baseline_compute(names, mats, pairs, t_load, result_path, sigma_path, scipy_too=False)


def make_model(python, shape, directory):
    model = os.path.join(directory, "model.safetensors")
    if os.path.exists(model):
        log(f"reusing {model}")
        return model
    s = SHAPES[shape]
    log(f"make_transformer_models.py {s['family']} ({shape}) -> {directory}")
    subprocess.run([python, GENERATOR, s["family"], directory, "--no-twin",
                    "--width", str(s["width"]), "--inner", str(s["inner"]), "--vocab",
                    str(s["vocab"]), "--blocks", str(s["blocks"]), "--heads", str(s["heads"])],
                   check=True)
    return model


def measure(a, svr, mpiexec, shape, workdir):
    directory = os.path.join(workdir, shape)
    model = make_model(a.python, shape, directory)
    plan = plan_first_line(svr, model)
    log(f"svr --plan: {plan}")
    if SHAPES[shape]["plan"] not in plan:
        raise SystemExit(f"svr did not recognise {SHAPES[shape]['plan']} in {model}")
    header, _ = read_safetensors_header(model)
    params = sum(int(__import__("math").prod(h["shape"])) for k, h in header.items()
                 if k != "__metadata__")
    runs = {}
    for R in a.rank_list:
        log(f"{shape}: svr with {R} rank(s) ...")
        runs[R] = run_svr(svr, model, directory, R, mpiexec)
        log(f"  wall {runs[R]['wall_s']:.1f} s, phases " +
            ", ".join(f"{k} {v:.1f}" for k, v in runs[R]["phases"].items()))
    first = runs[min(runs)]
    log(f"{shape}: NumPy baseline (one BLAS thread) ...")
    base = run_baseline(__file__, model, directory, a.python, "sigma.npz",
                        ["--baseline-summary", os.path.join(first["outdir"], "summary.json")])
    with open(os.path.join(first["outdir"], "summary.json")) as f:
        summary = json.load(f)
    sigma_err = compare_sigmas(first["outdir"], base["sigma_path"],
                               [x["name"] for x in summary["layers"]])
    return {"shape": shape, "params": params, "layers": len(summary["layers"]),
            "pairs": len(summary["pairs"]), "plan": plan, "runs": runs, "baseline": base,
            "sigma_err": sigma_err}


def table(results):
    rows = ["| shape | configuration | wall (s) | svd (s) | edges (s) | peak per rank (MiB) | "
            "wall / NumPy (SVD + E) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        base = r["baseline"]
        np_svd = sum(base["numpy_svd_s"].values())
        np_total = np_svd + base["edges_s"]
        for R, run in sorted(r["runs"].items()):
            peaks = run.get("maxrss_mb_per_rank") or {}
            peak = ", ".join(fmt_mb(peaks[k]) for k in sorted(peaks)) or \
                fmt_mb(run.get("peak_memory_mb"))
            rows.append(f"| {r['shape']} | svr, {R} rank{'s' if R > 1 else ''} | "
                        f"{run['wall_s']:.1f} | {run['phases'].get('svd', 0):.1f} | "
                        f"{run['phases'].get('edges', 0):.1f} | {peak} | "
                        f"{run['wall_s'] / np_total:.2f} |")
        rows.append(f"| {r['shape']} | NumPy gesdd + E, 1 thread | {base['wall_s']:.1f} | "
                    f"{np_svd:.1f} | {base['edges_s']:.1f} | {fmt_mb(base.get('maxrss_mb'))} | "
                    "1 |")
    return "\n".join(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--svr", default=os.path.join(REPO, "build", "svr"))
    ap.add_argument("--workdir", default="/tmp/svr-bench-transformers",
                    help="the models (reused when present) and outputs (default: %(default)s)")
    ap.add_argument("--shapes", default="gpt2-small,llama-wide",
                    help="comma list of " + ", ".join(SHAPES) + " (default: %(default)s)")
    ap.add_argument("--ranks", default="1,2", help="MPI rank counts (default: %(default)s)")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "benchmarks.md"))
    ap.add_argument("--no-write", action="store_true", help="do not touch --out")
    ap.add_argument("--skip-build", action="store_true")
    add_launch_arguments(ap)
    a = ap.parse_args(argv)
    if a.baseline_worker:
        baseline_worker(a.baseline_worker, a.baseline_summary, a.baseline_result,
                        a.baseline_sigma)
        return 0
    a.rank_list = parse_rank_list(ap, a.ranks)
    shapes = [s for s in a.shapes.split(",") if s]
    for s in shapes:
        if s not in SHAPES:
            ap.error(f"unknown shape {s!r}: one of {', '.join(SHAPES)}")
    svr = build_svr(a.svr, a.skip_build)
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    import shutil
    mpiexec = shutil.which(a.mpiexec) or a.mpiexec
    results = [measure(a, svr, mpiexec, s, workdir) for s in shapes]
    text = table(results)
    print(text)
    with open(os.path.join(workdir, "transformers.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    m = machine_info()
    notes = "\n".join(
        f"- {r['shape']}: {r['params'] / 1e6:.0f}M parameters, {r['layers']} layers, "
        f"{r['pairs']} pairs; singular values within {r['sigma_err']:.1e} s_max of NumPy's."
        for r in results)
    section = ("## Transformers: GPT-2-small and Llama-shaped random models against NumPy\n\n"
               f"Written by `bench/transformers.py` on {datetime.date.today()}. One run on "
               f"{m['nproc']} cores ({m['cpu']}); svr with one BLAS thread per rank, the NumPy "
               "baseline (gesdd of the same matrices and E of the same pairs) with one thread. "
               "Peak: each rank's maximum resident set. Reproduce: `/usr/bin/python3 "
               f"bench/transformers.py --shapes {a.shapes} --ranks {a.ranks}`.\n\n" + text + "\n\n" + notes + "\n")
    if not a.no_write:
        write_markdown(a.out, section, BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
