#!/usr/bin/env python3
"""Benchmark `--max-rank K` on a very wide random layer pair: wall time, peak memory per rank and
residuals at 1 and 2 ranks.

The model (made once, kept in WORKDIR): two Linear layers WIDE -> NARROW -> WIDE (default
65536 -> 16384 -> 65536, weights 16384 x 65536 and 65536 x 16384, F32, 4 GiB each), written to a
safetensors file a block of rows at a time (it never sits whole in this script's memory). Each
weight is M = A diag(s) B^T + sigma G with Gaussian A (rows x R) / sqrt(rows), B (cols x R) /
sqrt(cols), R = 1024 (default), s_i = (i + 1)^-0.7 (the heavy-tailed decay of trained layers)
and a Gaussian bulk G whose top edge sigma (sqrt(rows) + sqrt(cols)) is half of s_R: random
singular vectors and a decaying spectrum, made without a QR of a 65536-row matrix.

For every R of --ranks, and every engine of --engines (auto: SLEPc in double when its plug-in
loads; builtin: svr's block Krylov method), runs `svr MODEL --max-rank K` under /usr/bin/time -v,
and reads the wall time, the seconds per phase, the peak memory per rank and each layer's
summary.json "svd" record (method, iterations, residual, fallback). The singular values of
every run are compared with the first run's (they are the same matrices).

    /usr/bin/python3 bench/wide_pair.py --ranks 1,2

Prints a table and rewrites the section between <!-- widepair:begin --> and
<!-- widepair:end --> of docs/benchmarks.md (unless --no-write). The full SVD of one such layer
(about 1.7e14 flops for dgesdd) is no baseline here: it takes over an hour on one core, and its
factors (16384 x 65536 V) would double the memory. A benchmark, not a test.
"""

import argparse
import datetime
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (REPO, add_build_arguments, build_svr, fmt_or_dash, log, machine_info, parse_rank_list, run_svr,  # noqa: E402
                          svr_sigmas, write_markdown)

BEGIN = "<!-- widepair:begin -->"
END = "<!-- widepair:end -->"


def write_pair(path, wide, narrow, rank, decay=0.7, seed=0, block_rows=1024):
    """Writes the WIDE -> NARROW -> WIDE pair to path (through path.tmp)."""
    import numpy as np

    shapes = {"0.weight": (narrow, wide), "2.weight": (wide, narrow)}
    header, offset = {}, 0
    for name, (rows, cols) in shapes.items():
        size = rows * cols * 4
        header[name] = {"dtype": "F32", "shape": [rows, cols], "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"svr.layers": json.dumps(list(shapes)),
                              "svr.bench": f"wide_pair rank={rank} decay={decay} seed={seed}"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    rng = np.random.default_rng(seed)
    s = ((np.arange(rank) + 1.0) ** -decay).astype(np.float32)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, (rows, cols) in shapes.items():
            a = rng.standard_normal((rows, rank), dtype=np.float32) / np.float32(np.sqrt(rows))
            b = rng.standard_normal((cols, rank), dtype=np.float32) / np.float32(np.sqrt(cols))
            bst = np.ascontiguousarray((b * s).T)  # R x cols
            sigma = np.float32(0.5 * s[-1] / (np.sqrt(rows) + np.sqrt(cols)))
            for r0 in range(0, rows, block_rows):
                block = a[r0:r0 + block_rows] @ bst
                block += sigma * rng.standard_normal(block.shape, dtype=np.float32)
                f.write(block.astype("<f4", copy=False).tobytes())
            log(f"  {name}: {rows} x {cols} written")
    os.replace(tmp, path)


def layer_svd_records(outdir):
    with open(os.path.join(outdir, "summary.json")) as f:
        summary = json.load(f)
    return [(layer["name"], layer.get("svd", {})) for layer in summary.get("layers", [])]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="wide_pair.py", description=__doc__.split("\n")[0])
    add_build_arguments(ap)
    ap.add_argument("--mpiexec", default="mpiexec", help="the MPI launcher (default %(default)s)")
    ap.add_argument("--ranks", default="1,2", help="comma list of rank counts (default %(default)s)")
    ap.add_argument("--engines", default="auto",
                    help="comma list of --truncated-svd engines to run: auto, builtin, slepc; "
                         "ENGINE:whole adds --scalapack-min-dim above the layers' sizes, so that "
                         "each layer is factored whole on one rank (default %(default)s)")
    ap.add_argument("--precision", choices=("double", "single"), default="double",
                    help="passed to svr (default %(default)s)")
    ap.add_argument("--max-rank", type=int, default=256, metavar="K", help="default %(default)s")
    ap.add_argument("--wide", type=int, default=65536, help="default %(default)s")
    ap.add_argument("--narrow", type=int, default=16384, help="default %(default)s")
    ap.add_argument("--spectrum-rank", type=int, default=1024, metavar="R",
                    help="the number of power-law singular values above the bulk (default %(default)s)")
    ap.add_argument("--workdir", default="/tmp/svr-bench", help="default %(default)s")
    ap.add_argument("--markers", default="widepair",
                    help="the doc section's marker name (default %(default)s)")
    ap.add_argument("--previous", metavar="JSON",
                    help="a JSON file this script wrote (WORKDIR/MARKERS.json) in an earlier "
                         "invocation on the same model: its runs come first in the table (the "
                         "1-rank run takes about 25 minutes)")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite docs/benchmarks.md")
    a = ap.parse_args(argv)
    ranks = parse_rank_list(ap, a.ranks)
    engines = [e for e in a.engines.split(",") if e]
    if not engines or any(e.split(":")[0] not in ("auto", "builtin", "slepc") or
                          e.split(":")[1:] not in ([], ["whole"]) for e in engines):
        ap.error(f"--engines: auto, builtin or slepc, each optionally with :whole, got {a.engines!r}")
    if not a.skip_build:
        build_svr(a.svr)

    os.makedirs(a.workdir, exist_ok=True)
    model = os.path.join(a.workdir, f"wide_pair_{a.narrow}x{a.wide}_r{a.spectrum_rank}.safetensors")
    if not os.path.exists(model):
        log(f"writing {model}")
        t = time.perf_counter()
        write_pair(model, a.wide, a.narrow, a.spectrum_rank)
        log(f"  {time.perf_counter() - t:.0f} s")

    runs, reference = [], None
    if a.previous:
        with open(a.previous) as f:
            runs = json.load(f)
        reference = svr_sigmas(runs[0]["outdir"])
    for engine in engines:
        for r in ranks:
            name, _, whole = engine.partition(":")
            extra = ["--max-rank", str(a.max_rank), "--no-plot", "--truncated-svd", name,
                     "--precision", a.precision]
            if whole:  # every layer whole on one rank (LAPACK placement), never on a team
                extra += ["--scalapack-min-dim", str(max(a.wide, a.narrow) + 1)]
            log(f"svr {' '.join(extra)} at {r} rank(s)")
            run = run_svr(a.svr, model, a.workdir, r, a.mpiexec, extra,
                          tag=f"-widepair-{name}{'-whole' if whole else ''}")
            run["engine"] = engine
            run["layers"] = layer_svd_records(run["outdir"])
            sig = svr_sigmas(run["outdir"])
            if reference is None:
                reference = sig
                run["s_diff"] = 0.0
            else:
                run["s_diff"] = max(
                    float(max(abs(x - y) for x, y in zip(sig[n], reference[n]))) / float(reference[n][0])
                    for n in reference)
            log(f"  wall {run['wall_s']:.1f} s, phases {run['phases']}, "
                f"peak MiB per rank {run['peak_memory_mb_per_rank']}")
            runs.append(run)

    info = machine_info()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "/usr/bin/python3 bench/wide_pair.py " + " ".join(argv if argv is not None else sys.argv[1:])
    joined = ""
    if a.previous:
        earlier = sorted({r["ranks"] for r in runs[:len(runs) - len(ranks) * len(engines)]})
        joined = (f" The rows at {', '.join(map(str, earlier))} rank(s) come from an earlier "
                  f"invocation in the same session (`--previous {a.previous}`); one invocation "
                  "with every rank count in `--ranks` runs them all.")
    lines = [
        f"## A {a.narrow} x {a.wide} layer pair: --max-rank {a.max_rank}",
        "",
        f"Written by `bench/wide_pair.py` on {when}, one run.{joined} Reproduce with:",
        "",
        f"    {cmd.strip()}",
        "",
        f"- **Machine**: {info['nproc']} cores ({info['cpu']}), {info['mem_gb']:.0f} GB, a shared, "
        "noisy machine; one BLAS thread per rank.",
        f"- **Model**: {a.wide} -> {a.narrow} -> {a.wide}, two F32 weights of {a.narrow} x {a.wide} "
        f"and {a.wide} x {a.narrow} ({a.narrow * a.wide * 4 / 2**30:.0f} GiB each in the file), "
        f"random singular vectors, s_i = (i + 1)^-0.7 for the top {a.spectrum_rank} over a "
        "Gaussian bulk at half the last of them (`write_pair` in the script).",
        f"- **Runs**: `svr MODEL --max-rank {a.max_rank} --precision {a.precision} "
        "--truncated-svd ENGINE --no-plot`; `ENGINE:whole` adds `--scalapack-min-dim "
        f"{max(a.wide, a.narrow) + 1}` (each layer whole on one rank; by default layers of "
        "min(rows, cols) >= 8192 go to ScaLAPACK teams). Peak memory per rank is summary.json's "
        "`run.peak_memory_mb_per_rank` (the maximum resident set).",
        "",
        "| engine | ranks | wall (s) | svd, with the layers' reads (s) | edges (s) | "
        "peak MiB per rank | max abs(s diff) / s_max vs the first run | load |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        ph = run["phases"]
        peaks = run["peak_memory_mb_per_rank"] or []
        load = run["load"]
        lines.append(
            f"| {run['engine']} | {run['ranks']} | {run['wall_s']:.1f} | "
            f"{fmt_or_dash(ph.get('svd'), '.1f')} | {fmt_or_dash(ph.get('edges'), '.1f')} | "
            f"{' / '.join(f'{p:,.0f}' for p in peaks)} | {run['s_diff']:.1e} | "
            f"{fmt_or_dash(load.get('mean') if isinstance(load, dict) else None, '.1f')} |")
    lines += ["", "Per layer (summary.json's `layers[].svd`):", "",
              "| engine | ranks | layer | method | iterations | residual / s_max | fallback |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for run in runs:
        for name, svd in run["layers"]:
            lines.append(
                f"| {run['engine']} | {run['ranks']} | `{name}` | {svd.get('method', '-')} | "
                f"{svd.get('iterations', '-')} | {fmt_or_dash(svd.get('residual'), '.1e')} | "
                f"{svd.get('fallback', '') or ''} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not a.no_write:
        write_markdown(os.path.join(REPO, "docs", "benchmarks.md"), text,
                       BEGIN.replace("widepair", a.markers), END.replace("widepair", a.markers))
    with open(os.path.join(a.workdir, f"{a.markers}.json"), "w") as f:
        json.dump(runs, f, indent=1, default=str)


if __name__ == "__main__":
    main()
