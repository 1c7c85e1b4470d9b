#!/usr/bin/env python3
"""Pairs and tested edges of svr per architecture family.

For every torchvision architecture of tests/data/families (ARCH.tensors.json: the state_dict's
names, shapes and dtypes) and the three graph examples of examples/ (digits_resnet_bn,
digits_mobilenet, digits_densenet), in one run:

1. makes the model with random weights WITHOUT torch:
   `tests/data/families/random_weights.py tests/data/families ARCH WORKDIR/ARCH.safetensors`
   (NumPy, seed 0, torchvision's initialisation laws; reused when present); the examples are
   used as they are (trained weights) with their topology file;
2. runs `mpiexec -n R --oversubscribe SVR MODEL -o WORKDIR/out-ARCH-R --force --quiet` (default
   R = 2, OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1 per rank), one model at a time, and reads
   summary.json: layers, pairs and their channel maps (direct, add, concat, split, permute),
   tested edges (sum of pairs[*].edges_tested), significant edges, the wall clock and the peak
   memory; a model svr does not finish within --timeout seconds is stopped and its counts come
   from `svr MODEL --plan` instead (the pairs exactly; as tested edges the sum of the E sizes,
   an upper bound for grouped or sliced pairs), which the table says;
3. prints the table and rewrites the section between <!-- families:begin --> and
   <!-- families:end --> of docs/benchmarks.md (the rest of the file is kept).

    /usr/bin/python3 bench/families_table.py

The largest models (vgg16_bn's classifier.0 is 4096 x 25088, resnet152 has 916 pairs) take
minutes each; the whole table takes about a quarter of an hour on two cores. This is a
benchmark, not a test: it never fails on slow numbers.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (FAMILIES, REPO, SvrTimeout, build_svr, first_line, fmt_mb,  # noqa: E402
                          fmt_s, log, machine_info, make_random_model, parameter_count,
                          read_safetensors_header, rel, run_svr, svr_plan, write_markdown)

BEGIN = "<!-- families:begin -->"
END = "<!-- families:end -->"
MAPS = ("direct", "add", "concat", "split", "permute")
ORDER = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
         "wide_resnet50_2", "densenet121", "mobilenet_v2", "mobilenet_v3_small",
         "mobilenet_v3_large", "efficientnet_b0", "vgg16_bn", "inception_v3"]
EXAMPLES = ["digits_resnet_bn", "digits_mobilenet", "digits_densenet"]


def architectures():
    """The architectures of tests/data/families: ORDER first, then any other in name order."""
    found = sorted(n[:-len(".tensors.json")] for n in os.listdir(FAMILIES)
                   if n.endswith(".tensors.json"))
    return [a for a in ORDER if a in found] + [a for a in found if a not in ORDER]


def counts_from_summary(outdir):
    with open(os.path.join(outdir, "summary.json")) as f:
        s = json.load(f)
    maps = {}
    for p in s["pairs"]:
        maps[p["map"]] = maps.get(p["map"], 0) + 1
    return {
        "layers": len(s["layers"]),
        "grouped": sum(1 for x in s["layers"] if x.get("groups", 1) > 1),
        "pairs": len(s["pairs"]),
        "maps": maps,
        "edges_tested": sum(p["edges_tested"] for p in s["pairs"]),
        "significant": sum(p["significant"] for p in s["pairs"]),
        "untestable_pairs": sum(1 for p in s["pairs"] if p["null"]["kind"] == "untestable"),
        "source": "run",
    }


def counts_from_plan(lines):
    """Counts from `svr --plan`: the network line gives layers, pairs and maps; the pair lines
    give E's shape (rows x cols), whose sum bounds the tested edges from above."""
    head = lines[0]
    m = re.search(r"(\d+) layers, (\d+) pairs \(([^)]*)\)", head)
    if not m:
        raise SystemExit(f"cannot read the plan's network line: {head}")
    maps = {}
    for part in m.group(3).split(","):
        k, v = part.strip().rsplit(" ", 1)
        maps[k] = int(v)
    entries = 0
    for line in lines:
        e = re.search(r"^\s+pair \d+/\d+ .* E (\d+)x(\d+) ", line)
        if e:
            entries += int(e.group(1)) * int(e.group(2))
    return {"layers": int(m.group(1)), "pairs": int(m.group(2)), "maps": maps,
            "edges_tested": entries, "significant": None, "grouped": None,
            "untestable_pairs": None, "source": "plan"}


def network_kind(head):
    """'torchvision ResNet, recognised from the names' -> 'torchvision ResNet (names)'."""
    m = re.match(r"network: (.*?); \d+ layers", head)
    text = m.group(1) if m else head
    text = text.replace(", recognised from the names", " (from the names)")
    return shown_network(text)


def shown_network(text):
    """The network column: a topology file's path relative to the repository, as code."""
    m = re.match(r"(.*?)the topology file ([^`]*)$", text)
    if m:
        text = m.group(1) + "the topology file `" + rel(m.group(2)) + "`"
    return text


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        prog="families_table.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Count the pairs (by channel map) and the tested edges svr finds in every "
                    "torchvision architecture of tests/data/families (random weights from "
                    "random_weights.py) and in the three graph examples of examples/, from a "
                    "real svr run each; prints the table and rewrites the families section of "
                    "docs/benchmarks.md.",
        epilog="Example: /usr/bin/python3 bench/families_table.py --ranks 2\n"
               "Needs numpy (Debian's /usr/bin/python3), mpiexec, and optionally /usr/bin/time. "
               "About a quarter of an hour on two cores. Not a test.")
    ap.add_argument("--svr", default=os.path.join(REPO, "build", "svr"), metavar="PATH",
                    help="svr binary (default: build/svr of this repository)")
    ap.add_argument("--workdir", default="/tmp/svr-bench-families", metavar="DIR",
                    help="models and svr outputs; models are reused if present "
                         "(default: %(default)s)")
    ap.add_argument("--ranks", type=int, default=2, metavar="R",
                    help="MPI ranks of every svr run (default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=600.0, metavar="S",
                    help="stop a run after S seconds and take that model's counts from "
                         "`svr --plan` (default: %(default)s)")
    ap.add_argument("--only", metavar="A,B,...",
                    help="comma list of architectures or examples to run (default: all); "
                         "with --out, the others keep no row")
    ap.add_argument("--plan-only", action="store_true",
                    help="take every count from `svr --plan`, run nothing")
    ap.add_argument("--reuse-results", action="store_true",
                    help="run nothing: rewrite the table from WORKDIR/families.json, which the "
                         "last run wrote")
    ap.add_argument("--keep-outputs", action="store_true",
                    help="keep every svr output directory (default: removed once read)")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "benchmarks.md"), metavar="FILE",
                    help="markdown file whose section between '%s' and '%s' is rewritten "
                         "(default: docs/benchmarks.md)" % (BEGIN, END))
    ap.add_argument("--no-write", action="store_true",
                    help="only print the table, do not touch --out")
    ap.add_argument("--skip-build", action="store_true",
                    help="do not run 'cmake --build' on svr's build directory first")
    ap.add_argument("--mpiexec", default="mpiexec", metavar="PATH",
                    help="MPI launcher (default: %(default)s)")
    ap.add_argument("--python", default=sys.executable, metavar="PATH",
                    help="interpreter for random_weights.py (default: %(default)s)")
    a = ap.parse_args(argv)
    if a.ranks < 1:
        ap.error("--ranks must be >= 1")
    return a


def main(argv=None):
    a = parse_args(argv)
    svr = build_svr(a.svr, a.skip_build)
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    mpiexec = shutil.which(a.mpiexec) or a.mpiexec

    models = [(arch, "family") for arch in architectures()] + [(e, "example") for e in EXAMPLES]
    if a.only:
        wanted = [x.strip() for x in a.only.split(",") if x.strip()]
        unknown = [x for x in wanted if x not in [m for m, _ in models]]
        if unknown:
            raise SystemExit(f"--only: unknown model(s) {', '.join(unknown)}")
        models = [(m, k) for m, k in models if m in wanted]

    results_path = os.path.join(workdir, "families.json")
    rows = []
    measured = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if a.reuse_results:
        with open(results_path) as f:
            saved = json.load(f)
        rows, measured = saved["rows"], saved["measured"]
        log(f"reusing the counts of {results_path} (measured {measured})")
        models = []
    for name, kind in models:
        if kind == "family":
            path = os.path.join(workdir, name + ".safetensors")
            if not os.path.exists(path):
                log(f"random_weights.py {name} -> {path}")
                make_random_model(a.python, name, path)
            extra = []
        else:
            path = os.path.join(REPO, "examples", name + ".safetensors")
            extra = ["--topology", os.path.join(REPO, "examples", name + ".topology.json")]
        header, _ = read_safetensors_header(path)
        plan = svr_plan(svr, path, extra)
        row = {"name": name, "kind": kind, "params": parameter_count(header),
               "network": network_kind(plan[0]), "wall_s": None, "peak_mb": None,
               "note": None}
        counts = None
        if not a.plan_only:
            log(f"{name}: svr with {a.ranks} rank(s) ...")
            try:
                r = run_svr(svr, path, workdir, a.ranks, mpiexec, extra, tag="-" + name,
                            timeout=a.timeout)
            except SvrTimeout as e:
                log(f"  {e}; counts from svr --plan")
                row["note"] = f"stopped after {a.timeout:.0f} s: counts from `svr --plan`"
            else:
                counts = counts_from_summary(r["outdir"])
                row["wall_s"] = r["wall_s"]
                row["peak_mb"] = r["peak_memory_mb"]
                row["command"] = r["command"]
                if not a.keep_outputs:
                    shutil.rmtree(r["outdir"], ignore_errors=True)
                log(f"  wall {r['wall_s']:.1f} s, {counts['pairs']} pairs, "
                    f"{counts['edges_tested']:,} tested edges, {counts['significant']:,} "
                    f"significant, peak {fmt_mb(r['peak_memory_mb'])} MiB")
        if counts is None:
            counts = counts_from_plan(plan)
        row.update(counts)
        rows.append(row)

    if not a.reuse_results:
        with open(results_path, "w") as f:
            json.dump({"measured": measured, "rows": rows}, f, indent=1)

    # ------------------------------------------------------------------ the table
    hdr = ["model", "network (svr --plan)", "layers", "grouped layers", "pairs"] + list(MAPS) + \
        ["tested edges", "significant", "parameters", f"svr wall, {a.ranks} rank"
         + ("s" if a.ranks > 1 else "") + " (s)", "peak memory (MiB)"]
    md = ["| " + " | ".join(hdr) + " |", "|" + " --- |" * len(hdr)]
    for r in rows:
        label = f"`{r['name']}`" + (" (example)" if r["kind"] == "example" else "")
        edges = f"{r['edges_tested']:,}" + (" ≤" if r["source"] == "plan" else "")
        cells = [label, shown_network(r["network"]), str(r["layers"]),
                 "n/a" if r["grouped"] is None else str(r["grouped"]), str(r["pairs"])] + \
            [str(r["maps"].get(k, 0)) for k in MAPS] + \
            [edges, "n/a" if r["significant"] is None else f"{r['significant']:,}",
             f"{r['params'] / 1e6:.2f}M" if r["params"] >= 1e5 else f"{r['params']:,}",
             fmt_s(r["wall_s"]), fmt_mb(r["peak_mb"])]
        md.append("| " + " | ".join(cells) + " |")
    other_maps = sorted({k for r in rows for k in r["maps"] if k not in MAPS})
    print()
    w = max(len(r["name"]) for r in rows)
    print(f"{'model':{w}s} {'layers':>6s} {'pairs':>5s} " +
          " ".join(f"{k:>7s}" for k in MAPS) +
          f" {'tested edges':>13s} {'signif':>7s} {'params':>12s} {'wall s':>7s} {'MiB':>6s}")
    for r in rows:
        print(f"{r['name']:{w}s} {r['layers']:6d} {r['pairs']:5d} " +
              " ".join(f"{r['maps'].get(k, 0):7d}" for k in MAPS) +
              f" {r['edges_tested']:13,d}{'*' if r['source'] == 'plan' else ' '}"
              f"{'n/a' if r['significant'] is None else format(r['significant'], ','):>7s} "
              f"{r['params']:12,d} {fmt_s(r['wall_s']):>7s} {fmt_mb(r['peak_mb']):>6s}")
    if other_maps:
        print("other channel maps: " + ", ".join(other_maps))
    if a.no_write:
        return 0

    # ------------------------------------------------------------------ markdown section
    mi = machine_info()
    svr_v = first_line([svr, "--version"])
    repro = ["/usr/bin/python3", "bench/families_table.py", "--ranks", str(a.ranks)]
    if a.workdir != "/tmp/svr-bench-families":
        repro += ["--workdir", a.workdir]
    if a.plan_only:
        repro.append("--plan-only")
    if a.only:
        repro += ["--only", a.only]
    by = {r["name"]: r for r in rows}
    S = ["## Pairs and tested edges per architecture family\n",
         f"Written by `bench/families_table.py` on {measured}. Reproduce with:\n",
         "    " + " ".join(shlex.quote(x) for x in repro) + "\n",
         f"- **Machine**: {mi['nproc']} cores ({mi['cpu']}), {mi['mem_gb']:.0f} GiB memory; "
         f"a shared, noisy machine. **Versions**: {svr_v}, {first_line([mpiexec, '--version'])}.",
         "- **Models**: every architecture of `tests/data/families` with random weights made "
         "without torch by `tests/data/families/random_weights.py tests/data/families ARCH OUT` "
         "(NumPy, seed 0, torchvision's initialisation laws and state_dict names; svr "
         "recognises each family from the names alone, no `--topology`), and the three graph "
         "examples of `examples/` with their trained weights and their `.topology.json`.",
         f"- **Counts**: from summary.json of a real svr run per model with default options "
         f"(`mpiexec -n {a.ranks} --oversubscribe build/svr MODEL -o OUT --force --quiet`, one "
         "BLAS thread per rank, one model at a time): layers; pairs, by channel map (spec §7); "
         "tested edges = the sum of `pairs[*].edges_tested` (entries of E with a null law: "
         "edges that are exactly 0 because a producer neuron sends nothing to a consumer "
         "neuron's channels, in grouped or sliced pairs, are not tested); significant edges "
         "after BH at 0.05 over the network; parameters = every tensor but BatchNorm's "
         "buffers (torchvision's count). A count marked ≤ comes from `svr --plan` (the run was "
         f"stopped after {a.timeout:.0f} s): the sum of the E sizes, an upper bound.",
         ""]
    S.extend(md)
    S.append("")
    # what the counts mean (from the numbers of this run)
    notes = ["**What the counts mean.** "]
    res = [by[n] for n in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
           if n in by]
    if len(res) >= 2:
        notes.append(
            "In the ResNet family the residual stream makes the pairs grow faster than the "
            "layers: a block's first convolution (and the next downsample and fc) reads every "
            "summand written to the stream since the stage began (spec §7, residual Add), so "
            "a stage of k blocks has about k²/2 add pairs: "
            + ", ".join(f"{r['name']} {r['layers']} layers / {r['pairs']} pairs"
                        for r in res) + ". ")
    if "resnext50_32x4d" in by and "wide_resnet50_2" in by and "resnet50" in by:
        x, wd, r50 = by["resnext50_32x4d"], by["wide_resnet50_2"], by["resnet50"]
        notes.append(
            f"ResNeXt-50 and Wide ResNet-50 have ResNet-50's graph ({r50['pairs']} pairs) with "
            f"twice its bottleneck width, hence more edges ({x['edges_tested']:,} and "
            f"{wd['edges_tested']:,} against {r50['edges_tested']:,})"
            + (f"; ResNeXt's grouped 3x3 convolutions ({x['grouped']} layers with 32 groups) "
               "are factored block by block, and "
               + ("since the 1x1 convolutions around them read every group, every edge is "
                  "tested" if x["edges_tested"] == wd["edges_tested"] else
                  "the edges between groups that do not meet are not tested")
               if x.get("grouped") else "") + ". ")
    if "densenet121" in by:
        d = by["densenet121"]
        notes.append(
            f"DenseNet-121's {d['maps'].get('concat', 0)} concat pairs come from every layer "
            "of a dense block reading all earlier layers' outputs through Concat; its layers "
            f"are narrow, so {d['pairs']} pairs give only {d['edges_tested']:,} edges. ")
    mb = [by[n] for n in ("mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
                          "efficientnet_b0") if n in by]
    if mb:
        notes.append(
            "MobileNet and EfficientNet are mostly depthwise convolutions (one block per "
            "channel, tested on the producer side, spec §7) and few add pairs (an inverted "
            "residual adds only the block's input); squeeze-excitation gates end the flow. ")
    if "vgg16_bn" in by:
        v = by["vgg16_bn"]
        notes.append(
            f"VGG16-BN is a chain ({v['pairs']} direct pairs) but has "
            f"{v['edges_tested']:,} edges, most of them in its 4096-wide classifier. ")
    if "inception_v3" in by:
        i = by["inception_v3"]
        notes.append(
            f"Inception-v3's {i['maps'].get('concat', 0)} concat pairs are the branches of "
            "each Inception block read by the next block's first convolutions. ")
    sig = [r for r in rows if r["kind"] == "family" and r["significant"]]
    fams = [r for r in rows if r["kind"] == "family" and r["significant"] is not None]
    if fams:
        notes.append(
            ("No edge of a random-weight model is significant, as expected under the null "
             "(spec §4). " if not sig else
             "Random-weight models with significant edges: "
             + ", ".join(f"{r['name']} {r['significant']:,}" for r in sig)
             + f" ({len(sig)} of {len(fams)} models; under the null, BH at 0.05 finds an edge "
             "in at most 5% of the models, spec §4). "))
    slow = sorted((r for r in rows if r["wall_s"]), key=lambda r: -r["wall_s"])[:3]
    if slow:
        notes.append("The longest runs: " + ", ".join(
            f"{r['name']} {fmt_s(r['wall_s'])} s" for r in slow) + ".")
    stopped = [r["name"] for r in rows if r["source"] == "plan" and not a.plan_only]
    if stopped:
        notes.append(" Stopped after the timeout, counted from `svr --plan`: "
                     + ", ".join(stopped) + ".")
    S.append("".join(notes))
    write_markdown(os.path.abspath(a.out), "\n".join(S) + "\n", BEGIN, END)
    log(f"wrote section {BEGIN} ... {END} of {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
