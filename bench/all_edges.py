#!/usr/bin/env python3
"""Benchmark `svr --all-edges`: where every edge is corrected and written, and what it costs.

With --all-edges, edges.csv holds every edge of every pair (r(l) x r(l+1) rows per pair). The
correction runs across the ranks that own the pairs and each owner writes its rows with MPI-IO
(docs/algorithms.md, "Every edge"), so no rank holds every edge. This script measures that.

What it does, in one run:

1. a model (reused from WORKDIR when present): a random MLP of --layers square layers of
   --width (torch's default initialisation, torch.manual_seed(0)), so every pair has
   width x width edges and none is significant: the largest edges.csv for its size;
2. for every R of --ranks, runs `svr MODEL --all-edges`, one BLAS thread per rank, and records
   the wall time, the significance and write phases, the peak memory of every rank (summary.json)
   and the size and SHA-256 of edges.csv; with --baseline-svr PATH, the same with that binary (an
   svr built from an earlier commit: the rows then went through rank 0);
3. checks that every run wrote the same edges.csv, byte for byte;
4. prints a table and rewrites the section between <!-- all-edges:begin --> and
   <!-- all-edges:end --> of docs/benchmarks.md (unless --no-write).

    /usr/bin/python3 bench/all_edges.py --ranks 1,2
    /usr/bin/python3 bench/all_edges.py --ranks 1,2 --baseline-svr /tmp/svr-old/build/svr

A benchmark, not a test: it never fails on slow numbers (only on differing files).
"""

import argparse
import datetime
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (add_launch_arguments, build_svr, export_square_mlp,  # noqa: E402
                          fmt_load, fmt_mb, log, machine_info, parse_rank_list, run_svr,
                          write_markdown)

BEGIN = "<!-- all-edges:begin -->"
END = "<!-- all-edges:end -->"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()


def measure(svr, label, model, workdir, ranks, mpiexec):
    log(f"{label}: svr --all-edges at {ranks} rank(s)")
    r = run_svr(svr, model, workdir, ranks, mpiexec, ["--all-edges"], tag=f"-all-edges-{label}")
    edges = os.path.join(r["outdir"], "edges.csv")
    r["edges_csv_bytes"] = os.path.getsize(edges)
    r["edges_csv_sha256"] = sha256(edges)
    r["label"] = label
    per_rank = r.get("peak_memory_mb_per_rank") or []
    log(f"  wall {r['wall_s']:.1f} s, significance {r['phases'].get('significance', 0):.2f} s, "
        f"write {r['phases'].get('write', 0):.2f} s, peak per rank "
        + ", ".join(fmt_mb(m) for m in per_rank) + " MiB")
    os.remove(edges)  # gigabytes; the checksum is kept
    return r


def main(argv=None):
    ap = argparse.ArgumentParser(prog="all_edges.py", description=__doc__.split("\n")[0])
    ap.add_argument("--svr", default=os.path.join(REPO, "build", "svr"),
                    help="the svr binary, rebuilt first unless --skip-build (default: %(default)s)")
    ap.add_argument("--skip-build", action="store_true", help="do not rebuild svr")
    ap.add_argument("--baseline-svr", metavar="PATH",
                    help="another svr binary to run the same way (e.g. from an earlier commit)")
    ap.add_argument("--ranks", default="1,2", help="comma list of rank counts (default 1,2)")
    ap.add_argument("--width", type=int, default=2048, help="layer width (default 2048)")
    ap.add_argument("--layers", type=int, default=4, help="layers of the MLP (default 4)")
    ap.add_argument("--workdir", default="/tmp/svr-bench",
                    help="models and outputs (default %(default)s)")
    ap.add_argument("--no-write", action="store_true", help="print only, leave the docs alone")
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "benchmarks.md"),
                    help="the markdown file whose section is rewritten (default %(default)s)")
    add_launch_arguments(ap)
    a = ap.parse_args(argv)
    if a.width < 2 or a.layers < 2:
        ap.error("--width and --layers must be at least 2")
    ranks = parse_rank_list(ap, a.ranks)
    svr = build_svr(a.svr, a.skip_build)
    binaries = [("svr", svr)]
    if a.baseline_svr:
        binaries.append(("baseline", build_svr(a.baseline_svr, True)))
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    model = os.path.join(workdir, f"mlp{a.layers}x{a.width}.safetensors")
    if not os.path.exists(model):
        log(f"exporting a random MLP ({a.layers} x {a.width}) to {model}")
        export_square_mlp(model, a.width, a.layers)

    runs = [measure(binary, label, model, workdir, R, a.mpiexec)
            for R in ranks for label, binary in binaries]
    digests = {r["edges_csv_sha256"] for r in runs}
    same = len(digests) == 1

    edges = runs[0]["edges_tested"]
    m = machine_info()
    section = [
        "## --all-edges: every edge corrected and written without rank 0",
        "",
        f"Measured {datetime.date.today().isoformat()} on {m['cpu']} ({m['nproc']} cores"
        + (f", {m['mem_gb']:.0f} GB" if m.get("mem_gb") else "") + "), one run each, by "
        f"`/usr/bin/python3 bench/all_edges.py --ranks {a.ranks} --width {a.width} "
        f"--layers {a.layers}" + (" --baseline-svr PATH" if a.baseline_svr else "") + "`.",
        "",
        f"A random MLP of {a.layers} layers {a.width} wide: {edges:,} tested edges, "
        f"edges.csv {runs[0]['edges_csv_bytes'] / 2**20:,.0f} MiB; every run wrote the same "
        "file byte for byte." if same else
        "**The runs wrote different edges.csv files.**",
        "",
        "| binary | ranks | wall s | significance s | write s | peak MiB per rank | load |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        per_rank = r.get("peak_memory_mb_per_rank") or []
        section.append(
            f"| {r['label']} | {r['ranks']} | {r['wall_s']:.1f} | "
            f"{r['phases'].get('significance', 0):.2f} | {r['phases'].get('write', 0):.2f} | "
            + " / ".join(fmt_mb(x) for x in per_rank) + f" | {fmt_load(r['load'])} |")
    text = "\n".join(section)
    print(text)
    with open(os.path.join(workdir, "all-edges.json"), "w") as f:
        json.dump({"runs": runs, "same_file": same}, f, indent=1, default=str)
    if not a.no_write:
        write_markdown(a.doc, text, BEGIN, END)
        log(f"wrote the section of {a.doc}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
