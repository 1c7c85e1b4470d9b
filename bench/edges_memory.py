#!/usr/bin/env python3
"""Benchmark the memory of the factors and E: a deep MLP's peak per rank against its factors and E.

svr keeps every pair's E from the moment it is computed to the significance phase, and each
layer's U and V until the last pair that reads them is done. Where the layers are factored decides
how long that is:

- lapack: each layer whole on one rank (LAPACK dgesdd); a pair of two layers of one rank is
  computed by it as soon as the later one is factored (every pair at 1 rank), freeing what no
  later pair reads, so its peak is the E so far plus about two layers' factors; the others wait
  for the edges phase, which frees each factor after its last pair, so the peak is every factor
  plus about one E, not every factor plus every E;
- team: every layer on one ScaLAPACK team of all ranks (`--scalapack-min-dim 1 --max-grids 1`),
  which computes each pair's E as soon as its second layer is factored and frees the first
  (svr's edge_schedule): the peak is the E so far plus about two layers' factors and one SVD's
  working memory, not every factor;
- teams: every layer on ScaLAPACK, one team of one rank per rank (`--scalapack-min-dim 1
  --min-local-elements 1e15`), each factoring a run of consecutive layers (svr's planner): each
  team computes the pairs within its run early and frees as it goes, keeping its first layer's
  factors for the pair from the team before (the edges phase). When the planner dealt the layers
  out by cost (before 2026-12-07), consecutive layers sat on different teams and every factor
  waited for the edges phase.

It shows both on a chain of DEPTH square Linear layers of width W (default 10 x 2048;
torch.manual_seed(0), PyTorch's default initialisation, F32), in one run:

1. svr at every rank count of --ranks (default 1,2) and every placement of --placements
   (default lapack,team,teams; team and teams at 2 ranks or more): the peak memory per rank (summary.json's
   run.peak_memory_mb_per_rank, the largest) and the seconds of each phase;
2. with --before SVR, the same runs of another svr binary (an older build, for the change's
   effect measured in the same run);
3. the model's numbers per rank: the factors it would keep for every layer (2 W^2 doubles per
   layer; its LAPACK layers from svr's partition, or its share of every layer's on the team),
   the E its pairs own (W^2 doubles per pair; a team's pairs go to the ranks in turn) and one
   layer's factors (its share on a team);
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
    """Per rank, in MiB: the factors of every layer it would keep, the E of the pairs it owns and
    one layer's factors. owners: each layer's LAPACK rank (a pair's owner is the consumer's,
    svr's PairExecution), or None for one team of all ranks (each rank holds 1/ranks of every
    factor; the pairs go to the rank with the fewest E entries so far, so to the ranks in turn)."""
    square = width * width
    rows = []
    for r in range(ranks):
        if owners is None:
            share = 1.0 / ranks
            layers = depth * share
            pairs = len([p for p in range(depth - 1) if p % ranks == r])
        else:
            share = 1.0
            layers = len([l for l in range(depth) if owners[l] == r])
            pairs = len([p for p in range(depth - 1) if owners[p + 1] == r])
        rows.append({
            "factors": layers * 2 * square * 8 / MIB,
            "all_e": pairs * square * 8 / MIB,
            "one_e": square * 8 / MIB,
            "one_layer": share * 2 * square * 8 / MIB,
        })
    return rows


PLACEMENTS = {"lapack": [], "team": ["--scalapack-min-dim", "1", "--max-grids", "1"],
              "teams": ["--scalapack-min-dim", "1", "--min-local-elements", "1e15"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--depth", type=int, default=10)
    ap.add_argument("--ranks", default="1,2", help="comma list of rank counts (default 1,2)")
    ap.add_argument("--placements", default="lapack,team,teams",
                    help="comma list of lapack, team and teams (default %(default)s; team and "
                         "teams run at 2 ranks or more)")
    ap.add_argument("--before", help="another svr binary to run the same way (an older build)")
    ap.add_argument("--workdir", default="/tmp/svr-bench")
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "benchmarks.md"))
    ap.add_argument("--no-write", action="store_true", help="do not rewrite docs/benchmarks.md")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--svr", default=os.path.join(REPO, "build", "svr"))
    add_launch_arguments(ap)
    a = ap.parse_args()
    rank_list = parse_rank_list(ap, a.ranks)
    placements = [p for p in a.placements.split(",") if p]
    if not placements or any(p not in PLACEMENTS for p in placements):
        ap.error(f"--placements: lapack, team or teams, got {a.placements!r}")
    os.makedirs(a.workdir, exist_ok=True)
    build_svr(a.svr, a.skip_build)

    model = os.path.join(a.workdir, f"deep_mlp_{a.depth}x{a.width}.safetensors")
    if not os.path.exists(model):
        log(f"exporting a {a.depth}-layer MLP of width {a.width} to {model}")
        export_square_mlp(model, a.width, a.depth)

    binaries = [("svr", a.svr)] + ([("before", a.before)] if a.before else [])
    rows = []
    for placement in placements:
        for ranks in rank_list:
            if placement != "lapack" and ranks < 2:
                continue
            for label, binary in binaries:
                log(f"{label} ({binary}), {placement}, at {ranks} rank(s)")
                run = run_svr(binary, model, a.workdir, ranks, a.mpiexec, PLACEMENTS[placement],
                              tag=f"-edgesmem-{placement}-{label}")
                # A team of one rank holds its layers whole, as a LAPACK rank does.
                owners = (layer_owners(run, [(a.width, a.width)] * a.depth)
                          if placement != "team" else None)
                expected = model_per_rank(owners, a.width, a.depth, ranks)
                peaks = run["peak_memory_mb_per_rank"] or [run["peak_memory_mb"]]
                worst = max(range(len(peaks)), key=lambda r: peaks[r])
                rows.append((placement, label, ranks, run, peaks[worst], worst, expected[worst]))

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    m = machine_info()
    lines = [
        "## Memory of the factors and E (deep MLP)",
        "",
        f"`bench/edges_memory.py` ({stamp}; {m['cpu']}, {m['nproc']} cores, one BLAS thread per "
        f"rank): {a.depth} square Linear layers of width {a.width} (seed 0, F32). `lapack`: each "
        "layer factored whole by LAPACK on its rank; `team`: every layer on one ScaLAPACK team of "
        "all ranks (`--scalapack-min-dim 1 --max-grids 1`); `teams`: one ScaLAPACK team of one rank "
        "per rank (`--scalapack-min-dim 1 --min-local-elements 1e15`), each a run of consecutive "
        "layers. Per run, the rank with the highest "
        "peak (summary.json's `run.peak_memory_mb_per_rank`) and that rank's share by the model: "
        "the U and V of every layer it would keep (2 W^2 doubles per layer; on the team its share "
        "of each), the E of the pairs it owns (W^2 doubles each), one layer's U and V (its share). "
        "With `lapack` a rank computes the pairs of two of its own layers as soon as the later "
        "one is factored (every pair at 1 rank: the peak should stay near its E plus two layers' "
        "factors and the SVD's working memory); the others wait for the edges phase, which frees "
        "each factor after its last pair, so the peak should stay near every factor plus one E. "
        "With `team` the team computes each pair's E as soon "
        "as both its layers are factored and frees the first, so the peak should stay near its E "
        "plus two layers' factors and the SVD's working memory, not every factor. With `teams` "
        "each team does the same within its run but keeps its first layer for the pair across "
        "teams."
        + (f" `before` is `{rel(a.before)}`, run the same way in the same session." if a.before
           else ""),
        "",
        "| placement | binary | ranks | peak (MiB, rank) | every factor | all its E | one E "
        "| one layer | every factor + one E | all its E + 2 layers | svd s | edges s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for placement, label, ranks, run, peak, worst, ex in rows:
        phases = run["phases"]
        lines.append(
            f"| {placement} | {label} | {ranks} | {fmt_mb(peak)} (rank {worst}) | "
            f"{fmt_mb(ex['factors'])} | {fmt_mb(ex['all_e'])} | {fmt_mb(ex['one_e'])} | "
            f"{fmt_mb(ex['one_layer'])} | {fmt_mb(ex['factors'] + ex['one_e'])} | "
            f"{fmt_mb(ex['all_e'] + 2 * ex['one_layer'])} | "
            f"{phases.get('svd', 0):.1f} | {phases.get('edges', 0):.1f} |")
    lines += ["", "Commands:", ""]
    lines += [f"    {row[3]['command']}" for row in rows]
    publish_section("\n".join(lines) + "\n", a.out, BEGIN, END, not a.no_write)


if __name__ == "__main__":
    main()
