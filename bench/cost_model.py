#!/usr/bin/env python3
"""A cost model of svr fitted on measured runs, projecting a very wide MLP onto a cluster.

Fits per-core rates from svr's own runs on this machine (their summary.json files):

- the full SVD: svr's cost model (rows x cols x min(rows, cols) per layer) per second of the
  svd phase, VGG16 in double at 1 rank (bench/precision.py's run);
- the team efficiency per doubling of ranks: the same at 2 ranks (the largest layer split over
  both), e = t1 / (2 t2);
- E: 2 r_l r_(l+1) cols_(l+1) flops per pair per second of the edges phase, VGG16 at 1 rank;
- significance: tested edges per second of the significance phase, VGG16 at 1 rank;
- the top K: seconds of the svd phase per rows x cols x K of every layer, the 16384 x 65536
  pair of bench/wide_pair.py at 1 rank (SLEPc's thick-restart Lanczos on a power-law
  spectrum), and its efficiency at 2 ranks when that run is there (at most the full SVD's).

Projects an MLP of L square layers of width n (default 32 x 65536, 31 pairs) on 1 to 64 nodes
of C cores (default 64) and G GB each (default 256), one rank per core, for the full SVR and for
--max-rank K (default 512):

- svd: the layers go to teams of p ranks (the fewest whole nodes, or ranks of one node, that hold
  a layer's working memory: the full SVD about 4 n^2 doubles (M, U, V and the work), the top K
  n^2 + 4 n K), as many concurrent teams as the ranks and the memory beside the kept factors
  allow, each factoring ceil(L / teams) layers one after the other at the 1-rank rate times
  p e^log2(p);
- memory: one team of all ranks computes each pair's E as soon as both its layers are factored
  and frees the earlier layer, so it holds every E so far (8 k^2 bytes per pair), one layer's U
  and V (n x k each) and one SVD's working memory; several teams take runs of consecutive layers
  and do the same within their run, but keep their first layer's factors for the pair across
  teams (the edges phase): up to two layers' factors and a working memory per team during the
  SVDs, their first and last layers' after, beside every E so far. The most teams whose peak fits
  the nodes' memory are used; a run that fits with none is marked;
- edges: every pair's E on all ranks at the 1-rank rate times R e^log2(R), plus moving one
  factor (8 n k bytes) across the network per pair;
- significance: tested edges (k^2 per pair) over all ranks at the measured rate;
- read: the weights (4 bytes each, F32 in the file) at an assumed 1 GB/s per node.

The fit needs --workdir's runs (bench/precision.py's VGG16 at 1 and 2 ranks, bench/wide_pair.py's
widepair.json) and writes its rates to bench/cost_model_rates.json; --rates projects from such a
file without the runs:

    /usr/bin/python3 bench/cost_model.py --rates bench/cost_model_rates.json

The rates are one core of this 2-core machine; e is measured at 2 ranks of one node and
compounded per doubling, which is the model's largest assumption: it stands for ScaLAPACK's and
SLEPc's communication beyond one node, which this machine cannot measure. The numbers are orders
of magnitude, not predictions.

    /usr/bin/python3 bench/cost_model.py

Prints the fitted rates and the projection and rewrites the section between
<!-- costmodel:begin --> and <!-- costmodel:end --> of docs/distributed-svd.md (unless
--no-write). Reads WORKDIR/out-vgg16-double-{1,2} (bench/precision.py) and WORKDIR/widepair.json
(bench/wide_pair.py); run those first.
"""

import argparse
import datetime
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import REPO, write_markdown  # noqa: E402

BEGIN = "<!-- costmodel:begin -->"
END = "<!-- costmodel:end -->"
# The rates of the last fit, so that the projection can be redone (--rates) without its runs.
RATES = os.path.join(REPO, "bench", "cost_model_rates.json")


def load_summary(outdir):
    with open(os.path.join(outdir, "summary.json")) as f:
        return json.load(f)


def shapes_of(summary):
    return [tuple(layer["matrix_shape"]) for layer in summary["layers"]]


def topk_team_efficiency(rates):
    """Measured at 2 ranks of one node, where SLEPc's products need no network: beyond a node
    each product's reduction crosses it, so the top K never gets more than the full SVD's."""
    return min(rates["topk_team_efficiency_measured"] or 1.0, rates["team_efficiency_per_doubling"])


def fit(workdir, team_efficiency=None):
    """The rates (per core of this machine) and where each came from. The team efficiency per
    doubling is the measured one capped at 1, or `team_efficiency` when given."""
    one = load_summary(os.path.join(workdir, "out-vgg16-double-1"))
    two = load_summary(os.path.join(workdir, "out-vgg16-double-2"))
    shapes = shapes_of(one)
    cost = sum(r * c * min(r, c) for r, c in shapes)
    svd1 = one["run"]["seconds_per_phase"]["svd"]
    svd2 = two["run"]["seconds_per_phase"]["svd"]
    ranks = [min(r, c) for r, c in shapes]
    e_flops = sum(2.0 * ranks[i] * ranks[i + 1] * shapes[i + 1][1] for i in range(len(shapes) - 1))
    edges1 = one["run"]["seconds_per_phase"]["edges"]
    tested = sum(p.get("edges_tested", 0) for p in one["pairs"])
    sig1 = one["run"]["seconds_per_phase"]["significance"]
    # Above 1 when the 2-rank run's split layer (QR and an r x r core) beats dgesdd on the whole
    # layer: an algorithm's gain, not the ranks', so it is capped at 1.
    measured = svd1 / (2.0 * svd2)
    rates = {
        "full_svd_model_flops_per_s": cost / svd1,
        "team_efficiency_measured": measured,
        "team_efficiency_per_doubling": (team_efficiency if team_efficiency is not None
                                         else min(1.0, measured)),
        "edge_flops_per_s": e_flops / edges1,
        "tested_edges_per_s": tested / sig1,
        "sources": {"vgg16 1 rank": svd1, "vgg16 2 ranks": svd2},
        "fitted": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    with open(os.path.join(workdir, "widepair.json")) as f:
        wide = json.load(f)
    by_ranks = {}
    for run in wide:
        if run.get("engine") == "auto":
            by_ranks.setdefault(run["ranks"], run)
    if 1 not in by_ranks:
        raise SystemExit("cost_model.py: widepair.json has no 1-rank auto run (bench/wide_pair.py)")
    k = int(wide_k(by_ranks[1]))
    units = 0.0
    with open(os.path.join(by_ranks[1]["outdir"], "summary.json")) as f:
        wsum = json.load(f)
    for r, c in shapes_of(wsum):
        units += r * c * k
    t1 = by_ranks[1]["phases"]["svd"]
    rates["topk_seconds_per_unit"] = t1 / units
    rates["topk_k"] = k
    measured = (t1 / (2.0 * by_ranks[2]["phases"]["svd"]) if 2 in by_ranks else None)
    rates["topk_team_efficiency_measured"] = measured
    rates["topk_team_efficiency"] = topk_team_efficiency(rates)
    rates["sources"]["wide pair 1 rank"] = t1
    if 2 in by_ranks:
        rates["sources"]["wide pair 2 ranks"] = by_ranks[2]["phases"]["svd"]
    return rates


def wide_k(run):
    command = run["command"].split()
    return command[command.index("--max-rank") + 1]


def project(rates, width, layers, k, nodes, cores, node_gb, disk_gbps):
    """Seconds per phase and memory for one configuration; k = None for the full SVR."""
    n = float(width)
    ranks = nodes * cores
    mem_rank = node_gb * 1e9 / cores
    kept = n if k is None else float(k)
    if k is None:
        work_bytes = 8.0 * 4.0 * n * n
        layer_seconds_1 = n ** 3 / rates["full_svd_model_flops_per_s"]
        e = rates["team_efficiency_per_doubling"]
    else:
        work_bytes = 8.0 * (n * n + 4.0 * n * k)
        layer_seconds_1 = rates["topk_seconds_per_unit"] * n * n * k
        e = rates["topk_team_efficiency"]
    # A team: the fewest ranks whose memory holds one layer's work (whole nodes beyond one).
    p = max(1, math.ceil(work_bytes / mem_rank))
    if p > cores:
        p = cores * math.ceil(p / cores)
    layer_factor_bytes = 2.0 * 8.0 * n * kept  # one layer's U and V
    pairs = layers - 1
    all_e_bytes = pairs * 8.0 * kept * kept
    total_bytes = nodes * node_gb * 1e9

    def peak_bytes(teams):
        # One team factors the layers in order and computes each pair's E as soon as both its
        # layers are factored, freeing the earlier layer (svr's edge_schedule): it holds the E so
        # far, one layer's factors and the SVD's working memory. Several teams take runs of
        # consecutive layers (svr's planner, equal layers): each also computes its own pairs
        # early, but keeps its first layer's factors for the pair from the team before it (the
        # edges phase), so during the SVD it holds up to two layers' factors beside its working
        # memory, and after it its first and last layers' until the edges phase; the E so far
        # are at most every E, which the significance phase holds.
        if teams == 1:
            return all_e_bytes + layer_factor_bytes + work_bytes
        per_team = math.ceil(layers / teams)
        during = teams * (min(per_team - 1, 2) * layer_factor_bytes + work_bytes)
        after = teams * min(per_team, 2) * layer_factor_bytes
        return all_e_bytes + max(during, after)

    # As many concurrent teams as the ranks and the memory allow.
    teams = min(layers, ranks // p) if p <= ranks else 0
    while teams > 1 and peak_bytes(teams) > total_bytes:
        teams -= 1
    fits = teams > 0 and peak_bytes(teams) <= total_bytes
    if not fits:
        # Reported with one team of all ranks, marked as not fitting.
        teams = 1
    p = ranks // teams
    speedup = p * e ** math.log2(p) if p > 1 else 1.0
    svd = math.ceil(layers / teams) * layer_seconds_1 / speedup
    all_speedup = ranks * rates["team_efficiency_per_doubling"] ** math.log2(ranks) if ranks > 1 else 1.0
    edges = pairs * 2.0 * kept * kept * n / rates["edge_flops_per_s"] / all_speedup
    edges += pairs * 8.0 * n * kept / (12.5e9 * nodes) if nodes > 1 else 0.0
    significance = pairs * kept * kept / rates["tested_edges_per_s"] / ranks
    read = layers * n * n * 4.0 / (disk_gbps * 1e9 * nodes)
    return {"fits": fits, "team": p, "teams": teams, "svd": svd, "edges": edges,
            "significance": significance, "read": read,
            "total": svd + edges + significance + read,
            "peak_gb_per_node": peak_bytes(teams) / nodes / 1e9}


def fmt_t(seconds):
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="cost_model.py", description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/svr-bench", help="default %(default)s")
    ap.add_argument("--width", type=int, default=65536, help="default %(default)s")
    ap.add_argument("--layers", type=int, default=32, help="default %(default)s")
    ap.add_argument("--max-rank", type=int, default=512, metavar="K", help="default %(default)s")
    ap.add_argument("--cores-per-node", type=int, default=64, help="default %(default)s")
    ap.add_argument("--gb-per-node", type=float, default=256.0, help="default %(default)s")
    ap.add_argument("--disk-gb-per-s-per-node", type=float, default=1.0,
                    help="read bandwidth per node (default %(default)s)")
    ap.add_argument("--team-efficiency", type=float, metavar="E",
                    help="the efficiency per doubling of a team's ranks, instead of the measured "
                         "one capped at 1 (which assumes no communication cost beyond the measured "
                         "2 ranks)")
    ap.add_argument("--rates", metavar="FILE",
                    help="project with the rates of an earlier fit (the JSON it wrote, such as "
                         f"{os.path.relpath(RATES, REPO)}) instead of fitting on --workdir's runs")
    ap.add_argument("--no-write", action="store_true",
                    help=f"do not rewrite docs/distributed-svd.md and {os.path.relpath(RATES, REPO)}")
    a = ap.parse_args(argv)
    if a.rates:
        with open(a.rates) as f:
            rates = json.load(f)
        if a.team_efficiency is not None:
            rates["team_efficiency_per_doubling"] = a.team_efficiency
            rates["topk_team_efficiency"] = topk_team_efficiency(rates)
    else:
        rates = fit(a.workdir, a.team_efficiency)
        if not a.no_write and a.team_efficiency is None:
            with open(RATES, "w") as f:
                json.dump(rates, f, indent=1)
                f.write("\n")
    node_counts = [1, 2, 4, 8, 16, 32, 64]
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## A cost model: {a.layers} layers of width {a.width} on 1 to 64 nodes",
        "",
        f"Written by `bench/cost_model.py` on {when}: `/usr/bin/python3 bench/cost_model.py"
        + (f" --rates {a.rates}" if a.rates else "")
        + (f" --team-efficiency {a.team_efficiency:g}" if a.team_efficiency is not None else "")
        + "`. "
        + ("It fits per-core rates on svr's own runs on this 2-core machine and projects"
           if not a.rates else
           f"It projects with the per-core rates fitted on svr's own runs on this 2-core machine "
           f"on {rates['fitted']}")
        + "; see the script's help for every formula. The numbers are orders of magnitude, not "
        "predictions.",
        "",
        "Fitted rates (one core, one BLAS thread):",
        "",
        "| rate | value | from |",
        "| --- | --- | --- |",
        f"| full SVD | {rates['full_svd_model_flops_per_s']:.3g} cost-model flops/s "
        "(rows x cols x min(rows, cols)) | VGG16 double, svd phase at 1 rank "
        f"({rates['sources']['vgg16 1 rank']:.1f} s) |",
        f"| team efficiency per doubling, full SVD | {rates['team_efficiency_per_doubling']:.2f} | "
        + (f"given (`--team-efficiency`); measured {rates['team_efficiency_measured']:.2f}"
           if a.team_efficiency is not None else
           f"VGG16 double at 2 ranks ({rates['sources']['vgg16 2 ranks']:.1f} s, the largest layer "
           f"split): measured {rates['team_efficiency_measured']:.2f}"
           + (", capped at 1 (the split's QR and smaller core beat dgesdd on the whole layer: "
              "an algorithm's gain, not the ranks')" if rates['team_efficiency_measured'] > 1.0
              else "")) + " |",
        f"| E | {rates['edge_flops_per_s']:.3g} flops/s (2 r_l r_(l+1) cols_(l+1) per pair) | "
        "VGG16, edges phase at 1 rank |",
        f"| significance | {rates['tested_edges_per_s']:.3g} tested edges/s | VGG16, significance "
        "phase at 1 rank (the screened default) |",
        f"| top K | {rates['topk_seconds_per_unit']:.3g} s per rows x cols x K | the 16384 x 65536 "
        f"pair, --max-rank {rates['topk_k']} at 1 rank "
        f"({rates['sources']['wide pair 1 rank']:.0f} s) |",
        f"| team efficiency per doubling, top K | {rates['topk_team_efficiency']:.2f} | "
        + (f"measured {rates['topk_team_efficiency_measured']:.2f} on the same pair at 2 ranks "
           f"({rates['sources']['wide pair 2 ranks']:.0f} s), capped at the full SVD's: beyond one "
           "node every product's reduction crosses the network"
           if rates["topk_team_efficiency_measured"] is not None
           else "not measured: the full SVD's") + " |",
        "",
        f"Projection: {a.layers} square layers of width {a.width} ({a.layers - 1} pairs), "
        f"{a.cores_per_node} cores and {a.gb_per_node:.0f} GB per node, one rank per core, "
        f"read at {a.disk_gb_per_s_per_node:g} GB/s per node:",
        "",
        "| nodes | SVR | teams x ranks | svd | edges | significance | read | total | "
        "peak GB per node |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for nodes in node_counts:
        for label, k in (("full", None), (f"top {a.max_rank}", a.max_rank)):
            r = project(rates, a.width, a.layers, k, nodes, a.cores_per_node, a.gb_per_node,
                        a.disk_gb_per_s_per_node)
            total = fmt_t(r["total"]) if r["fits"] else f"({fmt_t(r['total'])}) does not fit"
            lines.append(
                f"| {nodes} | {label} | {r['teams']} x {r['team']} | {fmt_t(r['svd'])} | "
                f"{fmt_t(r['edges'])} | {fmt_t(r['significance'])} | {fmt_t(r['read'])} | "
                f"{total} | {r['peak_gb_per_node']:.1f} |")
    text = "\n".join(lines) + "\n"
    print(json.dumps({k: v for k, v in rates.items() if k != "sources"}, indent=1))
    print(text)
    if not a.no_write:
        write_markdown(os.path.join(REPO, "docs", "distributed-svd.md"), text, BEGIN, END)


if __name__ == "__main__":
    main()
