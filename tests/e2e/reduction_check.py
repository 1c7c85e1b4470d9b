#!/usr/bin/env python3
"""Checks of the distributed reduction (issue 3) under mpiexec, run by ctest (reduction.cmake).

  reduction_check.py --svr BIN --np N [--e-atol X] [--significant-only] MODEL [svr options...]

Runs svr at N ranks with --save-spectra --save-adjacency (and --all-edges unless
--significant-only), then checks that
- nodes.csv, edges.csv and summary.json agree with the NumPy oracle (compare_outputs.py), so
  that the pair owners, the candidate-based correction and the relayed path metric change
  nothing;
- adjacency.safetensors, written by every pair's owner into one shared file, holds exactly
  the E of edges.csv (with --all-edges), is a valid safetensors file of the expected size, and
  spectra.safetensors (written by the owners of the factors) factors the layer matrices
  (check_saved_outputs.check);
- summary.json's run block has peak_memory_mb_per_rank: one positive entry per rank, whose
  maximum is peak_memory_mb, and execution.layers: one placement per layer within the ranks.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_saved_outputs  # noqa: E402
import svr_e2e  # noqa: E402


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check_adjacency_file(path, summary):
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    if (8 + n) % 8 != 0:
        fail("adjacency.safetensors: data section not 8-byte aligned")
    expected = 8 + n
    for k, pair in enumerate(summary["pairs"]):
        rows = summary["layers"][pair["to_layer"]]["kept"]
        cols = summary["layers"][pair["from_layer"]]["kept"]
        entry = header["pair%d.E" % k]
        if entry["shape"] != [rows, cols] or entry["dtype"] != "F64":
            fail("adjacency.safetensors: pair%d.E is %s %s, expected F64 [%d, %d]" % (
                k, entry["dtype"], entry["shape"], rows, cols))
        expected += 8 * rows * cols
    if len(data) != expected:
        fail("adjacency.safetensors has %d bytes, expected %d" % (len(data), expected))
    meta = header["__metadata__"]
    if meta["format"] != "svr-adjacency" or len(json.loads(meta["pairs"])) != len(summary["pairs"]):
        fail("adjacency.safetensors: unexpected metadata %s" % meta)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--svr", required=True)
    ap.add_argument("--np", type=int, required=True)
    ap.add_argument("--e-atol", type=float, default=None)
    ap.add_argument("--significant-only", action="store_true")
    ap.add_argument("model")
    ap.add_argument("options", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="svr_reduction_")
    try:
        ours, theirs = os.path.join(work, "svr"), os.path.join(work, "oracle")
        extra = ["--save-spectra", "--save-adjacency"]
        if not a.significant_only:
            extra.append("--all-edges")
        svr_e2e.run_svr(a.svr, a.np, a.model, ours, extra + a.options)
        proc, _ = svr_e2e.run([sys.executable, svr_e2e.ORACLE, a.model, "-o", theirs] +
                              svr_e2e.oracle_options(a.options))
        if proc.returncode != 0:
            fail("oracle failed:\n" + proc.stdout + proc.stderr)
        svr_e2e.compare(ours, theirs, ["--e-atol", str(a.e_atol)] if a.e_atol else [])

        with open(os.path.join(ours, "summary.json")) as f:
            summary = json.load(f)
        run = summary["run"]
        per_rank = run.get("peak_memory_mb_per_rank")
        if not isinstance(per_rank, list) or len(per_rank) != max(a.np, 1):
            fail("run.peak_memory_mb_per_rank is %r, expected %d entries" % (per_rank, a.np))
        if min(per_rank) <= 0 or max(per_rank) != run["peak_memory_mb"]:
            fail("run.peak_memory_mb_per_rank %r does not match peak_memory_mb %r" % (
                per_rank, run["peak_memory_mb"]))
        # The plan is recorded: one placement per layer, every rank and team grid in range.
        placed = run.get("execution", {}).get("layers")
        if not isinstance(placed, list) or len(placed) != len(summary["layers"]):
            fail("run.execution.layers is %r, expected one entry per layer" % (placed,))
        for where in placed:
            rows, cols = where.get("grid", [1, 1])
            if not 0 <= where["rank"] or where["rank"] + rows * cols > max(a.np, 1):
                fail("run.execution.layers entry %r is outside %d ranks" % (where, a.np))
        check_adjacency_file(os.path.join(ours, "adjacency.safetensors"), summary)
        if not a.significant_only:
            # E of edges.csv (compared with the oracle above) equals adjacency.safetensors.
            saved = argparse.Namespace(model=a.model, options=svr_e2e.oracle_options(a.options))
            check_saved_outputs.check(ours, saved)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("passed")


if __name__ == "__main__":
    main()
