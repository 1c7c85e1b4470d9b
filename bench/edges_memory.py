#!/usr/bin/env python3
"""Benchmark the memory of the edges phase: a deep MLP's peak per rank against its factors and E.

svr keeps every layer's U and V from the svd phase to the edges phase, and every pair's E from
the edges phase to the significance phase. The edges phase frees each factor after the last pair
that reads it, so its peak is the factors plus about one E, not the factors plus every E. This
benchmark shows it on a chain of DEPTH square Linear layers of width W (default 10 x 2048;
torch.manual_seed(0), PyTorch's default initialisation, F32), each factored whole on one rank
(LAPACK dgesdd), in one run:

1. svr at every rank count of --ranks (default 1,2): the peak memory per rank (summary.json's
   run.peak_memory_mb_per_rank, the largest) and the seconds of each phase;
2. with --before SVR, the same runs of another svr binary (an older build, for the change's
   effect measured in the same run);
3. the model's numbers per rank, from svr's layer partition (LPT): the weights it reads, the
   factors it keeps (2 W^2 doubles per layer), all the E its pairs own (W^2 doubles per pair) and
   one E;
4. prints a table and rewrites the section between <!-- edgesmem:begin --> and
   <!-- edgesmem:end --> of docs/benchmarks.md (unless --no-write).

    /usr/bin/python3 bench/edges_memory.py --ranks 1,2
    /usr/bin/python3 bench/edges_memory.py --before /tmp/old/build/svr

This is a benchmark, not a test: it never fails on high numbers.
"""

import argparse
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (REPO, add_launch_arguments, build_svr, export_square_mlp,  # noqa: E402
                          fmt_mb, layer_owners, log, machine_info, parse_rank_list,
                          publish_section, rel, run_svr)

BEGIN, END = "<!-- edgesmem:begin -->", "<!-- edgesmem:end -->"
MIB = 1024.0 * 1024.0


def model_per_rank(owners, width, depth, ranks):
    """Per rank, in MiB: the float32 weights it reads, the factors it keeps, the E of the pairs
    it owns (a LAPACK pair's owner is the consumer's owner, svr's PairExecution) and one E."""
    square = width * width
    rows = []
    for r in range(ranks):
        layers = [l for l in range(depth) if owners[l] == r]
        pairs = [p for p in range(depth - 1) if owners[p + 1] == r]
        rows.append({
            "weights": len(layers) * square * 4 / MIB,
            "factors": len(layers) * 2 * square * 8 / MIB,
            "all_e": len(pairs) * square * 8 / MIB,
            "one_e": square * 8 / MIB,
        })
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--depth", type=int, default=10)
    ap.add_argument("--ranks", default="1,2", help="comma list of rank counts (default 1,2)")
    ap.add_argument("--before", help="another svr binary to run the same way (an older build)")
    ap.add_argument("--workdir", default="/tmp/svr-bench")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "benchmarks.md"))
    ap.add_argument("--no-write", action="store_true", help="do not rewrite docs/benchmarks.md")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--svr", default=os.path.join(REPO, "build", "svr"))
    add_launch_arguments(ap)
    a = ap.parse_args()
    rank_list = parse_rank_list(ap, a.ranks)
    os.makedirs(a.workdir, exist_ok=True)
    build_svr(a.svr, a.skip_build)

    model = os.path.join(a.workdir, f"deep_mlp_{a.depth}x{a.width}.safetensors")
    if not os.path.exists(model):
        log(f"exporting a {a.depth}-layer MLP of width {a.width} to {model}")
        export_square_mlp(model, a.width, a.depth)

    binaries = [("svr", a.svr)] + ([("before", a.before)] if a.before else [])
    rows = []
    for ranks in rank_list:
        for label, binary in binaries:
            log(f"{label} ({binary}) at {ranks} rank(s)")
            run = run_svr(binary, model, a.workdir, ranks, a.mpiexec, tag=f"-edgesmem-{label}")
            owners = layer_owners(run, [(a.width, a.width)] * a.depth)
            expected = model_per_rank(owners, a.width, a.depth, ranks)
            peaks = run["peak_memory_mb_per_rank"] or [run["peak_memory_mb"]]
            worst = max(range(len(peaks)), key=lambda r: peaks[r])
            rows.append((label, ranks, run, peaks[worst], worst, expected[worst]))

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    m = machine_info()
    lines = [
        "## Memory of the edges phase (deep MLP)",
        "",
        f"`bench/edges_memory.py` ({stamp}; {m['cpu']}, {m['nproc']} cores, one BLAS thread per "
        f"rank): {a.depth} square Linear layers of width {a.width} (seed 0, F32), each factored "
        "whole by LAPACK on its rank. Per run, the rank with the highest peak "
        "(summary.json's `run.peak_memory_mb_per_rank`) and that rank's share by the model: the "
        "weights it reads, the U and V it keeps (2 W^2 doubles per layer), the E of the pairs it "
        "owns (W^2 doubles each). The edges phase frees each factor after its last pair, so the "
        "peak should stay near the factors plus one E; a run that held every E would reach the "
        "factors plus all E."
        + (f" `before` is `{rel(a.before)}`, run the same way in the same session." if a.before
           else ""),
        "",
        "| binary | ranks | peak (MiB, rank) | factors | all its E | one E | factors + one E "
        "| factors + all E | svd s | edges s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, ranks, run, peak, worst, ex in rows:
        phases = run["phases"]
        lines.append(
            f"| {label} | {ranks} | {fmt_mb(peak)} (rank {worst}) | {fmt_mb(ex['factors'])} | "
            f"{fmt_mb(ex['all_e'])} | {fmt_mb(ex['one_e'])} | "
            f"{fmt_mb(ex['factors'] + ex['one_e'])} | {fmt_mb(ex['factors'] + ex['all_e'])} | "
            f"{phases.get('svd', 0):.1f} | {phases.get('edges', 0):.1f} |")
    lines += ["", "Commands:", ""]
    lines += [f"    {run['command']}" for _, _, run, _, _, _ in rows]
    publish_section("\n".join(lines) + "\n", a.out, BEGIN, END, not a.no_write)


if __name__ == "__main__":
    main()
